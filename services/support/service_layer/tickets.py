"""Help & Contact tickets: creation (with screenshot), the agents' work, and the mails each step sends."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb
from sqlalchemy import func, select, update

from kit import ratelimit, validation
from kit.db import Database
from kit.dialect_upsert import upsert
from kit.errors import FieldViolation, InvalidArgument, NotFound, ResourceExhausted, Violations
from kit.notify import Template, request_email
from kit.paging import page_of

from support.adapters.orm import ticket_counters, ticket_replies, ticket_screenshots, ticket_status_changes, tickets
from support.domain.screenshots import ScreenshotRejected, clean_screenshot
from support.domain.tickets import OPEN_STATUSES, Category, Contact, Status, Ticket, reference
from support.service_layer.unit_of_work import SupportUnitOfWork

CREATE_LIMIT = ratelimit.Limit("create-ticket", 20, 3600)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class NewTicket:
    category: str
    subject: str
    text: str
    contact: Contact
    screenshot: tuple[str, str, bytes] | None  # filename, declared content type, bytes
    request_id: str = ""


class Tickets:
    def __init__(self, database: Database, *, support_mailbox: str, max_open_per_email: int = 5,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = database
        self.support_mailbox = support_mailbox
        self.max_open_per_email = max_open_per_email
        self.now = clock

    def uow(self, *, readonly: bool = False) -> SupportUnitOfWork:
        return SupportUnitOfWork(self.db, readonly=readonly)

    async def create(self, new: NewTicket, client: str = "") -> Ticket:
        v = Violations()
        if new.category not in Category.__members__:
            v.add("category", "must be one of " + ", ".join(Category.__members__))
        subject, text = validation.clean(new.subject), validation.clean(new.text)
        if err := validation.text_error(subject, max_length=200):
            v.add("subject", err)
        if err := validation.text_error(text, max_length=10_000, multiline=True):
            v.add("text", err)
        c = new.contact
        contact = Contact(validation.clean(c.name), c.email.strip(), c.phone.strip(), validation.clean(c.company),
                          c.identifier.strip()[:40], c.cofor.strip()[:40], validation.language_of(c.language) or "")
        for name, value in (("name", contact.name), ("company", contact.company)):
            if err := validation.text_error(value, max_length=200):
                v.add(f"contact.{name}", err)
        if err := validation.email_error(contact.email):
            v.add("contact.email", err)
        if err := validation.phone_error(contact.phone):
            v.add("contact.phone", err)
        for name, value in (("identifier", contact.identifier), ("cofor", contact.cofor)):
            if err := validation.text_error(value, required=False, max_length=40):
                v.add(f"contact.{name}", err)
        if not contact.language:
            v.add("contact.language", "must be fr or en")
        shot = None
        if new.screenshot is not None:
            filename, declared, data = new.screenshot
            try:
                shot = clean_screenshot(data, filename)
                if declared and declared != shot.content_type:
                    v.add("screenshot.content_type", f"says {declared[:40]} but the image is {shot.content_type}")
            except ScreenshotRejected as exc:
                v.add("screenshot.data", str(exc))
        if err := validation.request_id_error(new.request_id):
            v.add("request_id", err)
        v.raise_if_any()

        now = self.now()
        async with self.uow() as uow:
            if done := await uow.remembered("CreateTicket", new.request_id, owner=contact.email.lower()):
                return await self._load(uow, done)
            if client:
                await ratelimit.enforce(uow.session, CREATE_LIMIT, client)
            open_count = await uow.session.scalar(select(func.count()).select_from(tickets).where(
                tickets.c.contact_email == contact.email, tickets.c.status.in_([s.value for s in OPEN_STATUSES])))
            if (open_count or 0) >= self.max_open_per_email:
                raise ResourceExhausted("TOO_MANY_OPEN_TICKETS", "this address already has the maximum number of "
                                        "open requests; we will answer them first",
                                        metadata={"maxOpenTickets": str(self.max_open_per_email)})
            ref = reference(now.year, await self._next_number(uow, now.year))
            await uow.session.execute(tickets.insert().values(
                reference=ref, category=new.category, status=Status.NEW.value, subject=subject, text=text,
                contact_name=contact.name, contact_email=contact.email, contact_phone=contact.phone,
                contact_company=contact.company, contact_identifier=contact.identifier,
                contact_cofor=contact.cofor, language=contact.language, created_at=now, updated_at=now))
            if shot is not None:
                await uow.session.execute(ticket_screenshots.insert().values(
                    reference=ref, filename=shot.filename, content_type=shot.content_type, width=shot.width,
                    height=shot.height, data=shot.data))
            uow.remember("CreateTicket", new.request_id, ref, owner=contact.email.lower())
            ticket = await self._load(uow, ref)
            uow.publish("support.ticket.created", ev.TicketCreated(
                reference=ref, category=_category(new.category), subject=subject, has_screenshot=shot is not None,
                contact=pb.TicketContact(name=contact.name, email=contact.email, phone=contact.phone,
                                         company=contact.company, identifier=contact.identifier,
                                         cofor=contact.cofor, language=contact.language)))
            request_email(uow, template=Template.EMAIL_TEMPLATE_TICKET_TO_SUPPORT, to=[(self.support_mailbox, "")],
                          language="fr", reply_to=(contact.email, contact.name), params={
                              "reference": ref, "category": new.category, "subject": subject, "text": text,
                              "contact_name": contact.name, "contact_email": contact.email,
                              "contact_phone": contact.phone, "contact_company": contact.company,
                              "contact_identifier": contact.identifier, "contact_cofor": contact.cofor},
                          attachments=[("TICKET_SCREENSHOT", ref)] if shot is not None else [])
            request_email(uow, template=Template.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT,
                          to=[(contact.email, contact.name)], language=contact.language,
                          params={"reference": ref, "subject": subject})
            await uow.commit()
            return ticket

    async def _next_number(self, uow: SupportUnitOfWork, year: int) -> int:
        """Atomic per-year counter (upsert + RETURNING): replicas never hand out a reference twice."""
        stmt = upsert(uow.session, ticket_counters, {"year": year, "last": 1}, keys=["year"],
                      update={"last": ticket_counters.c.last + 1})
        return int((await uow.session.execute(stmt.returning(ticket_counters.c.last))).scalar_one())

    async def _load(self, uow: SupportUnitOfWork, ref: str) -> Ticket:
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
        return _ticket(row, dict(shot) if shot else None, [dict(r) for r in replies], [dict(c) for c in changes])

    async def get(self, ref: str) -> Ticket:
        async with self.uow(readonly=True) as uow:
            return await self._load(uow, ref.strip().upper())

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
            found = [await self._load(uow, r) for r in refs]
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
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_STATUS_CHANGED, status=_status(status),  # type: ignore[arg-type]
                previous_status=_status(previous.value), author=author))  # type: ignore[arg-type]
            updated = await self._load(uow, ticket.reference)
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
                reference=ticket.reference, kind=ev.TICKET_UPDATE_KIND_REPLY_ADDED,  # type: ignore[arg-type]
                status=_status(ticket.status.value), author=author))  # type: ignore[arg-type]
            request_email(uow, template=Template.EMAIL_TEMPLATE_TICKET_REPLY,
                          to=[(ticket.contact.email, ticket.contact.name)], language=ticket.contact.language,
                          params={"reference": ticket.reference, "subject": ticket.subject, "author": author,
                                  "text": text})
            updated = await self._load(uow, ticket.reference)
            await uow.commit()
            return updated

    async def _load_for_update(self, uow: SupportUnitOfWork, ref: str) -> Ticket:
        ref = ref.strip().upper()
        if self.db.is_postgres:
            await uow.session.execute(select(tickets.c.reference).where(tickets.c.reference == ref).with_for_update())
        return await self._load(uow, ref)


def _category(name: str) -> int:
    return pb.TicketCategory.Value(f"TICKET_CATEGORY_{name}")


def _status(name: str) -> int:
    return pb.TicketStatus.Value(f"TICKET_STATUS_{name}")


def _ticket(row: Any, shot: dict[str, Any] | None, replies: list[dict[str, Any]],
            changes: list[dict[str, Any]]) -> Ticket:
    return Ticket(reference=row["reference"], category=Category(row["category"]), status=Status(row["status"]),
                  subject=row["subject"], text=row["text"],
                  contact=Contact(row["contact_name"], row["contact_email"], row["contact_phone"],
                                  row["contact_company"], row["contact_identifier"], row["contact_cofor"],
                                  row["language"]),
                  created_at=row["created_at"], updated_at=row["updated_at"], screenshot=shot, replies=replies,
                  status_changes=changes)
