"""Fuzzing: hypothesis-generated requests for every RPC of every service, and schemathesis on the gateway.

The three services run in this process on SQLite, with a real NATS server and SMTP sink (tests/e2e/stack.py),
seeded by a scenario made through the real APIs (portalctl's demo seeder): an onboarded supplier with OPEN access,
its ASL and a user logged in, a company whose terms are pending, a suspended one, submitted and started company
files, a ticket. Requests are built from the generated descriptors (testing/protofuzz.py) with values mixed from
hypothesis and from the scenario's data, so that they reach the code behind validation.

Checks: no INTERNAL, UNKNOWN or DATA_LOSS ever; health SERVING at the end; and a rejected call (any status but
OK) changes nothing: every table of the three databases is compared before and after it, the outbox included,
calls one at a time, the event flow settled before each. What a rejection may change by design is listed in
``ALLOWED_ON_REJECTION``. The full run also sends schemathesis' examples to the gateway of a fresh stack (no 5xx;
tests/e2e/api_fuzzing.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import math
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import text_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NATS
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.support.v1 import support_service_pb2 as support_api
from portal.support.v1 import ticket_pb2 as ticket_pb
from schemathesis import GenerationMode
from sqlalchemy.engine import make_url

from bench.report import Report
from kit.app import ServiceApp
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY, agent_metadata
from testing import protofuzz
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.api_fuzzing import fuzz_gateway
from tests.e2e.stack import CREDENTIALS, Stack, running_stack

from tools.demo import ASL_PASSWORD, USER_PASSWORD, Seeder

PACKAGES = ("portal.cofor.v1", "portal.identity.v1", "portal.support.v1")
FULL_CASES = 10_000
QUICK_CASES_PER_METHOD = 10  # inside make test: ~470 cases, derandomized
GATEWAY_EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 50}  # full run only
CHECK_SCENARIO_EVERY = 25  # cases between checks that the ASL and user sessions still work (repaired if not)
FAILING = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)
# Identity's rate limits are lifted so that generated logins and recoveries reach the code behind them
# (the limits have their own tests); lockout keeps its default, so blocking and unlocking are fuzzed too.
ENVIRONMENT = {"RATE_LIMIT_PER_MINUTE": "1000000", "LOGIN_LIMIT_PER_CLIENT_PER_MINUTE": "1000000",
               "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE": "1000000", "RECOVERY_LIMIT_PER_HOUR": "1000000",
               "RECOVERY_LIMIT_PER_CLIENT_PER_HOUR": "1000000"}

# Columns written by background loops, never by a request: left out of the comparison.
BACKGROUND_COLUMNS = {
    "outbox.published_at": "the relay marks rows after the JetStream ack, in bulk about once a second",
    "mail_spool.status": "the mailer's sender records each delivery attempt",
    "mail_spool.attempts": "the mailer's sender records each delivery attempt",
    "mail_spool.last_error": "the mailer's sender records each delivery attempt",
    "mail_spool.next_attempt_at": "the mailer's sender reschedules a refused mail",
    "mail_spool.sent_at": "the mailer's sender records each delivery attempt",
    "mail_spool.sealed_secrets": "the mailer wipes a mail's secrets once it is settled",
}

# What a REJECTED call may change, by design: change → (the methods whose rejection may make it, why). A change is
# "<db>.<table>.<column>" (an updated column), "<db>.<table>+" / "-" (a row inserted / deleted) or
# "<db>.outbox+<subject>" (an event). ARCHITECTURE §5 is the design's section on credentials and sessions.
PASSWORD_CHECKS = ("IdentityService.Login", "IdentityService.ChangePassword")
LOCK = "the last allowed wrong password (or a previous one) blocks the account: sessions revoked, event, mail (§5)"
ALLOWED_ON_REJECTION: dict[str, tuple[tuple[str, ...], str]] = {
    "identity.accounts.failed_attempts": (PASSWORD_CHECKS, "a wrong password counts toward the lockout (§5)"),
    "identity.audit_events+": (PASSWORD_CHECKS, "failed logins and password changes are audited (§5 audit)"),
    "identity.outbox+identity.audit.recorded": (PASSWORD_CHECKS, "every audit record is published (§5 audit)"),
    "identity.rate_counters+": (("IdentityService.Login",), "the login limits count refused attempts too"),
    "identity.rate_counters.count": (("IdentityService.Login",), "the login limits count refused attempts too"),
    "cofor.rate_counters+": (("CoforService.AcceptTerms", "CoforService.StartPresentation"),
                             "guessing acceptance tokens costs attempts; a refused file start counts for the client "
                             "and for the once-an-hour notice to the D-U-N-S's presenter (§3)"),
    "cofor.rate_counters.count": (("CoforService.AcceptTerms", "CoforService.StartPresentation"),
                                  "guessing acceptance tokens costs attempts; a refused file start counts too"),
    "support.rate_counters+": (("SupportService.CreateTicket",),
                               "the ticket limits are counted before the screenshot is decoded (§8): a screenshot "
                               "refused after them still counts"),
    "support.rate_counters.count": (("SupportService.CreateTicket",),
                                    "the ticket limits are counted before the screenshot is decoded (§8)"),
    "cofor.outbox+notification.email.requested": (("CoforService.StartPresentation",),
                                                  "the confirmed file's presenter is told that someone tried to "
                                                  "present the same D-U-N-S (§3 step 1)"),
    "identity.accounts.state": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.lock_cause": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.locked_at": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.updated_at": (PASSWORD_CHECKS, LOCK),
    "identity.sessions.revoked_at": (PASSWORD_CHECKS, LOCK),
    "identity.outbox+identity.account.locked": (PASSWORD_CHECKS, LOCK),
    "identity.outbox+notification.email.requested": (PASSWORD_CHECKS, LOCK),
    "identity.sessions.idle_expires_at": (("IdentityService.*",),
                                          "any call with a valid session pushes its idle expiry, once a minute (§5)"),
}


def allowed_on_rejection(method: str, change: str) -> bool:
    methods, _ = ALLOWED_ON_REJECTION.get(change, ((), ""))
    return any(fnmatch.fnmatchcase(method, pattern) for pattern in methods)


@dataclass
class Scenario:
    """The known-valid actors of the fuzzed system; repaired when a generated request broke them."""
    root: str
    asl: str
    user: str
    user_email: str
    tokens: dict[str, str]  # bearer role → token: asl, user, presenter, acceptance
    passwords: dict[str, str]  # identifier → password
    companies: int = 1
    presentation: str = ""  # the started file the presenter token opens
    ticket: str = ""

    def favourites(self) -> dict[str, list[str]]:
        """Seeds drawn more often than the others: the live objects, whose calls go deepest."""
        return {"cofor": [self.root], "cofor_root": [self.root], "identifier": [self.asl, self.user],
                "email": [self.user_email], "presentation_id": [self.presentation], "reference": [self.ticket]}


@dataclass
class Outcome:
    cases: Counter[str] = field(default_factory=Counter)  # per method
    ok: Counter[str] = field(default_factory=Counter)  # per method
    statuses: Counter[str] = field(default_factory=Counter)
    internal: list[str] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)
    repairs: Counter[str] = field(default_factory=Counter)
    settle_timeouts: int = 0


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class SqliteFile:
    """One service's SQLite file, read whole through the stdlib driver (WAL: never in the services' way)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.connection = sqlite3.connect(make_url(url).database or "", isolation_level=None, timeout=30)
        self.tables: dict[str, tuple[list[str], list[int], list[int]]] = {}  # columns, key indexes, compared
        for (table,) in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            info = self.connection.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = [row[1] for row in info]
            keys = [i for i, row in enumerate(info) if row[5]] or list(range(len(columns)))
            compared = [i for i, c in enumerate(columns) if f"{table}.{c}" not in BACKGROUND_COLUMNS]
            self.tables[table] = (columns, keys, compared)

    def version(self) -> int:
        """Changes whenever another connection committed (PRAGMA data_version): a cheap "nothing happened"."""
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def read(self) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
        snapshot = {}
        self.connection.execute("BEGIN")  # one consistent read of every table
        try:
            for table, (_, keys, _) in self.tables.items():
                rows = self.connection.execute(f'SELECT * FROM "{table}"').fetchall()
                snapshot[table] = {tuple(r[i] for i in keys): r for r in rows}
        finally:
            self.connection.execute("COMMIT")
        return snapshot

    def pending_events(self, published: int) -> bool:
        return int(self.connection.execute("SELECT count(*) FROM outbox").fetchone()[0]) > published

    def changes(self, before: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
                after: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]) -> list[str]:
        found: list[str] = []
        for table, (columns, _, compared) in self.tables.items():
            old, new = before[table], after[table]
            if old == new:
                continue
            prefix = f"{self.name}.{table}"
            for key in new.keys() - old.keys():
                subject = new[key][columns.index("subject")] if table == "outbox" else ""
                found.append(f"{prefix}+{subject}")
            found += [f"{prefix}-" for _ in old.keys() - new.keys()]
            for key in old.keys() & new.keys():
                found += [f"{prefix}.{columns[i]}" for i in compared if old[key][i] != new[key][i]]
        return sorted(set(found))

    def close(self) -> None:
        self.connection.close()


class Fuzzer:
    def __init__(self, stack: Stack, nats_server: NatsServer) -> None:
        self.stack = stack
        self.methods = {f"{m.containing_service.name}.{m.name}": m for m in protofuzz.service_methods(PACKAGES)}
        self.apps: list[ServiceApp] = stack.apps
        self.databases: list[SqliteFile] = []
        self.tokens = {name: token for name, _, token in (e.split(":", 2) for e in CREDENTIALS.split(","))}
        self.nats_server = nats_server
        self.outcome = Outcome()
        self.extra_seeds: dict[str, list[str]] = {}
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.service_target: dict[str, str] = {}
        self.snapshots: list[dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]] = []
        self.versions: list[int] = []
        self.dirty = True
        self.since_check = 0
        self.last_method = "set-up"
        self.errors = _ErrorLog()
        self.seeder: Seeder | None = None
        self.scenario: Scenario | None = None
        self.nc: NATS | None = None

    # ---- set-up -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        for app in self.apps:  # its first connection turns the file to WAL: only then may readers come in
            assert await app.database.ping(timeout=30), app.settings.service_name
            self.databases.append(SqliteFile(app.settings.service_name, app.settings.database_url))
        self.nc = nc = await self.nats_server.connect()  # the test administrator: it reads every stream
        self.js = nc.jetstream()
        for app in self.apps:
            channel = grpc.aio.insecure_channel(app.target)
            self.channels[app.target] = channel
            health = health_pb2_grpc.HealthStub(channel)
            for service in self.services():
                with contextlib.suppress(grpc.aio.AioRpcError):  # NOT_FOUND: another process serves it
                    await health.Check(health_pb2.HealthCheckRequest(service=service))
                    self.service_target[service] = app.target
        cofor, identity = (self.service_target[f"{p}.{s}"] for p, s in (
            ("portal.cofor.v1", "CoforService"), ("portal.identity.v1", "IdentityService")))
        self.seeder = Seeder(cofor, identity, self.tokens["operator"], self.mailbox)
        self.scenario = await self.onboard()
        await self.scene_extras()
        logging.getLogger("kit.grpc_server").addHandler(self.errors)

    async def stop(self) -> None:
        logging.getLogger("kit.grpc_server").removeHandler(self.errors)
        if self.seeder is not None:
            await self.seeder.close()
        for channel in self.channels.values():
            await channel.close()
        if self.nc is not None:
            await self.nc.close()
        for database in self.databases:
            database.close()

    def services(self) -> list[str]:
        return sorted({m.containing_service.full_name for m in self.methods.values()})

    def mailbox(self, address: str) -> list[Any]:
        return [m.message for m in self.stack.sink.received if address in m.rcpt_tos]

    def call(self, method: MethodDescriptor) -> Any:
        channel = self.channels[self.service_target[method.containing_service.full_name]]
        return channel.unary_unary(f"/{method.containing_service.full_name}/{method.name}",
                                   request_serializer=_serialize,
                                   response_deserializer=protofuzz.message_class(method.output_type).FromString)

    def rpc(self, service: str, name: str) -> Any:
        return self.call(self.methods[f"{service}.{name}"])

    def meta(self, bearer: str | None = None) -> list[tuple[str, str]]:
        return [(SERVICE_TOKEN_KEY, self.tokens["operator"])] + (
            [(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else [])

    async def onboard(self) -> Scenario:
        """A referenced supplier, access OPEN, its ASL and a user logged in past their temporary passwords."""
        assert self.seeder is not None
        number = (self.scenario.companies + 1) if self.scenario else 1
        root = await self.seeder.referenced(f"Fuzz Industries {number}", f"file{number}@fuzz{number}.example")
        asl_email, asl = await self.seeder.opened(root, f"fuzz{number}", ("Paul", "Durand"))
        asl_token = await self.seeder.first_login(asl, asl_email, ASL_PASSWORD)
        user, user_email, user_token = await self.new_user(asl_token, f"fuzz{number}")
        old = self.scenario
        return Scenario(root, asl, user, user_email,
                        {**(old.tokens if old else {}), "asl": asl_token, "user": user_token},
                        {**(old.passwords if old else {}), asl: ASL_PASSWORD, user: USER_PASSWORD}, number,
                        old.presentation if old else "", old.ticket if old else "")

    async def new_user(self, asl_token: str, slug: str) -> tuple[str, str, str]:
        assert self.seeder is not None
        email = f"user.{uuid.uuid4().hex[:12]}@{slug}.example"  # not random: hypothesis seeds it in each example
        created = await self.rpc("IdentityService", "CreateUser")(identity_api.CreateUserRequest(
            given_name="Emma", family_name="Martin", email=email, job_title="Buyer", language="fr",
            role=identity_pb.ROLE_USER), metadata=self.meta(asl_token))
        identifier = created.account.identifier
        return identifier, email, await self.seeder.first_login(identifier, email, USER_PASSWORD)

    async def scene_extras(self) -> None:
        """A company whose terms are pending (with its link), a suspended one, two submitted files and a started
        one, a ticket."""
        assert self.seeder is not None and self.scenario is not None
        pending = await self.seeder.referenced("Boulonnerie Fuzz", "file@pending.example")
        signatory, _ = await self.seeder.requested(pending, "pending", ("Luc", "Bernard"))
        self.scenario.tokens["acceptance"] = await self.seeder.mail(signatory, r"token=([\w-]+)")
        suspended = await self.seeder.referenced("Plasturgie Fuzz", "file@suspended.example")
        await self.seeder.opened(suspended, "suspended", ("Nina", "Klein"))
        await self.rpc("CoforService", "SuspendPortalAccess")(cofor_api.SuspendPortalAccessRequest(
            cofor_root=suspended, reason="fuzz"), metadata=self.meta())
        for n in range(2):
            await self.seeder.submitted(f"Dossier Fuzz {n}", f"file{n}@waiting.example")
        started = await self.rpc("CoforService", "StartPresentation")(cofor_api.StartPresentationRequest(
            duns="123456789", email="presenter@started.example", legal_name="Début SA"), metadata=self.meta())
        self.scenario.tokens["presenter"] = await self.seeder.mail("presenter@started.example", r"token=([\w-]+)")
        self.scenario.presentation = started.presentation.presentation_id
        ticket = await self.rpc("SupportService", "CreateTicket")(support_api.CreateTicketRequest(
            category=ticket_pb.TICKET_CATEGORY_LOGIN_PROBLEM, subject="Cannot log in", text="Blocked since Monday",
            screenshot=ticket_pb.Screenshot(filename="s.png", content_type="image/png",
                                            data=protofuzz.images()["png"]),
            contact=ticket_pb.TicketContact(name="Emma Martin", email=self.scenario.user_email, phone="+33 1 23 45",
                                            company="Fuzz", identifier=self.scenario.user, cofor=self.scenario.root,
                                            language="fr")), metadata=self.meta())
        self.scenario.ticket = ticket.ticket.reference
        topics = [t.id for language in ("fr", "en") for t in (await self.rpc("SupportService", "ListHelpTopics")(
            support_api.ListHelpTopicsRequest(language=language), metadata=self.meta())).topics]
        self.extra_seeds.update(id=topics, language=["fr", "en"], terms_version=["2026-01"], reason=["Dossier complet"],
                                site_code=["01", "02", "07", ""], page_token=[""])  # "" is the first page

    # ---- the scenario stays usable --------------------------------------------------------------------------

    async def session_works(self, role: str, administrator: bool) -> bool:
        assert self.scenario is not None
        try:
            valid = await self.rpc("IdentityService", "ValidateSession")(identity_api.ValidateSessionRequest(
                session_token=self.scenario.tokens[role]), metadata=self.meta())
        except grpc.aio.AioRpcError:
            return False
        roles = valid.principal.roles
        return not valid.principal.must_change_password and (
            not administrator or identity_pb.ROLE_ADMINISTRATOR in roles)

    async def log_in_again(self, role: str, identifier: str) -> bool:
        """Unlocked by support staff if blocked, then a new session with the known password."""
        assert self.scenario is not None
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self.rpc("IdentityService", "UnlockUser")(identity_api.UnlockUserRequest(
                identifier=identifier, reason="fuzz scenario repair"), metadata=[*self.meta(),
                                                                                agent_metadata("fuzz")])
        try:
            opened = await self.rpc("IdentityService", "Login")(identity_api.LoginRequest(
                identifier=identifier, password=self.scenario.passwords[identifier]), metadata=self.meta())
        except grpc.aio.AioRpcError:
            return False
        self.scenario.tokens[role] = opened.session_token
        return not opened.must_change_password

    async def ensure_scenario(self) -> None:
        assert self.scenario is not None
        self.since_check = 0
        self.dirty = True  # checking touches sessions; repairs change much more
        await self.settle()
        if not await self.session_works("asl", administrator=True):
            self.outcome.repairs[f"asl login ({self.last_method})"] += 1
            if not (await self.log_in_again("asl", self.scenario.asl)
                    and await self.session_works("asl", administrator=True)):
                self.outcome.repairs[f"new company ({self.last_method})"] += 1
                self.scenario = await self.onboard()
        if not await self.session_works("user", administrator=False):
            self.outcome.repairs[f"user login ({self.last_method})"] += 1
            if not await self.log_in_again("user", self.scenario.user):
                self.outcome.repairs[f"new user ({self.last_method})"] += 1
                s = self.scenario
                s.user, s.user_email, s.tokens["user"] = await self.new_user(s.tokens["asl"], f"fuzz{s.companies}")
                s.passwords[s.user] = USER_PASSWORD
        await self.settle()

    # ---- before / after --------------------------------------------------------------------------------------

    async def settle(self, timeout: float = 30.0) -> None:
        """Until every outbox row is published and every consumer has applied all it was sent (twice in a
        row: an applied event may have written new outbox rows)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if await self.idle() else 0
            if time.monotonic() > deadline:
                self.outcome.settle_timeouts += 1
                return
            await asyncio.sleep(0.005)

    async def idle(self) -> bool:
        for app, database in zip(self.apps, self.databases):
            if database.pending_events(app.relay.published_total):
                return False
        for app in self.apps:
            for consumer in app.consumers:
                info = await self.js.consumer_info(consumer.stream, consumer.durable)
                if info.num_pending or info.num_ack_pending:
                    return False
        return True

    def take_snapshots(self) -> None:
        self.versions = [d.version() for d in self.databases]
        self.snapshots = [d.read() for d in self.databases]

    def seeds(self) -> dict[str, list[str]]:
        """Known-valid values: every short text of every table under its column's name (``id`` as
        ``<table>_id``), full COFOR codes made of the sites, the scenario's tokens and passwords."""
        assert self.scenario is not None
        found: dict[str, set[str]] = {}
        for database, snapshot in zip(self.databases, self.snapshots):
            for table, rows in snapshot.items():
                columns = database.tables[table][0]
                for i, column in enumerate(columns):
                    key = f"{table.removesuffix('s')}_id" if column == "id" else column
                    texts = {r[i] for r in rows.values() if isinstance(r[i], str) and 0 < len(r[i]) <= 100}
                    found.setdefault(key, set()).update(texts)
        sites = [key for snapshot in self.snapshots for key in snapshot.get("sites", {})]  # (root, site code)
        found.setdefault("cofor", set()).update(
            code for root, site in sites for code in (root, f"{root}{site}", f"{root}  {site}"))
        found.setdefault("token", set()).update(self.scenario.tokens.values())
        found.setdefault("password", set()).update(self.scenario.passwords.values())
        for key, values in self.extra_seeds.items():
            found.setdefault(key, set()).update(values[-50:])  # the latest tokens
        # Fresh values, for the calls that create something: a new D-U-N-S, a new request id.
        found.setdefault("duns", set()).update(str(10**8 + uuid.uuid4().int % (9 * 10**8)) for _ in range(3))
        found.setdefault("request_id", set()).update(str(uuid.uuid4()) for _ in range(3))
        seeds = {k: sorted(v) for k, v in found.items() if v}
        for key, values in self.scenario.favourites().items():
            seeds[key] = seeds.get(key, []) + [v for v in values if v] * 4
        return seeds

    # ---- one case -------------------------------------------------------------------------------------------

    def metadata(self, caller: str, bearer: str, garbage: str, client: str | None) -> list[tuple[str, str]]:
        assert self.scenario is not None
        meta = []
        if caller in self.tokens:
            meta.append((SERVICE_TOKEN_KEY, self.tokens[caller]))
        elif caller == "forged":
            meta.append((SERVICE_TOKEN_KEY, garbage or "forged"))
        if bearer in self.scenario.tokens:
            meta.append((AUTHORIZATION_KEY, f"Bearer {self.scenario.tokens[bearer]}"))
        elif bearer == "garbage":
            meta.append((AUTHORIZATION_KEY, f"Bearer {garbage}"))
        elif bearer == "scheme":
            meta.append((AUTHORIZATION_KEY, garbage))
        if client is not None:
            meta.append((CLIENT_ADDRESS_KEY, client))
        return meta

    async def case(self, method: MethodDescriptor, request: Message, drawn: tuple[str, str, str, str | None]) -> None:
        name = self.last_method = f"{method.containing_service.name}.{method.name}"
        self.since_check += 1
        if self.since_check >= CHECK_SCENARIO_EVERY:
            await self.ensure_scenario()
        if self.dirty:
            await self.settle()
            self.take_snapshots()
            self.dirty = False
        metadata = self.metadata(*drawn)
        self.errors.records.clear()
        details = ""
        try:
            reply = await self.call(method)(request, metadata=metadata, timeout=60)
            code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details() or ""
        self.outcome.cases[name] += 1
        self.outcome.statuses[code.name] += 1
        shown = (f"{name} -> {code.name}\n  metadata: {[(k, v[:40]) for k, v in metadata]}\n"
                 f"  request: {text_format.MessageToString(request, as_one_line=True)[:1500]}")
        if code in FAILING:
            problem = f"{shown}\n  details: {details}\n{self.errors.text()}"
            print(f"FUZZ FAILURE {problem}", flush=True)
            self.outcome.internal.append(problem)
        if code == grpc.StatusCode.OK:
            self.outcome.ok[name] += 1
            for f, value in reply.ListFields():  # fresh tokens join the seeds (presenter, session, page)
                if f.name.endswith("token") and isinstance(value, str) and value:
                    key = "page_token" if f.name == "next_page_token" else "token"
                    self.extra_seeds.setdefault(key, []).append(value)
            self.dirty = True
            return
        versions = [d.version() for d in self.databases]
        if versions == self.versions:
            return  # nothing was committed anywhere
        before, self.snapshots, self.versions = self.snapshots, [d.read() for d in self.databases], versions
        changes = [c for d, old, new in zip(self.databases, before, self.snapshots) for c in d.changes(old, new)]
        if changes:
            self.dirty = True  # its events (allowed or not) must flow before the next comparison
        refused = [c for c in changes if not allowed_on_rejection(name, c)]
        if refused:
            problem = f"{shown}\n  changed: {', '.join(refused)}"
            print(f"FUZZ STATE CHANGE ON REJECTION {problem}", flush=True)
            self.outcome.state_changes.append(problem)

    def drive(self, loop: asyncio.AbstractEventLoop, method: MethodDescriptor, seeds: dict[str, list[str]],
              examples: int, derandomize: bool, seed_value: int | None) -> None:
        """Runs in a worker thread: hypothesis draws, the event loop serves and calls, one case at a time."""
        text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=60)
        client = st.one_of(st.none(), st.ip_addresses().map(str), text)
        wild = st.tuples(st.sampled_from(["operator"] * 3 + ["gateway", "none", "forged"]),
                         st.sampled_from(["none", "asl", "user", "presenter", "acceptance", "garbage", "scheme"]),
                         text, client)
        # A plausible request comes from a real caller, mostly with the ASL's session (the console's calls).
        fitting = st.tuples(st.sampled_from(["operator"] * 3 + ["gateway"]),
                            st.sampled_from(["none", "asl", "asl", "asl", "user", "presenter"]), st.just(""), client)
        cases = st.one_of(st.tuples(protofuzz.message(method.input_type, seeds, plausible=False), wild),
                          st.tuples(protofuzz.message(method.input_type, seeds, plausible=True), fitting))

        @given(cases)
        @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        def one(case: tuple[Message, tuple[str, str, str, str | None]]) -> None:
            asyncio.run_coroutine_threadsafe(self.case(method, *case), loop).result()

        (seed(seed_value)(one) if seed_value is not None else one)()

    async def fuzz(self, examples: int, derandomize: bool, seed_value: int | None) -> None:
        loop = asyncio.get_running_loop()
        for method in self.methods.values():
            await self.ensure_scenario()
            self.take_snapshots()
            self.dirty = False
            await asyncio.to_thread(self.drive, loop, method, self.seeds(), examples, derandomize, seed_value)

    def dead_letters(self) -> int:
        return sum(len(snapshot.get("dead_letters", {})) for snapshot in self.snapshots)


class _ErrorLog(logging.Handler):
    """The tracebacks the services log for an unhandled error, to show beside the request that caused it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(logging.Formatter().format(record))

    def text(self) -> str:
        return "\n".join(self.records)[-4000:]


async def not_serving(apps: list[ServiceApp]) -> list[str]:
    """The services whose health check does not answer SERVING."""
    down = []
    for app in apps:
        async with grpc.aio.insecure_channel(app.target) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
                serving = reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.aio.AioRpcError:
                serving = False
        if not serving:
            down.append(app.settings.service_name)
    return down


async def run(report: Report, *, quick: bool = False) -> None:
    methods = protofuzz.service_methods(PACKAGES)
    examples = QUICK_CASES_PER_METHOD if quick else math.ceil(FULL_CASES / len(methods))
    seed_value = None if quick else random.randrange(2**32)  # quick: derandomized, the same cases every run
    print(f"   {examples} cases for each of {len(methods)} RPCs, hypothesis seed "
          f"{seed_value if seed_value is not None else '(derandomized)'}", flush=True)
    gateway = None
    with tempfile.TemporaryDirectory() as tmp, environment(ENVIRONMENT):
        root = Path(tmp)
        server = NatsServer(root / "nats", users=nats_users()).start()
        try:
            async with running_stack(root / "grpc", server) as stack:
                fuzzer = Fuzzer(stack, server)
                try:
                    await fuzzer.start()
                    started = time.perf_counter()
                    await fuzzer.fuzz(examples, quick, seed_value)
                    seconds = time.perf_counter() - started
                    await fuzzer.settle()
                    fuzzer.take_snapshots()
                    down = await not_serving(stack.apps)
                finally:
                    await fuzzer.stop()
            if not quick:  # a fresh stack: the limits the services count per client address start from zero
                async with running_stack(root / "gateway", server) as stack:
                    gateway = await fuzz_gateway(stack, examples=GATEWAY_EXAMPLES, derandomize=False,
                                                 seed_value=seed_value)
                    down += [f"{name} (after schemathesis)" for name in await not_serving(stack.apps)]
        finally:
            server.stop()
    o = fuzzer.outcome
    total = sum(o.cases.values())
    names = [f"{m.containing_service.name}.{m.name}" for m in methods]
    missing = [n for n in names if not o.cases[n]]
    statuses = ", ".join(f"{k} {v}" for k, v in o.statuses.most_common())
    report.add("fuzz_cases", total, "cases", ">= 300" if quick else f">= {FULL_CASES}",
               f"{examples} per method; {statuses}; seed {seed_value if seed_value is not None else 'derandomized'}")
    report.add("fuzz_methods_covered", len(names) - len(missing), "methods", f"{len(names)}",
               f"of {len(names)} RPCs in {', '.join(PACKAGES)}"
               + (f"; NO CASES: {', '.join(missing)}" if missing else ""))
    report.add("fuzz_methods_answered_ok", sum(1 for n in names if o.ok[n]), "methods", "(report)",
               "methods where at least one generated call succeeded (depth); none OK: "
               + (", ".join(n for n in names if not o.ok[n]) or "-"))
    report.add("fuzz_internal_errors", len(o.internal), "calls", "0", "\n".join(o.internal[:3])[:3000])
    report.add("fuzz_state_changes_on_rejection", len(o.state_changes), "calls", "0",
               "\n".join(o.state_changes[:5])[:3000])
    report.add("fuzz_dead_letters", fuzzer.dead_letters(), "events", "0", "events a consumer gave up on")
    report.add("fuzz_not_serving_at_end", len(down), "services", "0", ", ".join(down))
    report.add("fuzz_cases_per_second", total / seconds, "cases/s", "(report)",
               f"{seconds:.0f} s; scenario repairs {dict(o.repairs) or 'none'}; settle timeouts {o.settle_timeouts}")
    if gateway is not None:
        operations, sent, more, problems = gateway
        counts = sent + more
        fivexx = sum(n for (_, status), n in counts.items() if status >= 500)
        report.add("fuzz_gateway_5xx", fivexx, "responses", "0",
                   f"{sum(counts.values())} schemathesis requests on {len(operations)} operations; "
                   f"{len(problems)} problems" + (f": {problems[0][:1500]}" if problems else ""))


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
