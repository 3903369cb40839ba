"""The agents' use cases on a fake unit of work: moving a ticket (its rules: Ticket.move_to), replying (Ticket.reply),
the events and mails each one leaves, and what a refusal leaves behind (nothing)."""
from __future__ import annotations

import datetime as dt

import pytest
from portal.support.v1 import email_values_pb2 as v
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb

from kit.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.unit.support.builders import MAILBOX, NOW, world

from support.domain.tickets import Status

LATER = NOW + dt.timedelta(hours=2)


async def test_a_status_change_is_kept_in_the_history_and_published() -> None:
    w = world()
    ref = await w.open()
    w.clock.now = LATER
    ticket = await w.tickets.update_status(ref.lower(), "IN_PROGRESS", "  Looking into it ", "Ann")
    assert ticket.status == Status.IN_PROGRESS and ticket.updated_at == LATER
    stored = w.store.tickets[ref]
    [change] = stored.status_changes
    assert (change.previous_status, change.status, change.note, change.author, change.changed_at) == (
        Status.NEW, Status.IN_PROGRESS, "Looking into it", "Ann", LATER)
    [updated] = w.store.of("support.ticket.updated")
    assert updated.kind == ev.TICKET_UPDATE_KIND_STATUS_CHANGED and updated.author == "Ann"
    assert (updated.previous_status, updated.status) == (pb.TICKET_STATUS_NEW, pb.TICKET_STATUS_IN_PROGRESS)


async def test_steps_may_be_skipped_and_a_resolved_ticket_may_be_reopened() -> None:
    w = world()
    ref = await w.open()
    await w.tickets.update_status(ref, "RESOLVED", "", "")
    reopened = await w.tickets.update_status(ref, "IN_PROGRESS", "the fix did not hold", "Ann")
    assert [c.status for c in reopened.status_changes] == [Status.RESOLVED, Status.IN_PROGRESS]


async def test_a_closed_ticket_moves_no_more_and_the_refusal_changes_nothing() -> None:
    w = world()
    ref = await w.open()
    await w.tickets.update_status(ref, "CLOSED", "", "")
    commits = w.store.commits
    with pytest.raises(FailedPrecondition) as refused:
        await w.tickets.update_status(ref, "IN_PROGRESS", "", "")
    assert refused.value.reason == "INVALID_STATUS_TRANSITION"
    assert refused.value.metadata == {"from": "CLOSED", "to": "IN_PROGRESS"}
    assert w.store.commits == commits and w.store.tickets[ref].status == Status.CLOSED


async def test_an_unknown_status_and_a_bad_note_are_told_together() -> None:
    w = world()
    ref = await w.open()
    with pytest.raises(InvalidArgument) as refused:
        await w.tickets.update_status(ref, "SOLVED", "x" * 2001, "")
    assert {v.field for v in refused.value.violations} == {"status", "note"}


async def test_an_unknown_reference_is_not_found() -> None:
    w = world()
    with pytest.raises(NotFound) as missing:
        await w.tickets.update_status(" b2b-2026-999999 ", "CLOSED", "", "")
    assert missing.value.reason == "TICKET_NOT_FOUND"
    assert missing.value.metadata == {"reference": "B2B-2026-999999"}


async def test_a_reply_is_kept_published_and_mailed_to_the_requester_who_can_answer_us() -> None:
    w = world()
    ref = await w.open()
    w.clock.now = LATER
    ticket = await w.tickets.add_reply(ref, "Ann", "Please try again now.")
    [reply] = w.store.tickets[ref].replies
    assert (reply.author, reply.text, reply.created_at) == ("Ann", "Please try again now.", LATER)
    assert ticket.updated_at == LATER and ticket.status == Status.NEW
    [updated] = w.store.of("support.ticket.updated")
    assert updated.kind == ev.TICKET_UPDATE_KIND_REPLY_ADDED
    mail = w.store.of("notification.email.requested")[-1]
    assert mail.template == ev.EMAIL_TEMPLATE_TICKET_REPLY and mail.language == "en"
    assert [(r.address, r.display_name) for r in mail.to] == [("claire.martin@forges.example", "Claire Martin")]
    assert mail.reply_to.address == MAILBOX
    assert mail.ticket_reply == v.TicketReplyMail(reference=ref, subject="Cannot log in", author="Ann",
                                                  text="Please try again now.")


async def test_a_closed_ticket_takes_no_reply() -> None:
    w = world()
    ref = await w.open()
    await w.tickets.update_status(ref, "CLOSED", "", "")
    published = len(w.store.published)
    with pytest.raises(FailedPrecondition) as refused:
        await w.tickets.add_reply(ref, "Ann", "Too late")
    assert refused.value.reason == "TICKET_CLOSED"
    assert len(w.store.published) == published and not w.store.tickets[ref].replies


async def test_a_replayed_reply_is_added_once() -> None:
    w = world()
    ref = await w.open()
    first = await w.tickets.add_reply(ref, "Ann", "Done.", request_id="3f1b7c2e-reply")
    again = await w.tickets.add_reply(ref, "Ann", "Done.", request_id="3f1b7c2e-reply")
    assert len(w.store.tickets[ref].replies) == 1
    assert [r.id for r in again.replies] == [r.id for r in first.replies]
    assert len(w.store.of("support.ticket.updated")) == 1
