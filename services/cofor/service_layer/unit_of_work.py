"""The cofor unit of work: one transaction over the registry's tables, events into its outbox."""
from __future__ import annotations

from sqlalchemy import select

from kit.db import UnitOfWork

from cofor.adapters.orm import acceptance_links, access_requests, presentations, start_mappers, suppliers
from cofor.domain.access import WAITING_STATUSES, AcceptanceLink, AccessRequest
from cofor.domain.model import Supplier
from cofor.domain.presentations import Presentation


class CoforUnitOfWork(UnitOfWork):
    producer = "cofor"

    def on_begin(self) -> None:
        start_mappers()

    async def presentation(self, presentation_id: str, *, for_update: bool = False) -> Presentation | None:
        query = select(Presentation).where(presentations.c.id == presentation_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def claimant(self, duns: str) -> Presentation | None:
        """The confirmed, live file that holds this D-U-N-S, locked."""
        query = select(Presentation).where(presentations.c.duns_claim == duns).with_for_update()
        return (await self.session.scalars(query)).first()

    async def supplier(self, cofor_root: str, *, for_update: bool = False) -> Supplier | None:
        query = select(Supplier).where(suppliers.c.cofor_root == cofor_root)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def access_request(self, request_id: str) -> AccessRequest | None:
        return await self.session.get(AccessRequest, request_id) if request_id else None

    async def waiting_requests(self, cofor_root: str, *, for_update: bool = True) -> list[AccessRequest]:
        """The company's requests still waiting (under review, or with a link out), oldest first."""
        query = select(AccessRequest).where(
            access_requests.c.cofor_root == cofor_root,
            access_requests.c.status.in_([s.value for s in WAITING_STATUSES]))
        query = query.order_by(access_requests.c.created_at)
        if for_update:
            query = query.with_for_update()
        return list((await self.session.scalars(query)).all())

    async def waiting_past(self, moment: object) -> list[str]:
        """Roots of the suppliers with a waiting request past its expiry."""
        query = select(access_requests.c.cofor_root).distinct().where(
            access_requests.c.status.in_([s.value for s in WAITING_STATUSES]),
            access_requests.c.expires_at <= moment)
        return list((await self.session.scalars(query)).all())

    async def acceptance_link(self, token_digest: bytes, *, for_update: bool = False) -> AcceptanceLink | None:
        query = select(AcceptanceLink).where(acceptance_links.c.token_digest == token_digest)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def open_links(self, access_request_id: str) -> list[AcceptanceLink]:
        query = select(AcceptanceLink).where(
            acceptance_links.c.access_request_id == access_request_id,
            acceptance_links.c.used_at.is_(None), acceptance_links.c.voided_at.is_(None))
        return list((await self.session.scalars(query)).all())

    async def open_links_of(self, cofor_root: str) -> list[AcceptanceLink]:
        """Every link of the company still usable (any request)."""
        query = select(AcceptanceLink).where(
            acceptance_links.c.cofor_root == cofor_root,
            acceptance_links.c.used_at.is_(None), acceptance_links.c.voided_at.is_(None))
        return list((await self.session.scalars(query)).all())
