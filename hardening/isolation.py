"""Isolation: an ASL acts only on its own company's accounts, and only holders of the right service credential reach
the purchasing, internal, agent and support-staff calls.

Every RPC each running service serves (asked through server reflection) must be classified in ``METHODS``; for the
calls that act on someone else's data the table also builds a probe aimed at the other company's data. On the whole
system (gateway, the three services, NATS, SMTP sink): two companies onboarded through the real flow, each with an
ASL, a logged-in user, a blocked and a disabled user. Then, from company A against company B:
- every ASL console RPC on each of B's accounts with A's ASL session → PERMISSION_DENIED OTHER_COMPANY_ACCOUNT, and
  the same through the gateway's JSON console (every route with an account identifier, read from /openapi.json:
  403) and the console pages (the page again with the error, no redirect); an unknown identifier answers alike;
- every privileged RPC: no credential or a forged one → UNAUTHENTICATED; the gateway's public credential, alone or
  with a user's or an ASL's session → PERMISSION_DENIED; every other RPC without a credential → UNAUTHENTICATED;
- afterwards B's accounts, sessions, supplier record, the waiting company file, the ticket and B's mailbox are as
  they were. The full run does the same the other way round (B against A)."""
from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.identity.v1 import identity_service_pb2_grpc
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import support_service_pb2_grpc, ticket_pb2

from bench.report import Report
from kit.client import ServiceClient, failure_of
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.journeys import Person, first_login, new_user, onboarded_company, submitted_presentation
from tests.e2e.stack import CREDENTIALS, Stack, running_stack

from gateway.api import CONSOLE_ACTIONS
from gateway.clients import SESSION_COOKIE

PUBLIC, SESSION, CONSOLE, OWN_COMPANY = "public", "session", "ASL console", "ASL console, own company"
PURCHASING, INTERNAL, AGENT, SUPPORT_STAFF = "purchasing", "internal", "agent", "support staff"
PRIVILEGED = {PURCHASING, INTERNAL, AGENT, SUPPORT_STAFF}
PLUMBING = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
OTHER_COMPANY = ("PERMISSION_DENIED", "OTHER_COMPANY_ACCOUNT")


@dataclass(frozen=True)
class Targets:
    """What a probe aims at: the other company's data (``account``: one of its accounts)."""

    cofor_root: str
    account: str
    presentation_id: str  # a submitted company file waiting for purchasing
    ticket: str  # a Help & Contact ticket reference


Probe = Callable[[Targets], list[Message]]
PROBE_CONTACT = cofor_pb.Contact(given_name="Eve", family_name="Probe", email="eve@probe.example",
                                 phone="+33 1 23 45 67 89", job_title="Probe", language="en")
C, I, S = (module.DESCRIPTOR.services_by_name[name].full_name for module, name in (  # noqa: E741  (the tables' keys)
    (cofor, "CoforService"), (identity, "IdentityService"), (support, "SupportService")))

# Every RPC, by who may call it. The probe of a console or privileged RPC builds requests that would read or change
# the other company's (or anyone's) data if the call were let through; a new RPC missing here fails the suite.
METHODS: dict[str, tuple[set[str], Probe | None]] = {
    **{f"{C}.{name}": ({PUBLIC}, None) for name in (  # the company file's calls take the presenter token as bearer
        "StartPresentation", "UpdatePresentation", "SubmitPresentation", "AnalyzeAccess", "RequestPortalAccess",
        "ResendTermsAcceptance", "DescribeTermsAcceptance", "AcceptTerms")},
    **{f"{I}.{name}": ({PUBLIC}, None) for name in (
        "Login", "RecoverIdentifier", "ResetAdministratorPassword", "ContactAdministrator")},
    **{f"{I}.{name}": ({SESSION}, None) for name in ("Logout", "ValidateSession", "ChangePassword")},
    **{f"{S}.{name}": ({PUBLIC}, None) for name in ("CreateTicket", "ListHelpTopics", "GetHelpArticle")},
    f"{C}.GetPresentation": ({PUBLIC, PURCHASING}, None),
    f"{C}.ListPresentations": ({PURCHASING}, lambda t: [cofor.ListPresentationsRequest()]),
    f"{C}.RejectPresentation": ({PURCHASING}, lambda t: [cofor.RejectPresentationRequest(
        presentation_id=t.presentation_id, reason="isolation probe")]),
    f"{C}.ReferenceSupplier": ({PURCHASING}, lambda t: [cofor.ReferenceSupplierRequest(
        presentation_id=t.presentation_id)]),
    f"{C}.AddSite": ({PURCHASING}, lambda t: [cofor.AddSiteRequest(cofor_root=t.cofor_root, name="Probe plant")]),
    f"{C}.DeactivateSupplier": ({PURCHASING}, lambda t: [cofor.DeactivateSupplierRequest(
        cofor_root=t.cofor_root, reason="isolation probe")]),
    f"{C}.ReactivateSupplier": ({PURCHASING}, lambda t: [cofor.ReactivateSupplierRequest(cofor_root=t.cofor_root)]),
    f"{C}.SuspendPortalAccess": ({PURCHASING}, lambda t: [cofor.SuspendPortalAccessRequest(
        cofor_root=t.cofor_root, reason="isolation probe")]),
    f"{C}.ReopenPortalAccess": ({PURCHASING}, lambda t: [cofor.ReopenPortalAccessRequest(cofor_root=t.cofor_root)]),
    f"{C}.ReviewAccessRequest": ({PURCHASING}, lambda t: [cofor.ReviewAccessRequestRequest(
        cofor=t.cofor_root, decision=cofor.ACCESS_REVIEW_DECISION_DECLINE, reason="probe")]),
    f"{C}.UpdateSignatoryOfRecord": ({PURCHASING}, lambda t: [cofor.UpdateSignatoryOfRecordRequest(
        cofor=t.cofor_root, signatory=PROBE_CONTACT)]),
    f"{C}.ResetPortalAccess": ({PURCHASING}, lambda t: [cofor.ResetPortalAccessRequest(
        cofor=t.cofor_root, reason="probe")]),
    f"{C}.GetSupplier": ({INTERNAL}, lambda t: [cofor.GetSupplierRequest(cofor=t.cofor_root)]),
    f"{C}.ListSuppliers": ({INTERNAL}, lambda t: [cofor.ListSuppliersRequest()]),
    f"{C}.ValidateCofor": ({INTERNAL}, lambda t: [cofor.ValidateCoforRequest(cofor=t.cofor_root)]),
    f"{C}.BatchValidateCofor": ({INTERNAL}, lambda t: [cofor.BatchValidateCoforRequest(cofors=[t.cofor_root])]),
    f"{I}.CreateUser": ({OWN_COMPANY}, lambda t: [identity.CreateUserRequest(
        given_name="Probe", family_name="Isolation", email=f"probe.{uuid.uuid4().hex[:8]}@supplier.example")]),
    f"{I}.ListUsers": ({OWN_COMPANY}, lambda t: [identity.ListUsersRequest(page_size=200)]),
    f"{I}.GetUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.GetUserRequest(identifier=t.account)]),
    f"{I}.UpdateUser": ({CONSOLE}, lambda t: [identity.UpdateUserRequest(
        account=identity_pb.Account(identifier=t.account, job_title="changed by a probe"),
        update_mask=FieldMask(paths=["job_title"]))]),
    f"{I}.DisableUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.DisableUserRequest(identifier=t.account,
                                                                                        reason="probe")]),
    f"{I}.EnableUser": ({CONSOLE}, lambda t: [identity.EnableUserRequest(identifier=t.account)]),
    f"{I}.UnlockUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.UnlockUserRequest(identifier=t.account,
                                                                                      reason="probe")]),
    f"{I}.ResetUserPassword": ({CONSOLE}, lambda t: [identity.ResetUserPasswordRequest(identifier=t.account)]),
    f"{I}.GrantAdministrator": ({CONSOLE}, lambda t: [identity.GrantAdministratorRequest(identifier=t.account)]),
    f"{I}.RevokeAdministrator": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.RevokeAdministratorRequest(
        identifier=t.account, reason="probe")]),
    f"{I}.SearchAccounts": ({SUPPORT_STAFF}, lambda t: [identity.SearchAccountsRequest(cofor=t.cofor_root)]),
    f"{I}.ListAuditEvents": ({CONSOLE, SUPPORT_STAFF}, lambda t: [
        identity.ListAuditEventsRequest(identifier=t.account),
        identity.ListAuditEventsRequest(cofor_root=t.cofor_root)]),
    f"{S}.ListTickets": ({AGENT}, lambda t: [support.ListTicketsRequest()]),
    f"{S}.GetTicket": ({AGENT}, lambda t: [support.GetTicketRequest(reference=t.ticket)]),
    f"{S}.UpdateTicketStatus": ({AGENT}, lambda t: [support.UpdateTicketStatusRequest(
        reference=t.ticket, status=ticket_pb2.TICKET_STATUS_IN_PROGRESS, note="probe", author="probe")]),
    f"{S}.AddReply": ({AGENT}, lambda t: [support.AddReplyRequest(reference=t.ticket, author="probe",
                                                                   text="isolation probe")]),
}
TOKENS = {name: token for name, _, token in (entry.split(":", 2) for entry in CREDENTIALS.split(","))}
PRIVILEGED_CALLERS = [  # (who calls, service credential, whose session, expected answer)
    ("no credential", "", "", "UNAUTHENTICATED"), ("a forged credential", "forged", "", "UNAUTHENTICATED"),
    ("the public credential", "gateway", "", "PERMISSION_DENIED"),
    ("the public credential and a user's session", "gateway", "user", "PERMISSION_DENIED"),
    ("the public credential and an ASL's session", "gateway", "asl", "PERMISSION_DENIED")]
# Each privileged kind of RPC and the service roles it admits: a credential with another single role is refused.
ROLES_ADMITTED = {PURCHASING: {"purchasing"}, AGENT: {"support"}, SUPPORT_STAFF: {"support"},
                  INTERNAL: {"internal", "purchasing", "support"}}
SINGLE_ROLE_CALLERS = {"erp": "internal", "buyer": "purchasing", "helpdesk": "support"}  # credential → its one role


@dataclass
class Company:
    root: str
    asl: Person
    user: Person
    blocked: str  # a user locked out by wrong passwords
    disabled: str  # a user its ASL disabled

    @property
    def accounts(self) -> list[str]:
        return [self.asl.identifier, self.user.identifier, self.blocked, self.disabled]

    def session(self, who: str) -> str:
        return (self.asl if who == "asl" else self.user).browser.cookies[SESSION_COOKIE]


@dataclass
class Tally:
    checked: int = 0
    leaks: list[str] = dataclasses.field(default_factory=list)

    def expect(self, what: str, got: object, wanted: object) -> None:
        self.checked += 1
        if got != wanted:
            self.leaks.append(f"{what}: {got}")


class Clients:
    """The three services as the gateway, an operator or a forger calls them (``as_=""``: no credential)."""

    def __init__(self, stack: Stack) -> None:
        self.channels = [grpc.aio.insecure_channel(app.target) for app in stack.apps]
        tokens = {**TOKENS, "forged": f"forged-{uuid.uuid4().hex}"}
        stubs = (cofor_service_pb2_grpc.CoforServiceStub, identity_service_pb2_grpc.IdentityServiceStub,
                 support_service_pb2_grpc.SupportServiceStub)
        self.services = {name: ServiceClient(stub(channel), tokens)
                         for name, stub, channel in zip((C, I, S), stubs, self.channels)}

    async def answer(self, method: str, request: Message, *, as_: str = "gateway",
                     bearer: str = "") -> tuple[str, str, Any]:
        """(code, reason, reply) of one call."""
        service, name = method.rsplit(".", 1)
        try:
            return "OK", "", await getattr(self.services[service], name)(request, as_=as_, bearer=bearer or None)
        except grpc.aio.AioRpcError as error:
            failure = failure_of(error)
            return failure.code.name, failure.reason, None

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


def short(method: str) -> str:
    return method.rsplit(".", 1)[1]


def cofor_roots(message: Message) -> set[str]:
    """Every company a reply speaks of (each ``cofor_root`` field, at any depth)."""
    found = set()
    for field, value in message.ListFields():
        if field.name == "cofor_root":
            found.add(value)
        elif field.message_type is not None:
            for item in (value if field.is_repeated else [value]):
                found |= cofor_roots(item)
    return found


async def served_methods(stack: Stack) -> list[str]:
    """Every RPC the running services serve, as their server reflection lists them."""
    names: set[str] = set()
    for app in stack.apps:
        async with grpc.aio.insecure_channel(app.target) as channel:
            call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            async for reply in call:
                names |= {s.name for s in reply.list_services_response.service}
    pool = descriptor_pool.Default()
    return sorted(m.full_name for name in names - PLUMBING for m in pool.FindServiceByName(name).methods)


async def company(stack: Stack) -> Company:
    """An onboarded supplier: its ASL and a user logged in, a user blocked by wrong passwords, a disabled user."""
    root, asl = await onboarded_company(stack)
    identifier, email, temporary = await new_user(stack, asl.browser, root, "emma")
    user = await first_login(stack, identifier, email, temporary)
    blocked = (await new_user(stack, asl.browser, root, "bruno"))[0]
    for attempt in range(5):
        await stack.browser().post("/api/v1/session:login", json={"identifier": blocked,
                                                                   "password": f"a wrong guess, number {attempt}"})
    disabled = (await new_user(stack, asl.browser, root, "dina"))[0]
    assert (await asl.browser.post(f"/api/v1/users/{disabled}:disable")).status_code == 200
    states = {a["identifier"]: a["state"] for a in (await asl.browser.get("/api/v1/users")).json()["accounts"]}
    assert states[blocked] == "ACCOUNT_STATE_BLOCKED" and states[disabled] == "ACCOUNT_STATE_DISABLED", states
    return Company(root, asl, user, blocked, disabled)


async def new_ticket(stack: Stack) -> str:
    reply = await stack.browser().post("/api/v1/tickets", data={
        "category": "LOGIN_PROBLEM", "subject": "Cannot log in", "text": "The form comes back.", "name": "Ann Lee",
        "email": "ann.lee@supplier.example", "phone": "+33 1 23 45 67 89", "company": "Forges SA"})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["ticket"]["reference"])


async def snapshot(stack: Stack, clients: Clients, victim: Company, t: Targets) -> dict[str, str]:
    """What a let-through call would change: the victim's accounts and sessions, its supplier record, the waiting
    company file, the ticket, and how many mails the victim's people received."""
    reads = {"accounts": (f"{I}.SearchAccounts", identity.SearchAccountsRequest(cofor=victim.root, page_size=200)),
             "supplier": (f"{C}.GetSupplier", cofor.GetSupplierRequest(cofor=victim.root)),
             "company file": (f"{C}.GetPresentation", cofor.GetPresentationRequest(presentation_id=t.presentation_id)),
             "ticket": (f"{S}.GetTicket", support.GetTicketRequest(reference=t.ticket))}
    state = {what: str(await clients.answer(method, request, as_="operator"))
             for what, (method, request) in reads.items()}
    for who in ("asl", "user"):
        code, _, reply = await clients.answer(f"{I}.ValidateSession", identity.ValidateSessionRequest(
            session_token=victim.session(who)))
        state[f"{who}'s session"] = f"{code} {reply.principal if reply else ''}"  # idle expiry moves on each call
    state["mails"] = str(sum(any(f".{victim.root.lower()}@" in r for r in m.rcpt_tos) for m in stack.sink.received))
    return state


async def console_grpc(clients: Clients, attacker: Company, victim: Company, t: Targets, tally: Tally,
                       oracle: list[str]) -> None:
    """A's ASL on each of B's accounts, every console RPC; an identifier nobody has must answer the same."""
    unknown = ""
    while not unknown:
        candidate = f"V{uuid.uuid4().int % 1_000_000:06d}"
        _, _, found = await clients.answer(f"{I}.SearchAccounts", identity.SearchAccountsRequest(
            identifier=candidate), as_="operator")
        unknown = candidate if found is not None and not found.accounts else ""
    bearer = attacker.session("asl")
    for method, (kinds, probe) in METHODS.items():
        if CONSOLE in kinds and probe is not None:
            for account in victim.accounts:
                for request in probe(dataclasses.replace(t, account=account)):
                    code, reason, _ = await clients.answer(method, request, bearer=bearer)
                    tally.expect(f"{short(method)} by {attacker.root}'s ASL on {account}", (code, reason),
                                 OTHER_COMPANY)
            code, reason, _ = await clients.answer(method, probe(dataclasses.replace(t, account=unknown))[0],
                                                   bearer=bearer)
            if (code, reason) != OTHER_COMPANY:
                oracle.append(f"{short(method)} {code} {reason}")
        elif OWN_COMPANY in kinds and probe is not None:
            for request in probe(t):
                code, _, reply = await clients.answer(method, request, bearer=bearer)
                companies = cofor_roots(reply) if reply else set()
                tally.expect(f"{short(method)} by {attacker.root}'s ASL", (code, companies), ("OK", {attacker.root}))


async def console_gateway(stack: Stack, attacker: Company, victim: Company, tally: Tally) -> None:
    """The same through the gateway: every JSON route that takes an account identifier (from /openapi.json), and
    the console pages' one-click actions (refused: the page again with the error; a redirect would mean done)."""
    spec = (await stack.web.get("/openapi.json")).json()
    browser = attacker.asl.browser
    for path, operations in spec["paths"].items():
        for verb, operation in operations.items():
            where = {p["name"]: p["in"] for p in operation.get("parameters", [])}.get("identifier")
            if where not in ("path", "query"):
                continue
            body = {"json": {"job_title": "changed by a probe", "update_mask": ["job_title"]}} \
                if verb == "patch" else {}
            for account in victim.accounts:
                for action in CONSOLE_ACTIONS if "{action}" in path else [""]:
                    url = path.replace("{identifier}", account).replace("{action}", action) if where == "path" \
                        else f"{path}?identifier={account}"
                    reply = await browser.send(verb.upper(), url, **body)
                    tally.expect(f"{verb.upper()} {url}", (reply.status_code, reply.json()["error"]["reason"]
                                                           if reply.status_code >= 400 else ""),
                                 (403, "OTHER_COMPANY_ACCOUNT"))
    for account in victim.accounts:
        for action in CONSOLE_ACTIONS:
            reply = await browser.post(f"/en/admin/users/{account}/{action}", data={})
            tally.expect(f"page {action} on {account}", reply.status_code, 400)


async def privileged(clients: Clients, attacker: Company, t: Targets, tally: Tally, anonymous: Tally) -> None:
    """Privileged RPCs with every wrong caller; every other RPC without a credential."""
    pool = descriptor_pool.Default()
    for method, (kinds, probe) in METHODS.items():
        if kinds & PRIVILEGED and PUBLIC not in kinds and probe is not None:
            for request in probe(t):
                for who, credential, session, wanted in PRIVILEGED_CALLERS:
                    code, _, _ = await clients.answer(method, request, as_=credential,
                                                      bearer=attacker.session(session) if session else "")
                    tally.expect(f"{short(method)} with {who}", code, wanted)
                admitted = set().union(*(ROLES_ADMITTED.get(kind, set()) for kind in kinds))
                for credential, role in SINGLE_ROLE_CALLERS.items():
                    if role not in admitted:  # e.g. purchasing's credential on the help desk's RPCs
                        code, _, _ = await clients.answer(method, request, as_=credential)
                        tally.expect(f"{short(method)} with the {role} credential", code, "PERMISSION_DENIED")
            continue
        request = probe(t)[0] if probe is not None else GetMessageClass(pool.FindMethodByName(method).input_type)()
        for who, credential, _, wanted in PRIVILEGED_CALLERS[:2]:
            code, _, _ = await clients.answer(method, request, as_=credential)
            anonymous.expect(f"{short(method)} with {who}", code, wanted)


async def run(report: Report, *, quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats", users=nats_users()).start()
        try:
            async with running_stack(Path(tmp), server) as stack:
                clients = Clients(stack)
                try:
                    await _run(report, stack, clients, quick)
                finally:
                    await clients.close()
        finally:
            server.stop()


async def _run(report: Report, stack: Stack, clients: Clients, quick: bool) -> None:
    served = await served_methods(stack)
    unclassified = [m for m in served if m not in METHODS]
    unclassified += [m for m, (kinds, probe) in METHODS.items()  # a console or privileged RPC needs its probe
                     if probe is None and kinds & (PRIVILEGED | {CONSOLE, OWN_COMPANY}) and PUBLIC not in kinds]
    a, b = await asyncio.gather(company(stack), company(stack))
    presentation_id, ticket = await asyncio.gather(submitted_presentation(stack), new_ticket(stack))
    console, privileged_calls, anonymous, changed = Tally(), Tally(), Tally(), []
    oracle: list[str] = []
    for attacker, victim in [(a, b)] if quick else [(a, b), (b, a)]:
        t = Targets(victim.root, victim.blocked, presentation_id, ticket)
        before = await snapshot(stack, clients, victim, t)
        await console_grpc(clients, attacker, victim, t, console, oracle)
        await console_gateway(stack, attacker, victim, console)
        await privileged(clients, attacker, t, privileged_calls, anonymous)
        await asyncio.sleep(1.5)  # what a let-through call would publish or mail has arrived by now
        after = await snapshot(stack, clients, victim, t)
        changed += [f"{victim.root} {what}" for what in before if before[what] != after[what]]

    kinds: dict[str, int] = {}
    for method in served:
        for kind in METHODS.get(method, ({"UNCLASSIFIED"}, None))[0]:
            kinds[kind] = kinds.get(kind, 0) + 1
    directions = "A→B" if quick else "A→B and B→A"
    report.add("isolation_unclassified_methods", len(unclassified), "RPCs", "0",
               f"{len(served)} served: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
               + (f"; missing: {', '.join(unclassified)}" if unclassified else "")
               + (f"; stale entries: {', '.join(m for m in METHODS if m not in served)}"
                  if set(METHODS) - set(served) else ""))
    report.add("isolation_console_calls_checked", console.checked, "calls", "> 0",
               f"{directions}; gRPC with the other ASL's session, the gateway's JSON console and its pages")
    report.add("isolation_console_leaks", len(console.leaks), "calls", "0", "; ".join(console.leaks[:5]))
    report.add("isolation_console_existence_oracle", len(oracle), "RPCs", "0",
               "an unknown identifier answers unlike another company's account: " + "; ".join(oracle) if oracle
               else "unknown identifiers answer like another company's accounts")
    report.add("isolation_privileged_calls_checked", privileged_calls.checked, "calls", "> 0",
               f"{directions}; purchasing, internal, agent and support-staff RPCs × {len(PRIVILEGED_CALLERS)} callers, "
               "and each with every single-role credential it does not admit")
    report.add("isolation_privileged_leaks", len(privileged_calls.leaks), "calls", "0",
               "; ".join(privileged_calls.leaks[:5]))
    report.add("isolation_anonymous_calls_checked", anonymous.checked, "calls", "> 0",
               "every other RPC without a credential or with a forged one")
    report.add("isolation_anonymous_leaks", len(anonymous.leaks), "calls", "0", "; ".join(anonymous.leaks[:5]))
    report.add("isolation_state_changes", len(changed), "records", "0",
               "; ".join(changed) or "the victims' accounts, sessions, supplier, file, ticket and mailbox unchanged")
