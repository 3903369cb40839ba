"""Help & Contact through the real gateway and services (tests/e2e/stack.py): the gateway vouches for a visitor's
live session, so a signed-in ASL's ticket is proven and counted by identifier, and tickets that strangers sent
with the ASL's e-mail do not refuse it (review finding 13). Both the JSON route and the contact page."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc

from kit.client import ServiceClient
from testing.processes import NatsServer
from tests.e2e.journeys import onboarded_company
from tests.e2e.stack import Stack, running_stack


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


def form(email: str, **values: str) -> dict[str, str]:
    return {"category": "BLOCKED_ACCOUNT", "subject": "Blocked", "text": "I cannot log in.", "name": "Paul Durand",
            "email": email, "phone": "+33 1 23 45 67 89", "company": "Forges de Lorraine", "language": "en",
            "identifier": "V000001", "cofor": "FAKE01", **values}


async def test_a_signed_in_asl_is_never_refused_by_tickets_strangers_sent_with_their_email(stack: Stack) -> None:
    root, asl = await onboarded_company(stack)
    for _ in range(5):  # a stranger, not signed in, claiming the ASL's identity
        stranger = await stack.browser().post("/api/v1/tickets", data=form(asl.email, identifier=asl.identifier))
        assert stranger.status_code == 200, stranger.text
        assert not stranger.json()["ticket"].get("identity_proven")
    refused = await stack.browser().post("/api/v1/tickets", data=form(asl.email))
    assert refused.status_code == 429 and refused.json()["error"]["reason"] == "TOO_MANY_OPEN_TICKETS"

    mine = await asl.browser.post("/api/v1/tickets", data=form(asl.email))  # typed identifier and COFOR are wrong
    assert mine.status_code == 200, mine.text
    ticket = mine.json()["ticket"]
    assert ticket["identity_proven"] is True
    assert (ticket["contact"]["identifier"], ticket["contact"]["cofor"]) == (asl.identifier, root)

    page = await asl.browser.get("/en/contact")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    sent = await asl.browser.post("/en/contact", data={**form(asl.email), "csrf_token": token.group(1)})
    assert sent.status_code == 200, sent.text[:1000]
    reference = re.search(r"B2B-\d{4}-\d{6}", sent.text)
    assert reference

    support_app = stack.apps[2]
    channel = grpc.aio.insecure_channel(support_app.target)
    try:
        agent = ServiceClient(support_service_pb2_grpc.SupportServiceStub(channel), {"helpdesk": "helpdesk-token"},
                              default_caller="helpdesk")
        found = (await agent.GetTicket(api.GetTicketRequest(reference=reference.group(0)))).ticket
    finally:
        await channel.close()
    assert found.identity_proven and found.contact.identifier == asl.identifier
