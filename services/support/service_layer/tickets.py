"""Help & Contact tickets once opened: the agents' work (list, read, move, reply) and the mails it sends."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, cast

from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb
from sqlalchemy import func, select, update

from kit import validation
from kit.clock import utcnow
from kit.db import Database
from kit.dialect_upsert import upsert
from kit.errors import NotFound, Violations
from kit.paging import page_of
from notify import Template, request_email

from support.adapters.orm import ticket_counters, ticket_replies, ticket_screenshots, ticket_status_changes, tickets
from support.domain.tickets import Category, Contact, Reply, Screenshot, Status, StatusChange, Ticket
from support.service_layer.unit_of_work import SupportUnitOfWork


class Tickets:
    """The tickets once opened (opening one: service_layer/intake.py): what agents read and do, and its mails."""

    def __init__(self, database: Database, *, support_mailbox: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = database
        self.support_mailbox = support_mailbox
        self.now = clock

    def uow(self, *, readonly: bool = False) -> SupportUnitOfWork:
        return SupportUnitOfWork(self.db, readonly=readonly)

    async def next_number(self, uow: SupportUnitOfWork, year: int) -> int:
        """Atomic per-year counter (upsert + RETURNING): replicas never hand out a reference twice."""
        stmt = upsert(uow.session, ticket_counters, {"year": year, "last": 1}, keys=["year"],
                      update={"last": ticket_counters.c.last + 1})
        return int((await uow.session.execute(stmt.returning(ticket_counters.c.last))).scalar_one())

    async def load(self, uow: SupportUnitOfWork, ref: str) -> Ticket:
        row = (await uow.session.execute(select(tickets).where(tickets.c.reference == ref))).mappings().first()
        if row is None:
            raise NotFound("TICKET_NOT_FOUND", "no ticket with this reference", metadata={"reference": ref[:40]})
        shot = (await uow.session.execute(select(
            ticket_screenshots.c.filename, ticket_screenshots.c.content_type, ticket_screenshots.c.width,
            ticket_screenshots.c.height, func.length(ticket_screenshots.c.data).label("size")).where(
            ticket_screenshots.c.reference == ref))).mappings().first()
        replies = (await uow.session.execute(select(ticket_replies).where(ticket_replies.c.reference == ref)
                                             .order_by(ticket_replies.c.created_at))).mappings().all()
        changes = (await uow.session.execute(select(ticket_status_changes).where(
            ticket_status_changes.c.reference == ref).order_by(ticket_status_changes.c.changed_at))).mappings().all()
        # The rows carry the keys the domain's typed dicts name (and a few more).
        return _ticket(row, cast(Screenshot, dict(shot)) if shot else None, [cast(Reply, dict(r)) for r in replies],
                       [cast(StatusChange, dict(c)) for c in changes])

    async def get(self, ref: str) -> Ticket:
        async with self.uow(readonly=True) as uow:
            return await self.load(uow, ref.strip().upper())

    async def list(self, status: str, category: str, email: str, page_size: int,
                   page_token: str) -> tuple[list[Ticket], str]:
        page = page_of(page_size, page_token, status=status, category=category, email=email)
        query = select(tickets.c.reference).order_by(tickets.c.reference.desc())
        if status:
            query = query.where(tickets.c.status == status)
        if category:
            query = query.where(tickets.c.category == category)
        if email:
            query = query.where(tickets.c.contact_email == email.strip())
        if page.after:
            query = query.where(tickets.c.reference < page.after)
        async with self.uow(readonly=True) as uow:
            refs = list((await uow.session.scalars(query.limit(page.size))).all())
            found = [await self.load(uow, r) for r in refs]
        return found, page.next_token(refs[-1] if refs else None, len(refs))

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
        now = self.now()
        async with self.uow() as uow:
            ticket = await self._load_for_update(uow, ref)
            previous = ticket.move_to(Status(status), now)
            await uow.session.execute(update(tickets).where(tickets.c.reference == ticket.reference)
                                      .values(status=status, updated_at=now))
            await uow.session.execute(ticket_status_changes.insert().values(
                id=str(uuid.uuid4()), reference=ticket.reference, previous_status=previous.value, status=status,
                note=note, author=author, changed_at=now))
            uow.publish("support.ticket.updated", ev.TicketUpdated(
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_STATUS_CHANGED, status=_status(status),
                previous_status=_status(previous.value), author=author))
            updated = await self.load(uow, ticket.reference)
            await uow.commit()
            return updated

    async def add_reply(self, ref: str, author: str, text: str, request_id: str = "") -> Ticket:
        v = Violations()
        author, text = validation.clean(author), validation.clean(text)
        if err := validation.text_error(author, max_length=200):
            v.add("author", err)
        if err := validation.text_error(text, max_length=10_000, multiline=True):
            v.add("text", err)
        v.raise_if_any()
        now = self.now()
        async with self.uow() as uow:
            ticket = await self._load_for_update(uow, ref)
            if await uow.remembered("AddReply", request_id, owner=ticket.reference):
                return ticket
            ticket.require_open_for_reply()
            await uow.session.execute(ticket_replies.insert().values(
                id=str(uuid.uuid4()), reference=ticket.reference, author=author, text=text, created_at=now))
            await uow.session.execute(update(tickets).where(tickets.c.reference == ticket.reference)
                                      .values(updated_at=now))
            uow.remember("AddReply", request_id, ticket.reference, owner=ticket.reference)
            uow.publish("support.ticket.updated", ev.TicketUpdated(
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_REPLY_ADDED,
                status=_status(ticket.status.value), author=author))
            request_email(uow, template=Template.EMAIL_TEMPLATE_TICKET_REPLY,
                          to=[(ticket.contact.email, ticket.contact.name)], language=ticket.contact.language,
                          reply_to=(self.support_mailbox, ""),  # "simply reply to this message" must reach us
                          params={"reference": ticket.reference, "subject": ticket.subject, "author": author,
                                  "text": text})
            updated = await self.load(uow, ticket.reference)
            await uow.commit()
            return updated

    async def _load_for_update(self, uow: SupportUnitOfWork, ref: str) -> Ticket:
        ref = ref.strip().upper()
        if self.db.is_postgres:
            await uow.session.execute(select(tickets.c.reference).where(tickets.c.reference == ref).with_for_update())
        return await self.load(uow, ref)


def _status(name: str) -> pb.TicketStatus.ValueType:
    return pb.TicketStatus.Value(f"TICKET_STATUS_{name}")


def _ticket(row: Any, shot: Screenshot | None, replies: list[Reply], changes: list[StatusChange]) -> Ticket:
    return Ticket(reference=row["reference"], category=Category(row["category"]), status=Status(row["status"]),
                  subject=row["subject"], text=row["text"],
                  contact=Contact(row["contact_name"], row["contact_email"], row["contact_phone"],
                                  row["contact_company"], row["contact_identifier"], row["contact_cofor"],
                                  row["language"]),
                  created_at=row["created_at"], updated_at=row["updated_at"], screenshot=shot, replies=replies,
                  status_changes=changes, identity_proven=bool(row["identity_proven"]))
