"""Opening a ticket on a fake unit of work: the new ticket, its events and mails, the caps (open tickets per flood
key, tickets per hour) and the replay of a request id."""
from __future__ import annotations

import pytest
from portal.support.v1 import email_values_pb2 as v
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb

from kit.errors import InvalidArgument, ResourceExhausted
from tests.unit.support.builders import MAILBOX, NOW, PROVEN, new_ticket, world

from support.domain.tickets import Category, Contact, Requester, Status

REQUEST_ID = "0b7c3f9e-2a41-4d8b-9c6e-5f1a2b3c4d5e"


async def test_a_new_ticket_is_kept_announced_and_mailed_to_support_and_the_requester() -> None:
    w = world()
    ticket = await w.intake.create(new_ticket(), Requester("198.51.100.7"))
    assert ticket.reference == "B2B-2026-000001" and ticket.status == Status.NEW
    assert ticket.category == Category.LOGIN_PROBLEM and ticket.created_at == ticket.updated_at == NOW
    assert not ticket.identity_proven and ticket.flood_key == "email:claire.martin@forges.example"
    assert w.store.tickets[ticket.reference].contact.email == "claire.martin@forges.example"
    [created] = w.store.of("support.ticket.created")
    assert created.reference == ticket.reference and not created.has_screenshot
    to_support, acknowledgement = w.store.of("notification.email.requested")
    assert to_support.template == ev.EMAIL_TEMPLATE_TICKET_TO_SUPPORT and to_support.to[0].address == MAILBOX
    assert to_support.reply_to.address == "claire.martin@forges.example" and to_support.language == "fr"
    assert not to_support.ticket_to_support.identity_proven and not to_support.attachments
    # To an address nobody proved: the reference and category only.
    assert acknowledgement.template == ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT
    assert acknowledgement.ticket_acknowledgement == v.TicketAcknowledgementMail(
        reference=ticket.reference, category=pb.TICKET_CATEGORY_LOGIN_PROBLEM)
    assert [(r.address, r.display_name) for r in acknowledgement.to] == [("claire.martin@forges.example", "")]
    assert (await w.open()) == "B2B-2026-000002"


async def test_a_proven_requester_is_known_by_the_session_whatever_was_typed() -> None:
    w = world()
    typed = Contact("Claire Martin", "claire.martin@forges.example", "+33 3 83 00 00 00", "Forges SA",
                    identifier="V999999", cofor="ZZZZZZ")
    ticket = await w.intake.create(new_ticket(contact=typed), PROVEN)
    assert (ticket.contact.identifier, ticket.contact.cofor) == ("V123456", "12345A")
    assert ticket.identity_proven and ticket.flood_key == "id:V123456"


async def test_the_open_tickets_cap_counts_by_email_and_a_resolved_ticket_frees_a_place() -> None:
    w = world(max_open=2)
    first = await w.open()
    await w.open(contact=Contact("C. Martin", "Claire.Martin+portal@forges.example", "+33 3 83 00 00 00",
                                 "Forges SA"))  # the same mailbox
    with pytest.raises(ResourceExhausted) as refused:
        await w.open()
    assert refused.value.reason == "TOO_MANY_OPEN_TICKETS"
    assert refused.value.metadata == {"maxOpenTickets": "2", "countedBy": "email"}
    await w.tickets.update_status(first, "RESOLVED", "", "Ann")
    assert await w.open() == "B2B-2026-000003"


async def test_a_proven_requester_has_a_count_of_their_own() -> None:
    w = world(max_open=1)
    await w.open()
    with pytest.raises(ResourceExhausted):
        await w.open()
    ticket = await w.intake.create(new_ticket(), PROVEN)  # same e-mail, but strangers cannot fill this count
    with pytest.raises(ResourceExhausted) as refused:
        await w.intake.create(new_ticket(), PROVEN)
    assert ticket.identity_proven and refused.value.metadata["countedBy"] == "identifier"


async def test_twenty_tickets_an_hour_per_client_address() -> None:
    w = world(max_open=100)
    for n in range(20):
        await w.open(contact=Contact("A", f"a{n}@forges.example", "+33 3 83 00 00 00", "Forges SA"))
    with pytest.raises(ResourceExhausted) as refused:
        await w.open(contact=Contact("A", "a20@forges.example", "+33 3 83 00 00 00", "Forges SA"))
    assert refused.value.reason == "RATE_LIMITED" and len(w.store.tickets) == 20


async def test_a_replayed_request_id_gives_the_same_ticket_once() -> None:
    w = world()
    first = await w.intake.create(new_ticket(request_id=REQUEST_ID), Requester("198.51.100.7"))
    again = await w.intake.create(new_ticket(request_id=REQUEST_ID), Requester("198.51.100.7"))
    assert again.reference == first.reference and len(w.store.tickets) == 1
    assert len(w.store.of("support.ticket.created")) == 1


async def test_every_bad_field_is_told_at_once_and_nothing_is_kept() -> None:
    w = world()
    bad = Contact("", "not-an-address", "+33 3 83 00 00 00", "Forges SA", language="de")
    with pytest.raises(InvalidArgument) as refused:
        await w.intake.create(new_ticket(category="PRAISE", subject="", contact=bad, request_id="7"))
    assert {v.field for v in refused.value.violations} == {
        "category", "subject", "contact.name", "contact.email", "contact.language", "request_id"}
    assert not w.store.tickets and not w.store.published and not w.store.counters


async def test_a_screenshot_is_kept_with_its_size_and_attached_to_the_mail_to_support() -> None:
    w = world()
    data = b"\x89PNG" + bytes(1000)
    ticket = await w.intake.create(new_ticket(screenshot=("screen.png", "image/png", data)), PROVEN)
    assert ticket.screenshot is not None
    assert (ticket.screenshot.size, ticket.screenshot.width, ticket.screenshot.content_type) == (
        1004, 640, "image/png")
    to_support = w.store.of("notification.email.requested")[0]
    assert [(a.kind, a.id) for a in to_support.attachments] == [
        (ev.EMAIL_ATTACHMENT_KIND_TICKET_SCREENSHOT, ticket.reference)]
    assert w.store.of("support.ticket.created")[0].has_screenshot


async def test_a_screenshot_declared_as_another_type_is_refused_after_the_count() -> None:
    w = world()
    with pytest.raises(InvalidArgument) as refused:
        await w.intake.create(new_ticket(screenshot=("screen.png", "image/jpeg", b"x")), PROVEN)
    [violation] = refused.value.violations
    assert violation.field == "screenshot.content_type" and violation.reason == "SCREENSHOT_INVALID"
    assert not w.store.tickets and w.store.counters == {"create-ticket:id:V123456": 1}  # decoding is what costs
