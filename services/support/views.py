"""Reads for support's agents (GetTicket, ListTickets): queries straight to the tickets, nothing changed, in a
read-only unit of work."""
from __future__ import annotations

from sqlalchemy import select

from kit.paging import page_of

from support.adapters.orm import tickets as table
from support.domain.tickets import Category, Status, Ticket
from support.service_layer.unit_of_work import UnitOfWorkFactory


async def ticket(uow: UnitOfWorkFactory, ref: str) -> Ticket:
    async with uow(readonly=True) as unit:
        return await unit.tickets.require(ref)


async def tickets(uow: UnitOfWorkFactory, status: str, category: str, email: str, page_size: int,
                  page_token: str) -> tuple[list[Ticket], str]:
    """Newest first (references grow with time), filtered by status, category and the contact's exact e-mail."""
    page = page_of(page_size, page_token, status=status, category=category, email=email)
    query = select(Ticket).order_by(table.c.reference.desc())
    if status:
        query = query.where(table.c.status == Status(status))
    if category:
        query = query.where(table.c.category == Category(category))
    if email:
        query = query.where(table.c.contact_email == email.strip())
    if page.after:
        query = query.where(table.c.reference < page.after)
    async with uow(readonly=True) as unit:
        found = list((await unit.session.scalars(query.limit(page.size))).all())
    return found, page.next_token(found[-1].reference if found else None, len(found))
