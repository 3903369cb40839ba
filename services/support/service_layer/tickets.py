"""Help & Contact tickets once opened: the agents' work (list, read, move, reply) and the mails it sends."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb

from kit import validation
from kit.clock import utcnow
from kit.errors import Violations
from notify import mails, send_mail

from support import views
from support.domain.tickets import Status, Ticket
from support.service_layer.unit_of_work import UnitOfWorkFactory


class Tickets:
    """The tickets once opened (opening one: service_layer/intake.py): what agents read and do, and its mails."""

    def __init__(self, uow: UnitOfWorkFactory, *, support_mailbox: str,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.uow = uow
        self.support_mailbox = support_mailbox
        self.now = clock

    async def get(self, ref: str) -> Ticket:
        return await views.ticket(self.uow, ref)

    async def list(self, status: str, category: str, email: str, page_size: int,
                   page_token: str) -> tuple[list[Ticket], str]:
        return await views.tickets(self.uow, status, category, email, page_size, page_token)

    async def update_status(self, ref: str, status: str, note: str, author: str) -> Ticket:
        v = Violations()
        if status not in Status.__members__:
            v.add("status", "must be one of " + ", ".join(Status.__members__))
        note, author = validation.clean(note), validation.clean(author)
        if err := validation.text_error(note, required=False, max_length=2000, multiline=True):
            v.add("note", err)
        if err := validation.text_error(author, required=False, max_length=200):
            v.add("author", err)
        v.raise_if_any()
        async with self.uow() as uow:
            ticket = await uow.tickets.require(ref, for_update=True)
            previous = ticket.move_to(Status(status), self.now(), note=note, author=author)
            uow.publish("support.ticket.updated", ev.TicketUpdated(
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_STATUS_CHANGED, status=_status(status),
                previous_status=_status(previous.value), author=author))
            await uow.commit()
            return ticket

    async def add_reply(self, ref: str, author: str, text: str, request_id: str = "") -> Ticket:
        v = Violations()
        author, text = validation.clean(author), validation.clean(text)
        if err := validation.text_error(author, max_length=200):
            v.add("author", err)
        if err := validation.text_error(text, max_length=10_000, multiline=True):
            v.add("text", err)
        v.raise_if_any()
        async with self.uow() as uow:
            ticket = await uow.tickets.require(ref, for_update=True)
            if await uow.remembered("AddReply", request_id, owner=ticket.reference):
                return ticket
            ticket.reply(author, text, self.now())
            uow.remember("AddReply", request_id, ticket.reference, owner=ticket.reference)
            uow.publish("support.ticket.updated", ev.TicketUpdated(
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_REPLY_ADDED,
                status=_status(ticket.status.value), author=author))
            send_mail(uow, mails.ticket_reply(reference=ticket.reference, subject=ticket.subject, author=author,
                                              text=text),
                      to=[(ticket.contact.email, ticket.contact.name)], language=ticket.contact.language,
                      reply_to=(self.support_mailbox, ""))  # "simply reply to this message" must reach us
            await uow.commit()
            return ticket


def _status(name: str) -> pb.TicketStatus.ValueType:
    return pb.TicketStatus.Value(f"TICKET_STATUS_{name}")
