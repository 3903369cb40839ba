"""The cofor unit of work: one transaction over the registry's tables, events into its outbox."""
from __future__ import annotations

from sqlalchemy import select

from kit.db import UnitOfWork

from cofor.adapters.orm import start_mappers
from cofor.domain.access import WAITING_STATUSES, AcceptanceLink, AccessRequest
from cofor.domain.model import Supplier
from cofor.domain.presentations import Presentation


class CoforUnitOfWork(UnitOfWork):
    producer = "cofor"

    def on_begin(self) -> None:
        start_mappers()

    async def presentation(self, presentation_id: str, *, for_update: bool = False) -> Presentation | None:
        query = select(Presentation).where(Presentation.id == presentation_id)  # type: ignore[arg-type]
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def claimant(self, duns: str) -> Presentation | None:
        """The confirmed, live file that holds this D-U-N-S, locked."""
        query = select(Presentation).where(Presentation.duns_claim == duns).with_for_update()  # type: ignore[arg-type]
        return (await self.session.scalars(query)).first()

    async def supplier(self, cofor_root: str, *, for_update: bool = False) -> Supplier | None:
        query = select(Supplier).where(Supplier.cofor_root == cofor_root)  # type: ignore[arg-type]
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def access_request(self, request_id: str) -> AccessRequest | None:
        return await self.session.get(AccessRequest, request_id) if request_id else None

    async def waiting_requests(self, cofor_root: str, *, for_update: bool = True) -> list[AccessRequest]:
        """The company's requests still waiting (under review, or with a link out), oldest first."""
        query = select(AccessRequest).where(
            AccessRequest.cofor_root == cofor_root,  # type: ignore[arg-type]
            AccessRequest.status.in_([s.value for s in WAITING_STATUSES]))  # type: ignore[attr-defined]
        query = query.order_by(AccessRequest.created_at)  # type: ignore[attr-defined]
        if for_update:
            query = query.with_for_update()
        return list((await self.session.scalars(query)).all())

    async def waiting_past(self, moment: object) -> list[str]:
        """Roots of the suppliers with a waiting request past its expiry."""
        query = select(AccessRequest.cofor_root).distinct().where(  # type: ignore[call-overload]
            AccessRequest.status.in_([s.value for s in WAITING_STATUSES]),  # type: ignore[attr-defined]
            AccessRequest.expires_at <= moment)  # type: ignore[operator]
        return list((await self.session.scalars(query)).all())

    async def acceptance_link(self, token_digest: bytes, *, for_update: bool = False) -> AcceptanceLink | None:
        query = select(AcceptanceLink).where(AcceptanceLink.token_digest == token_digest)  # type: ignore[arg-type]
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def open_links(self, access_request_id: str) -> list[AcceptanceLink]:
        query = select(AcceptanceLink).where(
            AcceptanceLink.access_request_id == access_request_id,  # type: ignore[arg-type]
            AcceptanceLink.used_at.is_(None), AcceptanceLink.voided_at.is_(None))  # type: ignore[union-attr]
        return list((await self.session.scalars(query)).all())

    async def open_links_of(self, cofor_root: str) -> list[AcceptanceLink]:
        """Every link of the company still usable (any request)."""
        query = select(AcceptanceLink).where(
            AcceptanceLink.cofor_root == cofor_root,  # type: ignore[arg-type]
            AcceptanceLink.used_at.is_(None), AcceptanceLink.voided_at.is_(None))  # type: ignore[union-attr]
        return list((await self.session.scalars(query)).all())
