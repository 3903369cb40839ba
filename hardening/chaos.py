"""Chaos: mixed operations on the three services, each its own OS process (on SQLite files, then again on PostgreSQL),
with one NATS server
and an SMTP sink, while NATS and each service are killed with SIGKILL at random moments and restarted after a short
pause. Afterwards, once everything is quiet, the effects each committed change should have had are derived from the
source databases and compared with what the other services and the sink show: none may be lost or duplicated.

Each hop is checked once: committed source state → downstream state (ASL accounts, access states, the company gate,
disabled and re-enabled accounts, every subscribed event applied, no dead letters) and → mail requests in the
outboxes (by recipient and kind); every mail request → one mail at the sink with its Message-ID. A second copy with
the same Message-ID (a mailer killed between the SMTP server's acceptance and its bookkeeping) is counted apart, as
redelivered: SMTP offers no exactly-once, and the copy is recognisable."""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.support.v1 import events_pb2 as support_events
from portal.support.v1 import support_service_pb2 as support_api
from portal.support.v1 import ticket_pb2 as ticket_pb

from bench.report import Report
from kit.auth import AUTHORIZATION_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import SealKeyPair
from testing.fleet import STUBS, Mailbox, Replicas, ServiceProcess, environment, migrate, nats_users, query
from testing.mailsink import MailSink
from testing.processes import NatsServer, PostgresCluster
from testing.streams import wait_for

from support.settings import SupportSettings

OPERATIONS, QUICK_OPERATIONS = 5_000, 300
IN_FLIGHT, QUICK_IN_FLIGHT = 32, 16  # flows running at once (each has at most one call in flight)
TICKET_SHARE = 0.75  # of the flows started; a supplier's flow is about nine operations, a ticket one
# Of the suppliers' flows: the ASL logs in and creates users; a lost identifier; off-boarding; then a comeback.
CONSOLE_SHARE, RECOVERY_SHARE, DEACTIVATE_SHARE, REACTIVATE_SHARE = 0.5, 0.3, 0.3, 0.5
TOKEN = "chaos-operator"
META = [(SERVICE_TOKEN_KEY, TOKEN)]
TERMS_VERSION = "2026-01"
MAIL_WAIT = 180.0  # a flow waits this long for a mail it needs (the mailer may be down meanwhile)
# A crashed mailer sends again at most the chunk of mails whose outcome it had not yet recorded (Mailer.chunk).
MAILS_AT_RISK = 4 * SupportSettings.model_fields["smtp_connections"].default
DURABLES = {"COFOR": "identity-cofor-events", "IDENTITY": "cofor-identity-events", "NOTIFICATION": "support-mailer"}
# Who applies whose events: (producer, consumer, durable) → the subjects it subscribes to.
CONSUMED = {
    ("cofor", "identity", "identity-cofor-events"): (
        "cofor.supplier.referenced", "cofor.access.terms_accepted", "cofor.access.opened", "cofor.access.suspended",
        "cofor.supplier.deactivated", "cofor.supplier.reactivated"),
    ("identity", "cofor", "cofor-identity-events"): (
        "identity.administrator.created", "identity.company.administrators_changed"),
    **{(producer, "support", "support-mailer"): (EMAIL_SUBJECT,) for producer in STUBS},
}


DATABASES = ("sqlite", "postgresql")


@contextmanager
def databases(root: Path, database: str, services: list[str]) -> Iterator[dict[str, str]]:
    """One database per service: SQLite files, or databases of a throwaway PostgreSQL cluster."""
    if database == "sqlite":
        yield {name: f"sqlite+aiosqlite:///{root / f'{name}.sqlite3'}" for name in services}
        return
    cluster = PostgresCluster().start()
    try:
        yield {name: cluster.create_database(f"chaos_{name}") for name in services}
    finally:
        cluster.destroy()


class Spent(Exception):
    """The operation budget is used up: the flow stops where it is."""


class Aborted(Exception):
    """An operation failed for good: the rest of the flow is skipped."""


class Load:
    """The mixed operations. Each call is retried through crashes with the same request (and request_id)."""

    def __init__(self, services: dict[str, Replicas], mailbox: Mailbox, budget: int) -> None:
        self.services = services
        self.mailbox = mailbox
        self.budget = budget
        self.ops = 0
        self.mix: Counter[str] = Counter()
        self.retried = 0  # operations that needed more than one attempt
        self.answers_lost = 0  # retried operations whose first attempt had committed (expected business answer)
        self.failed: Counter[str] = Counter()
        self.stalled: Counter[str] = Counter()  # mails a flow waited for in vain
        self.flows = itertools.count()

    async def op(self, service: str, method: str, request: Any, *, bearer: str = "",
                 after_retry: frozenset[str] = frozenset(), not_yet: frozenset[str] = frozenset()) -> Any:
        """The reply; None when a retry met ``after_retry`` (the first attempt committed, its answer was lost).
        ``not_yet``: answers that mean another service's event has not arrived yet: ask again a little later."""
        if self.ops >= self.budget:
            raise Spent
        self.ops += 1
        self.mix[method] += 1
        metadata = [(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else []
        tries: list[grpc.StatusCode] = []
        deadline = time.monotonic() + MAIL_WAIT
        try:
            while True:
                try:
                    return await self.services[service].call(method, request, metadata=metadata, tries=tries)
                except grpc.aio.AioRpcError as error:
                    if failure_of(error).reason not in not_yet or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(0.5)
        except grpc.aio.AioRpcError as error:
            reason = failure_of(error).reason
            if tries and reason in after_retry:
                self.answers_lost += 1
                return None
            self.failed[f"{method} {error.code().name} {reason}".strip()] += 1
            raise Aborted from error
        finally:
            self.retried += bool(tries)

    async def mails(self, address: str, count: int, what: str) -> list[Any]:
        try:
            return [m.message for m in await self.mailbox.wait(address, count, timeout=MAIL_WAIT)]
        except AssertionError:
            self.stalled[what] += 1
            raise Aborted from None

    async def presenter_token(self, presenter: str, file_id: str) -> str:
        """The token is only mailed, and a start retried through a crash mails a fresh one (voiding the first):
        the newest mailed token that opens the file."""
        await self.mails(presenter, 1, "presenter link")
        for _ in range(3):
            for mail in reversed(self.mailbox.to(presenter)):
                token = re.search(r"token=([\w-]+)", mail.message.get_content()).group(1)  # type: ignore[union-attr]
                try:  # a probe, not an operation of the mix: a voided token is expected here
                    await self.services["cofor"].call("GetPresentation", cofor_api.GetPresentationRequest(
                        presentation_id=file_id), metadata=[(AUTHORIZATION_KEY, f"Bearer {token}")])
                    return token
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                        raise
            await asyncio.sleep(1)
        raise Aborted

    async def worker(self) -> None:
        while self.ops < self.budget:
            k = next(self.flows)
            try:
                await (self.ticket(k) if random.random() < TICKET_SHARE else self.supplier(k))
            except Spent:
                return
            except Aborted:
                continue

    async def ticket(self, k: int) -> None:
        await self.op("support", "CreateTicket", support_api.CreateTicketRequest(
            category=random.choice([c for c in ticket_pb.TicketCategory.values() if c]), subject=f"Question {k}",
            text="Hello, I cannot find my way.", request_id=str(uuid.uuid4()), contact=ticket_pb.TicketContact(
                name=f"Requester {k}", email=f"requester{k}@t.chaos.example", phone="+33 1 23 45 67 89",
                company=f"Company {k}", language=random.choice(["fr", "en"]))))

    async def supplier(self, k: int) -> None:
        """Present the company, get referenced, request access, accept the terms; then maybe the ASL's first steps
        (log in, change the password, create users), a lost-identifier request, a deactivation, a reactivation."""
        domain = f"s{k}.chaos.example"
        language = random.choice(["fr", "en"])
        started = await self.op("cofor", "StartPresentation", cofor_api.StartPresentationRequest(
            duns=f"{k:09d}", email=f"presenter@{domain}", legal_name=f"Chaos Supplier {k}", language=language,
            request_id=str(uuid.uuid4())))
        file_id = started.presentation.presentation_id
        bearer = await self.presenter_token(f"presenter@{domain}", file_id)
        signatory, admin = f"signatory@{domain}", f"asl@{domain}"
        await self.op("cofor", "UpdatePresentation", cofor_api.UpdatePresentationRequest(
            presentation=cofor_pb.Presentation(
                presentation_id=file_id, national_registration_number=f"REG{k}", tax_number=f"TAX{k}",
                country_code="FR", legal_existence_proof_ref="kbis.pdf", head_office_address=cofor_pb.Address(
                    lines=["1 rue des Forges"], postal_code="57000", city="Metz", country_code="FR"),
                legal_representative=cofor_pb.Contact(given_name="Sam", family_name=f"Signer{k}", email=signatory,
                                                      job_title="Director", language=language))), bearer=bearer)
        await self.op("cofor", "SubmitPresentation", cofor_api.SubmitPresentationRequest(presentation_id=file_id),
                      bearer=bearer)
        root = (await self.op("cofor", "ReferenceSupplier", cofor_api.ReferenceSupplierRequest(
            presentation_id=file_id, request_id=str(uuid.uuid4())))).supplier.cofor_root
        contact = dict(phone="+33 1 23 45 67 89", job_title="Director", language=language)
        await self.op("cofor", "RequestPortalAccess", cofor_api.RequestPortalAccessRequest(
            cofor=root, request_id=str(uuid.uuid4()),
            signatory=cofor_pb.Contact(given_name="Sam", family_name=f"Signer{k}", email=signatory, **contact),
            administrator=cofor_pb.Contact(given_name="Ada", family_name=f"Admin{k}", email=admin, **contact)))
        [link] = await self.mails(signatory, 1, "terms link")
        token = re.search(r"token=([\w-]+)", link.get_content()).group(1)  # type: ignore[union-attr]
        await self.op("cofor", "AcceptTerms", cofor_api.AcceptTermsRequest(
            acceptance_token=token, terms_version=TERMS_VERSION), after_retry=frozenset({"ACCEPTANCE_TOKEN_USED"}))
        if random.random() < CONSOLE_SHARE:
            await self.administrator_console(k, admin, domain)
        if random.random() < RECOVERY_SHARE:
            await self.op("identity", "RecoverIdentifier", identity_api.RecoverIdentifierRequest(
                email=admin, cofor=root))
        if random.random() < DEACTIVATE_SHARE:
            await self.mails(admin, 2, "ASL credentials")  # the ASL exists before its company is off-boarded
            await self.op("cofor", "DeactivateSupplier", cofor_api.DeactivateSupplierRequest(
                cofor_root=root, reason="chaos off-boarding"))
            if random.random() < REACTIVATE_SHARE:
                await self.op("cofor", "ReactivateSupplier", cofor_api.ReactivateSupplierRequest(cofor_root=root))

    async def administrator_console(self, k: int, admin: str, domain: str) -> None:
        bodies = [m.get_content() for m in await self.mails(admin, 2, "ASL credentials")]
        identifier = next(m.group(1) for b in bodies if (m := re.search(r"\b(V\d{6})\b", b)))
        temporary = next(m.group(1) for b in bodies if (m := re.search(r"^\s*([A-Za-z2-9]{20})\s*$", b, re.M)))
        # Login needs the company gate open: identity learns it from cofor's access.opened, a moment later.
        opened = await self.op("identity", "Login", identity_api.LoginRequest(
            identifier=identifier, password=temporary), not_yet=frozenset({"COMPANY_ACCESS_CLOSED"}))
        chosen = f"Chaos {uuid.uuid4().hex[:10]} sous la neige de Gérardmer"
        changed = await self.op("identity", "ChangePassword", identity_api.ChangePasswordRequest(
            current_password=temporary, new_password=chosen), bearer=opened.session_token,
            after_retry=frozenset({"SESSION_INVALID"}))  # the change committed, and revoked the old session
        if changed is None:
            changed = await self.op("identity", "Login", identity_api.LoginRequest(identifier=identifier,
                                                                                   password=chosen))
        for n in range(random.randint(1, 3)):
            await self.op("identity", "CreateUser", identity_api.CreateUserRequest(
                given_name="Uma", family_name=f"User{k}x{n}", email=f"user{n}@{domain}", job_title="Buyer",
                language=random.choice(["fr", "en"]), request_id=str(uuid.uuid4())), bearer=changed.session_token)


class Chaos:
    """Kills one victim at a time (SIGKILL) when the load reaches a random point, restarts it after a pause."""

    def __init__(self, server: NatsServer, processes: dict[str, ServiceProcess], victims: list[str]) -> None:
        self.server = server
        self.processes = processes
        self.victims = victims
        self.killed: list[str] = []

    async def run(self, load: Load, done: asyncio.Event) -> None:
        moments = sorted(random.uniform(0.1, 0.8) * load.budget for _ in self.victims)
        for victim, moment in zip(self.victims, moments):
            while load.ops < moment and not done.is_set():
                await asyncio.sleep(0.05)
            if victim == "nats":
                self.server.kill()
            else:
                self.processes[victim].kill()
            self.killed.append(f"{victim}@{load.ops}")
            await asyncio.sleep(random.uniform(0.5, 2.0))
            if victim == "nats":
                self.server.start()
            else:
                await self.processes[victim].start().serving()


class Effects:
    """Expected against observed, per kind of effect; the difference is lost or duplicated."""

    def __init__(self) -> None:
        self.checked = 0
        self.lost: Counter[str] = Counter()
        self.duplicated: Counter[str] = Counter()
        # The same mail (same Message-ID) handed to SMTP again: the mailer died between the server's acceptance
        # and its own bookkeeping. No SMTP client can close that gap; receivers can recognise the copy.
        self.redelivered: Counter[str] = Counter()

    def at_most(self, kind: str, limit: int, observed: int) -> None:
        self.expect(kind, min(limit, observed), observed)

    def expect(self, kind: str, expected: int, observed: int) -> None:
        self.checked += 1
        if observed < expected:
            self.lost[kind] += expected - observed
        elif observed > expected:
            self.duplicated[kind] += observed - expected

    @staticmethod
    def note(counts: Counter[str]) -> str:
        return ", ".join(f"{kind} {n}" for kind, n in (+counts).most_common()) or "none"


def _json(value: Any) -> Any:
    """A JSON column read with plain SQL: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _template(value: int) -> str:
    return support_events.EmailTemplate.Name(value).removeprefix("EMAIL_TEMPLATE_").lower()  # type: ignore[arg-type]


async def quiet(urls: dict[str, str], nats_server: NatsServer, sink: MailSink, timeout: float) -> bool:
    """True once nothing is left to do anywhere, twice in a row: every outbox row published, every consumer
    caught up (nothing pending, nothing unacknowledged), every spooled mail settled, no new mail at the sink."""
    nc = await nats_server.connect(connect_timeout=2, max_reconnect_attempts=-1)  # the test administrator
    js = nc.jetstream()
    last = (-1, False)

    async def settled() -> bool:
        nonlocal last
        busy = 0
        try:
            for url in urls.values():
                busy += (await query(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))[0][0]
            busy += (await query(urls["support"], "SELECT count(*) FROM mail_spool WHERE status = 'PENDING'"))[0][0]
            for stream, durable in DURABLES.items():
                info = await js.consumer_info(stream, durable)
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
        except Exception:  # NATS still recovering: not quiet yet
            busy = -1
        now = (len(sink.received), busy == 0)
        steady, last = now == last and now[1], now
        return steady
    try:
        await wait_for(settled, timeout=timeout, interval=1.0)
        return True
    except AssertionError:
        return False
    finally:
        await nc.close()


class Snapshot:
    """The three databases once everything is quiet: the source states and what was done about them."""

    async def read(self, urls: dict[str, str]) -> Snapshot:
        cofor, identity = urls["cofor"], urls["identity"]
        self.suppliers = {r.cofor_root: r for r in await query(
            cofor, "SELECT cofor_root, status, access_state, administrators FROM suppliers")}
        self.requests = await query(cofor, "SELECT id, cofor_root, signatory, accepted_at FROM access_requests")
        self.links = Counter(r[0] for r in await query(cofor, "SELECT access_request_id FROM acceptance_links"))
        self.presentations = await query(cofor, "SELECT email, cofor_root, submitted_at FROM presentations")
        self.accounts = await query(identity, "SELECT identifier, cofor_root, email, state, created_by, "
                                              "origin_access_request_id FROM accounts")
        self.companies = {r.cofor_root: r for r in await query(
            identity, "SELECT cofor_root, supplier_active, access_open FROM companies")}
        self.audit = Counter((r.action, r.detail, r.subject) for r in await query(
            identity, "SELECT action, detail, subject FROM audit_events"))
        self.tickets = await query(urls["support"], "SELECT reference, contact_email FROM tickets")
        self.outboxes = {name: await query(url, "SELECT event_id, subject, payload FROM outbox")
                         for name, url in urls.items()}
        self.inboxes = {durable: {r[0] for r in await query(
            urls[consumer], "SELECT event_id FROM inbox WHERE consumer = :durable", durable=durable)}
            for _, consumer, durable in CONSUMED}
        self.dead_letters = [row for url in urls.values() for row in await query(
            url, "SELECT consumer, count(*) FROM dead_letters GROUP BY consumer")]
        return self


def check_states(db: Snapshot, effects: Effects) -> None:
    """Committed source state → the other service's state, and every subscribed event applied."""
    asl_of = Counter(a.origin_access_request_id for a in db.accounts if a.origin_access_request_id)
    for request in db.requests:  # cofor → identity: one ASL per accepted access request
        if request.accepted_at is not None:
            effects.expect("asl_account", 1, asl_of[request.id])
    for account in db.accounts:  # identity → cofor: each ASL listed once by its company, whose access is OPEN
        if account.origin_access_request_id:
            supplier = db.suppliers.get(account.cofor_root)
            listed = [a["identifier"] for a in _json(supplier.administrators)] if supplier else []
            effects.expect("asl_listed", 1, listed.count(account.identifier))
            effects.expect("access_open", 1, int(supplier is not None and supplier.access_state == "OPEN"))
    for root, supplier in db.suppliers.items():  # cofor → identity: the company gate follows status and access
        company = db.companies.get(root)
        effects.expect("company_gate", 1, int(company is not None and bool(company.supplier_active) == (
            supplier.status == "ACTIVE") and bool(company.access_open) == (supplier.access_state == "OPEN")))
    for (producer, _, durable), subjects in CONSUMED.items():  # the inbox row is written with the effect
        for row in db.outboxes[producer]:
            if row.subject in subjects:
                effects.expect(f"event_applied:{row.subject}", 1, int(row.event_id in db.inboxes[durable]))
    for consumer, n in db.dead_letters:
        effects.expect(f"dead_letter:{consumer}", n, 0)  # events given up on: their effects are lost

    # A deactivation disables each account of the company, a reactivation enables it again; a deactivation
    # delivered late (after the reactivation that followed it) is rightly overtaken.
    offboarding: dict[str, Counter[str]] = defaultdict(Counter)
    for row in db.outboxes["cofor"]:
        if row.subject in ("cofor.supplier.deactivated", "cofor.supplier.reactivated"):
            root = cofor_events.SupplierDeactivated.FromString(row.payload).cofor_root  # same field in both
            offboarding[root][row.subject.rsplit(".", 1)[1]] += 1
    for account in db.accounts:
        if times := offboarding.get(account.cofor_root):
            effects.at_most("account_disabled", times["deactivated"],
                            db.audit[("ACCOUNT_DISABLED", "supplier deactivated", account.identifier)])
            effects.at_most("account_enabled", times["reactivated"],
                            db.audit[("ACCOUNT_ENABLED", "supplier reactivated", account.identifier)])
        supplier = db.suppliers.get(account.cofor_root)
        deactivated = supplier is not None and supplier.status == "DEACTIVATED"
        effects.expect("account_state", 1, int(deactivated == (account.state == "DISABLED")))


def check_mails(db: Snapshot, sink: MailSink, effects: Effects) -> None:
    """Source state → mail requests in the outboxes, by kind and recipient (the support mailbox: by ticket); every
    request → one mail at the sink with its Message-ID, to its recipients."""
    requested: Counter[tuple[str, str]] = Counter()
    mails: dict[str, tuple[str, list[str]]] = {}  # event id → kind, recipients
    for rows in db.outboxes.values():
        for row in rows:
            if row.subject == EMAIL_SUBJECT:
                event = support_events.EmailRequested.FromString(row.payload)
                kind, to = _template(event.template), [r.address for r in event.to]
                mails[row.event_id] = (kind, to)
                requested[(kind, event.ticket_to_support.reference if kind == "ticket_to_support" else to[0])] += 1
    email_of = {a.identifier: a.email for a in db.accounts}
    wanted: Counter[tuple[str, str]] = Counter()
    for account in db.accounts:
        wanted[("temporary_password", account.email)] += 1
        wanted[("administrator_welcome" if account.created_by == "system" else "user_welcome", account.email)] += 1
    for (action, detail, subject), n in db.audit.items():
        if action == "PASSWORD_CHANGED":
            wanted[("password_changed_notice", email_of[subject])] += n
        elif action == "RECOVERY_REQUESTED" and detail == "lost identifier":
            wanted[("identifier_recovery", email_of[subject])] += n
    for ticket in db.tickets:
        wanted[("ticket_acknowledgement", ticket.contact_email)] += 1
        wanted[("ticket_to_support", ticket.reference)] += 1
    for request in db.requests:
        wanted[("terms_acceptance", _json(request.signatory)["email"])] += db.links[request.id]
    for p in db.presentations:
        wanted[("supplier_referenced", p.email)] += bool(p.cofor_root)
        wanted[("presentation_submitted", p.email)] += p.submitted_at is not None
        # A retried StartPresentation mails a fresh presenter token again, by design: at least one.
        wanted[("presentation_started", p.email)] = max(1, requested[("presentation_started", p.email)])
    for key in wanted.keys() | requested.keys():
        effects.expect(f"mail_requested:{key[0]}", wanted[key], requested[key])

    received: dict[str, list[Any]] = defaultdict(list)
    for mail in sink.received:
        received[str(mail.message["Message-ID"]).strip("<>").split("@")[0]].append(mail)
    for event_id, (kind, to) in mails.items():
        delivered = [m for m in received.pop(event_id, []) if sorted(m.rcpt_tos) == sorted(to)]
        effects.expect(f"mail_delivered:{kind}", 1, min(len(delivered), 1))
        effects.redelivered[kind] += max(len(delivered) - 1, 0)
    for strays in received.values():
        effects.expect("mail_delivered:unknown", 0, len(strays))


async def run(report: Report, *, quick: bool = False) -> None:
    """The same chaos on each database the services run on: SQLite (the embedded default) and PostgreSQL."""
    for database in DATABASES:
        await run_on(report, database, quick=quick)


async def run_on(report: Report, database: str, *, quick: bool = False) -> None:
    budget = QUICK_OPERATIONS if quick else OPERATIONS
    services = list(STUBS)
    # Over the full run NATS and every service die at least once; the quick run kills NATS and one service.
    victims = ["nats", random.choice(services)] if quick else ["nats", *services, random.choice(["nats", *services])]
    random.shuffle(victims)
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp, databases(Path(tmp), database, services) as urls:
        root = Path(tmp)
        await migrate(urls)
        server = NatsServer(root / "nats", log_file=root / "nats.log", users=nats_users()).start()
        sink = MailSink(root / "mail").start()
        env = environment(nats_url=server.url, seal=SealKeyPair.generate(), smtp_port=sink.port,
                          credentials=f"chaos:purchasing+support+internal:{TOKEN}")
        processes = {name: ServiceProcess(name, {**env, "DATABASE_URL": urls[name], **server.environment(name)},
                                          root / f"{name}.log").start() for name in services}
        clients: dict[str, Replicas] = {}
        try:
            await asyncio.gather(*(p.serving() for p in processes.values()))
            clients = {name: Replicas(name, [p], META, patience=MAIL_WAIT) for name, p in processes.items()}
            load = Load(clients, Mailbox(sink), budget)
            chaos = Chaos(server, processes, victims)
            done = asyncio.Event()
            started = time.monotonic()
            killing = asyncio.create_task(chaos.run(load, done))
            await asyncio.gather(*(load.worker() for _ in range(QUICK_IN_FLIGHT if quick else IN_FLIGHT)))
            elapsed = time.monotonic() - started
            done.set()
            await killing  # a kill still due happens now, before the checks
            settled = await quiet(urls, server, sink, timeout=120 if quick else 300)
            db = await Snapshot().read(urls)
            effects = Effects()
            check_states(db, effects)
            check_mails(db, sink, effects)
        finally:
            for client in clients.values():
                await client.close()
            for process in processes.values():
                process.stop()
            sink.stop()
            server.stop()

    report.add(f"chaos_{database}_operations", load.ops, "ops", str(budget),
               f"{load.retried} retried through a crash (same request, same request_id), {load.answers_lost} of "
               f"them answered as already done (their first attempt had committed); {Effects.note(load.mix)}")
    report.add(f"chaos_{database}_kills", len(chaos.killed), "kills", str(len(victims)),
               "SIGKILL of victim@operation: " + ", ".join(chaos.killed))
    stalled = f"; flows that waited in vain for a mail: {Effects.note(load.stalled)}" if load.stalled else ""
    quiescent = "" if settled else "; NOT QUIESCENT when checked"
    report.add(f"chaos_{database}_lost_effects", sum(effects.lost.values()), "effects", "0",
               f"of {effects.checked} checked: {Effects.note(effects.lost)}{stalled}{quiescent}")
    report.add(f"chaos_{database}_duplicated_effects", sum(effects.duplicated.values()), "effects", "0",
               Effects.note(effects.duplicated))
    crashes = sum(1 for k in chaos.killed if k.startswith("support@"))
    report.add(f"chaos_{database}_redelivered_mails", sum(effects.redelivered.values()), "mails",
               f"<= {MAILS_AT_RISK * crashes}",
               f"same Message-ID sent again after a mailer crash (at most the {MAILS_AT_RISK} whose outcome was not "
               f"yet recorded, per crash; SMTP has no exactly-once): {Effects.note(effects.redelivered)}")
    report.add(f"chaos_{database}_failed_operations", sum(load.failed.values()), "ops", "0",
               Effects.note(load.failed))
    report.add(f"chaos_{database}_duration", elapsed, "s", "(report)", "the load, kills and restarts included")
    report.add(f"chaos_{database}_operations_per_second", load.ops / elapsed, "ops/s", "(report)")

