"""Reads for purchasing and internal systems (ListPresentations, ListSuppliers): queries straight to the tables,
nothing changed, in a read-only unit of work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kit.errors import FieldViolation, InvalidArgument
from kit.paging import page_of

from cofor.adapters.orm import presentations, start_mappers, suppliers
from cofor.domain.codes import normalize_duns
from cofor.domain.model import Supplier
from cofor.domain.presentations import Presentation
from cofor.service_layer.unit_of_work import UnitOfWorkFactory


class Views:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        start_mappers()  # the queries select the mapped classes before any unit of work opens
        self.uow = uow

    async def list_presentations(self, state: str, duns: str, page_size: int,
                                 page_token: str) -> tuple[list[Presentation], str]:
        """Newest first, filtered by state and D-U-N-S."""
        page = page_of(page_size, page_token, state=state, duns=duns)
        column = presentations.c
        query = select(Presentation).order_by(column.created_at.desc(), column.id.desc())
        if state:
            query = query.where(column.state == state)
        if duns:
            try:
                query = query.where(column.duns == normalize_duns(duns))
            except ValueError as exc:
                raise InvalidArgument([FieldViolation("duns", str(exc))]) from None
        if page.after:
            created, ident = page.after
            query = query.where((column.created_at < dt.datetime.fromisoformat(created)) | (
                (column.created_at == dt.datetime.fromisoformat(created)) & (column.id < ident)))
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.scalars(query.limit(page.size))).all())
        last = [rows[-1].created_at.isoformat(), rows[-1].id] if rows else None
        return rows, page.next_token(last, len(rows))

    async def list_suppliers(self, status: str, access_state: str, page_size: int,
                             page_token: str) -> tuple[list[Supplier], str]:
        """By COFOR root, filtered by status and portal-access state."""
        page = page_of(page_size, page_token, status=status, access_state=access_state)
        query = select(Supplier).order_by(suppliers.c.cofor_root)
        if status:
            query = query.where(suppliers.c.status == status)
        if access_state:
            query = query.where(suppliers.c.access_state == access_state)
        if page.after:
            query = query.where(suppliers.c.cofor_root > page.after)
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.scalars(query.limit(page.size))).all())
        return rows, page.next_token(rows[-1].cofor_root if rows else None, len(rows))
