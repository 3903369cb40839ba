"""What the isolation suite (hardening/isolation.py) probes with and against: the two companies with their accounts,
the services' clients, the RPCs served, and the victim's state before and after."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.message import Message
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.identity.v1 import identity_service_pb2 as identity
from portal.identity.v1 import identity_service_pb2_grpc, oidc_pb2_grpc
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import support_service_pb2_grpc

from hardening.isolation_methods import PLUMBING, TOKENS, C, I, O, S, Targets
from kit.client import ServiceClient, failure_of
from tests.e2e.journeys import Person, activated, new_user, onboarded_company
from tests.e2e.stack import Stack

from gateway.clients import SESSION_COOKIE


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
                 support_service_pb2_grpc.SupportServiceStub, oidc_pb2_grpc.OidcProviderServiceStub)
        self.services = {name: ServiceClient(stub(channel), tokens)  # the provider is identity's second service
                         for name, stub, channel in zip((C, I, S, O), stubs, [*self.channels, self.channels[1]])}

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
    identifier, email, token = await new_user(stack, asl.browser, root, "emma")
    user = await activated(stack, identifier, email, token)
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
