"""The chaos suite's checks (hardening/chaos.py), once everything is quiet: each committed change's expected effects,
derived from the source databases, against what the other services and the SMTP sink show."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from portal.cofor.v1 import events_pb2 as cofor_events
from portal.support.v1 import events_pb2 as support_events

from kit.messaging.streams import EMAIL_SUBJECT
from testing.fleet import STUBS, query
from testing.mailsink import MailSink

# Who applies whose events: (producer, consumer, durable) → the subjects it subscribes to.
CONSUMED = {
    ("cofor", "identity", "identity-cofor-events"): (
        "cofor.supplier.referenced", "cofor.access.terms_accepted", "cofor.access.opened", "cofor.access.suspended",
        "cofor.supplier.deactivated", "cofor.supplier.reactivated"),
    ("identity", "cofor", "cofor-identity-events"): (
        "identity.administrator.created", "identity.company.administrators_changed"),
    **{(producer, "support", "support-mailer"): (EMAIL_SUBJECT,) for producer in STUBS},
}


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
        if account.created_by == "system":  # the first ASL: its identifier and its temporary password apart
            wanted[("temporary_password", account.email)] += 1
            wanted[("administrator_welcome", account.email)] += 1
        else:  # an ASL's new user: one mail, the identifier and the activation link
            wanted[("account_activation", account.email)] += 1
    for (action, detail, subject), n in db.audit.items():
        if action == "PASSWORD_CHANGED":
            wanted[("password_changed_notice", email_of[subject])] += n
        elif action == "RECOVERY_REQUESTED" and detail == "lost identifier":
            wanted[("identifier_recovery", email_of[subject])] += n
        elif action == "SECOND_FACTOR_ENROLLED":  # an ASL's app: its holder is told, once per enrolment
            wanted[("second_factor_notice", email_of[subject])] += n
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
