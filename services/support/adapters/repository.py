"""support's repositories: every statement its use cases need, on the unit of work's session (SQLite and PostgreSQL
alike). Tickets and spooled mails are the mapped domain objects (adapters/orm.py): loaded here, changed by their
own methods, written back when the unit of work commits."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session, undefer

from kit import ratelimit
from kit.dialect_upsert import upsert
from kit.errors import NotFound

from support.adapters.orm import mail_spool, ticket_counters, ticket_screenshots, tickets
from support.domain.mail import MailStatus, SpooledMail
from support.domain.tickets import OPEN_STATUSES, Screenshot, Ticket


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ref: str, *, for_update: bool = False) -> Ticket | None:
        query = select(Ticket).where(tickets.c.reference == ref)
        if for_update:  # PostgreSQL; SQLite's writers already queue on BEGIN IMMEDIATE
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def require(self, ref: str, *, for_update: bool = False) -> Ticket:
        """The ticket with this reference (as typed: case and spaces do not matter), or NOT_FOUND."""
        ref = ref.strip().upper()
        found = await self.get(ref, for_update=for_update)
        if found is None:
            raise NotFound("TICKET_NOT_FOUND", "no ticket with this reference", metadata={"reference": ref[:40]})
        return found

    def add(self, ticket: Ticket) -> None:
        self.session.add(ticket)

    async def next_number(self, year: int) -> int:
        """Atomic per-year counter (upsert + RETURNING): replicas never hand out a reference twice."""
        stmt = upsert(self.session, ticket_counters, {"year": year, "last": 1}, keys=["year"],
                      update={"last": ticket_counters.c.last + 1})
        return int((await self.session.execute(stmt.returning(ticket_counters.c.last))).scalar_one())

    async def open_count(self, flood_key: str) -> int:
        """How many open tickets count against this key (domain.tickets.flood_key)."""
        query = select(func.count()).select_from(tickets).where(
            tickets.c.flood_key == flood_key, tickets.c.status.in_([s.value for s in OPEN_STATUSES]))
        return int(await self.session.scalar(query) or 0)


class MailSpool:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, event_id: str) -> SpooledMail | None:
        return await self.session.get(SpooledMail, event_id)

    def add(self, mail: SpooledMail) -> None:
        self.session.add(mail)

    async def due(self, now: dt.datetime, limit: int, *, lock: bool = False) -> list[SpooledMail]:
        """Pending mails whose next attempt is due, oldest first. ``lock`` (PostgreSQL): rows another sender holds
        are skipped, so replicas sharing the spool never send the same mail."""
        query = (select(SpooledMail).where(mail_spool.c.status == MailStatus.PENDING.value,
                                           mail_spool.c.next_attempt_at <= now)
                 .order_by(mail_spool.c.created_at).limit(limit))
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await self.session.scalars(query)).all())

    def settle(self, mails: list[SpooledMail]) -> None:
        """Writes back the attempts recorded on these mails, whichever unit of work of this process read them."""
        for mail in mails:
            # On SQLite the mails were read by a reading unit of work still open: moved here, their changes kept.
            reader = object_session(mail)
            if reader is not None and reader is not self.session.sync_session:
                reader.expunge(mail)
            self.session.add(mail)

    async def screenshot(self, reference: str) -> Screenshot | None:
        """A ticket's screenshot with its image, for the mail that attaches it."""
        query = select(Screenshot).where(ticket_screenshots.c.reference == reference).options(undefer("*"))
        return (await self.session.scalars(query)).first()


class RateLimits:
    """Calls counted in the database, so every replica sees the same counts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enforce(self, limit: ratelimit.Limit, subject: str) -> None:
        """RESOURCE_EXHAUSTED when the subject is past the limit."""
        await ratelimit.enforce(self.session, limit, subject)
