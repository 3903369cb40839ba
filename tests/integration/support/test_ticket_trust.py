"""Proven or claimed (review finding 13, ARCHITECTURE §8): the gateway vouches for a live session in metadata;
such a ticket records the session's identifier and COFOR as proven and is counted by identifier, so tickets that
strangers send with someone's e-mail never refuse that person's own, signed-in, ticket. At the gRPC level, with the
gateway's and an internal caller's credentials."""
from __future__ import annotations

import grpc
import pytest
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import ticket_pb2 as pb

from kit.auth import CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of

from .conftest import TOKENS, Support, unique_email
from .test_tickets_and_help import contact

IDENTIFIER_KEY, COFOR_KEY = "x-portal-principal-identifier", "x-portal-principal-cofor-root"


async def send(support: Support, email: str, *, session: tuple[str, str] | None = None, caller: str = "gateway",
               client: str = "198.51.100.7", typed_identifier: str = "V999999") -> pb.Ticket:
    """CreateTicket as the gateway sends it: with ``session`` (identifier, COFOR root) for a signed-in visitor."""
    who = contact(email)
    who.identifier, who.cofor = typed_identifier, "ZZZZZZ"
    metadata = [(SERVICE_TOKEN_KEY, TOKENS[caller]), (CLIENT_ADDRESS_KEY, client)]
    if session:
        metadata += [(IDENTIFIER_KEY, session[0]), (COFOR_KEY, session[1])]
    reply = await support.client.stub.CreateTicket(api.CreateTicketRequest(
        category=pb.TICKET_CATEGORY_BLOCKED_ACCOUNT, subject="Blocked", text="My account is blocked.",
        contact=who), metadata=metadata, timeout=15)
    return reply.ticket


async def refused(support: Support, email: str, **kwargs: object) -> tuple[str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await send(support, email, **kwargs)  # type: ignore[arg-type]
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    return failure.reason, failure.metadata


async def test_strangers_filling_an_asls_email_never_refuse_the_asls_signed_in_ticket(support: Support) -> None:
    asl = unique_email("asl")
    for n in range(5):  # a stranger, anonymous, from addresses of their own
        assert not (await send(support, asl, client=f"203.0.113.{n}")).identity_proven
    reason, metadata = await refused(support, asl.upper(), client="203.0.113.99")  # case folded: same mailbox
    assert (reason, metadata["countedBy"]) == ("TOO_MANY_OPEN_TICKETS", "email")
    await refused(support, asl.replace("@", "+again@"), client="203.0.113.98")  # "+tag" folded too

    mine = await send(support, asl, session=("V123456", "ABC123"))  # the ASL, signed in
    assert mine.identity_proven and (mine.contact.identifier, mine.contact.cofor) == ("V123456", "ABC123")
    seen = (await support.client.GetTicket(api.GetTicketRequest(reference=mine.reference), as_="agent")).ticket
    assert seen.identity_proven and seen.contact.identifier == "V123456"
    listed = (await support.client.ListTickets(api.ListTicketsRequest(email=asl), as_="agent")).tickets
    assert sorted(t.identity_proven for t in listed) == [False] * 5 + [True]  # agents see which is which
    typed = next(t for t in listed if not t.identity_proven)
    assert typed.contact.identifier == "V999999"  # claimed: stored as typed, never taken for proven


async def test_proven_tickets_are_capped_per_identifier_and_not_by_email(support: Support) -> None:
    for n in range(5):
        await send(support, unique_email(f"proven{n}"), session=("V654321", "XYZ789"))
    reason, metadata = await refused(support, unique_email("proven-more"), session=("V654321", "XYZ789"))
    assert (reason, metadata["countedBy"]) == ("TOO_MANY_OPEN_TICKETS", "identifier")
    assert (await send(support, unique_email("other"), session=("V111111", "XYZ789"))).identity_proven


async def test_a_signed_in_requester_is_rate_limited_by_identifier_not_by_a_shared_client_address(
        support: Support) -> None:
    shared = "192.0.2.50"  # a corporate NAT, or a front proxy that hides every visitor's address
    for n in range(20):
        await send(support, unique_email(f"nat{n}"), client=shared)
    reason, metadata = await refused(support, unique_email("nat-more"), client=shared)
    assert (reason, metadata["limit"]) == ("RATE_LIMITED", "create-ticket")
    signed_in = await send(support, unique_email("signed-in"), client=shared, session=("V222222", "ABC123"))
    assert signed_in.identity_proven


@pytest.mark.parametrize("caller,session", [
    ("erp", ("V123456", "ABC123")),  # only a "public" caller may vouch
    ("gateway", ("123456", "ABC123")), ("gateway", ("V123456", "abc 12")),  # malformed: proves nothing
    ("gateway", ("V123456", "")),
])
async def test_a_vouch_is_honoured_only_from_the_gateway_and_only_when_well_formed(
        support: Support, caller: str, session: tuple[str, str]) -> None:
    ticket = await send(support, unique_email("vouch"), caller=caller, session=session)
    assert not ticket.identity_proven and ticket.contact.identifier == "V999999"
    honoured = await send(support, unique_email("vouch"), session=("V123456", "ABC123"))
    assert honoured.identity_proven and honoured.contact.identifier == "V123456"
