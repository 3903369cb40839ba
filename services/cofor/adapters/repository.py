"""cofor's repositories: every statement its use cases need, on the unit of work's session (SQLite and PostgreSQL
alike). Company files, suppliers (with their sites), access requests and acceptance links are the mapped domain
objects (adapters/orm.py): loaded here, changed by their own methods, written back when the unit of work commits.
``for_update`` takes the row lock on PostgreSQL (SQLite's writers already queue on BEGIN IMMEDIATE)."""
from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit import ratelimit

from cofor.adapters.orm import acceptance_links, access_requests, presentations, sites, suppliers
from cofor.domain.access import WAITING_STATUSES, AcceptanceLink, AccessRequest
from cofor.domain.model import Supplier
from cofor.domain.presentations import (
    HELD_LIFETIME,
    IDLE_DRAFT_LIFETIME,
    UNCONFIRMED_LIFETIME,
    Presentation,
    PresentationState,
)

_WAITING = [s.value for s in WAITING_STATUSES]


class PresentationRepository:
    """The company files."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, presentation_id: str, *, for_update: bool = False) -> Presentation | None:
        query = select(Presentation).where(presentations.c.id == presentation_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def claimant(self, duns: str) -> Presentation | None:
        """The confirmed (or held), live file that holds this D-U-N-S, locked."""
        query = select(Presentation).where(presentations.c.duns_claim == duns).with_for_update()
        return (await self.session.scalars(query)).first()

    def add(self, presentation: Presentation) -> None:
        self.session.add(presentation)

    async def expire_due(self, now: dt.datetime) -> int:
        """Every draft past its lifetime (unconfirmed for UNCONFIRMED_LIFETIME — HELD_LIFETIME when purchasing opened it
        for the company —, or confirmed and idle) lapses, in one
        statement; returns how many."""
        c = presentations.c
        due = (c.state == PresentationState.DRAFT.value) & (
            (c.confirmed_at.is_(None) & (c.started_by == "") & (c.created_at <= now - UNCONFIRMED_LIFETIME))
            | (c.confirmed_at.is_(None) & (c.started_by != "") & (c.created_at <= now - HELD_LIFETIME))
            | (c.confirmed_at.is_not(None) & (c.updated_at <= now - IDLE_DRAFT_LIFETIME)))
        result = await self.session.execute(update(presentations).where(due).values(
            state=PresentationState.EXPIRED.value, duns_claim=None, decided_at=now, updated_at=now))
        return int(cast("CursorResult[Any]", result).rowcount or 0)  # an UPDATE's result


class SupplierRepository:
    """The referenced suppliers, each loaded with its sites (the sites are written with their supplier)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, cofor_root: str, *, for_update: bool = False) -> Supplier | None:
        query = select(Supplier).where(suppliers.c.cofor_root == cofor_root)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def exists(self, cofor_root: str) -> bool:
        """Whether the root was ever allocated (roots are never deleted)."""
        return await self.session.scalar(select(suppliers.c.cofor_root).where(
            suppliers.c.cofor_root == cofor_root)) is not None

    async def holds_duns(self, duns: str) -> bool:
        """Whether a supplier was referenced with this D-U-N-S."""
        return await self.session.scalar(select(suppliers.c.cofor_root).where(suppliers.c.duns == duns)) is not None

    def add(self, supplier: Supplier) -> None:
        self.session.add(supplier)


class AccessRequestRepository:
    """The companies' portal-access requests."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, request_id: str) -> AccessRequest | None:
        return await self.session.get(AccessRequest, request_id) if request_id else None

    async def waiting(self, cofor_root: str, *, for_update: bool = True) -> list[AccessRequest]:
        """The company's requests still waiting (under review, or with a link out), oldest first."""
        query = select(AccessRequest).where(access_requests.c.cofor_root == cofor_root,
                                            access_requests.c.status.in_(_WAITING))
        query = query.order_by(access_requests.c.created_at)
        if for_update:
            query = query.with_for_update()
        return list((await self.session.scalars(query)).all())

    async def companies_waiting_past(self, moment: dt.datetime) -> list[str]:
        """Roots of the suppliers with a waiting request past its expiry."""
        query = select(access_requests.c.cofor_root).distinct().where(
            access_requests.c.status.in_(_WAITING), access_requests.c.expires_at <= moment)
        return list((await self.session.scalars(query)).all())

    def add(self, request: AccessRequest) -> None:
        self.session.add(request)


class AcceptanceLinkRepository:
    """The one-time links mailed to signatories, known by their token's digest only."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, token_digest: bytes, *, for_update: bool = False) -> AcceptanceLink | None:
        query = select(AcceptanceLink).where(acceptance_links.c.token_digest == token_digest)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def open_of_request(self, access_request_id: str) -> list[AcceptanceLink]:
        """The request's links still usable (neither used nor voided)."""
        return await self._open(acceptance_links.c.access_request_id == access_request_id)

    async def open_of_company(self, cofor_root: str) -> list[AcceptanceLink]:
        """Every link of the company still usable (any request)."""
        return await self._open(acceptance_links.c.cofor_root == cofor_root)

    async def _open(self, which: Any) -> list[AcceptanceLink]:
        query = select(AcceptanceLink).where(which, acceptance_links.c.used_at.is_(None),
                                             acceptance_links.c.voided_at.is_(None))
        return list((await self.session.scalars(query)).all())

    def add(self, link: AcceptanceLink) -> None:
        self.session.add(link)


class RateLimits:
    """Calls counted in the database, so every replica sees the same counts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enforce(self, limit: ratelimit.Limit, subject: str) -> None:
        """Counts the call; RESOURCE_EXHAUSTED when the subject is past the limit."""
        await ratelimit.enforce(self.session, limit, subject)

    async def within(self, limit: ratelimit.Limit, subject: str) -> bool:
        """Counts the call; True while the subject is within the limit. Never refuses."""
        return await ratelimit.within(self.session, limit, subject)

    async def hit(self, limit: ratelimit.Limit, subject: str) -> float:
        """Counts the call; returns the calls made in the last window."""
        return await ratelimit.hit(self.session, limit, subject)


async def directory_rows(session: AsyncSession,
                         since: dt.datetime | None) -> tuple[list[Any], dict[str, set[str]]]:
    """The supplier directory's read (adapters/directory.py): the suppliers changed since ``since`` (every one when
    None), and the site codes of each."""
    query = select(suppliers.c.cofor_root, suppliers.c.legal_name, suppliers.c.status, suppliers.c.access_state,
                   suppliers.c.head_office_site_code)
    if since is not None:
        query = query.where(suppliers.c.updated_at >= since)
    rows = list((await session.execute(query)).all())
    codes: dict[str, set[str]] = {}
    if rows:
        site_query = select(sites.c.cofor_root, sites.c.site_code)
        if since is not None:
            site_query = site_query.where(sites.c.cofor_root.in_([r.cofor_root for r in rows]))
        for root, code in (await session.execute(site_query)).all():
            codes.setdefault(root, set()).add(code)
    return rows, codes
