"""The sessions table: opening, touching and ending sessions, and what their holder sees of them ("My sessions":
where each opened from, under a random public id — never the token nor its digest). Sessions are never deleted, so
the table is also the account's login history."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.adapters.orm import accounts, sessions
from identity.adapters.repository import _COMPANY_OPEN, _HAS_FACTOR
from identity.domain.devices import Device

_NEW_SESSION = sessions.insert()
_SHOWN = (sessions.c.token_digest, sessions.c.public_id, sessions.c.browser, sessions.c.operating_system,
          sessions.c.user_agent, sessions.c.client_address, sessions.c.created_at, sessions.c.last_active_at,
          sessions.c.expires_at)
_COMPLETE = sessions.c.second_factor_step != "VERIFY"  # a login waiting for its factor opens nothing yet


def _live(identifier: str, now: dt.datetime) -> list[Any]:
    return [sessions.c.identifier == identifier, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now,
            sessions.c.idle_expires_at > now]


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.opened: set[bytes] = set()  # never revoked by the changes of the unit of work that opened them

    async def add(self, digest: bytes, identifier: str, must_change: bool, now: dt.datetime,
                  expires: dt.datetime, idle: dt.datetime, *, step: str = "", amr: str = "pwd",
                  device: Device) -> None:
        await self.session.execute(_NEW_SESSION, dict(
            token_digest=digest, identifier=identifier, must_change_password=must_change, created_at=now,
            expires_at=expires, idle_expires_at=idle, revoked_at=None, second_factor_step=step, amr=amr,
            public_id=secrets.token_urlsafe(16), browser=device.browser, operating_system=device.operating_system,
            user_agent=device.user_agent, client_address=device.client_address, last_active_at=now))
        self.opened.add(digest)

    async def with_account(self, digest: bytes) -> dict[str, Any] | None:
        query = select(sessions, accounts, _COMPANY_OPEN, _HAS_FACTOR,
                       sessions.c.created_at.label("session_opened_at")).join(
            accounts, accounts.c.identifier == sessions.c.identifier).where(sessions.c.token_digest == digest)
        found = (await self.session.execute(query)).mappings().first()
        return dict(found) if found else None

    async def holder(self, digest: bytes) -> tuple[str, bool] | None:
        """(identifier, revoked) of a session, None when unknown."""
        row = (await self.session.execute(select(sessions.c.identifier, sessions.c.revoked_at).where(
            sessions.c.token_digest == digest))).first()
        return (row.identifier, row.revoked_at is not None) if row else None

    async def touch(self, digest: bytes, idle: dt.datetime, now: dt.datetime) -> None:
        """Activity: the idle expiry pushed, and the last activity ``now``."""
        await self.session.execute(update(sessions).where(sessions.c.token_digest == digest,
                                                          sessions.c.revoked_at.is_(None)).values(
            idle_expires_at=idle, last_active_at=now))

    async def revoke(self, digest: bytes, now: dt.datetime) -> None:
        await self.session.execute(update(sessions).where(sessions.c.token_digest == digest).values(revoked_at=now))

    async def revoke_live(self, digest: bytes, now: dt.datetime) -> bool:
        """Revoke it if it is still live (one conditional statement: of two racing callers, one only)."""
        return (await self.session.execute(update(sessions).where(
            sessions.c.token_digest == digest, sessions.c.revoked_at.is_(None)).values(revoked_at=now)
            .returning(sessions.c.identifier))).first() is not None

    def spare(self, digest: bytes) -> None:
        """Never revoked by the changes of this unit of work (the caller's own session)."""
        self.opened.add(digest)

    async def revoke_all(self, identifiers: list[str], now: dt.datetime) -> None:
        if not identifiers:
            return
        stmt = update(sessions).where(sessions.c.identifier.in_(identifiers), sessions.c.revoked_at.is_(None))
        if self.opened:
            stmt = stmt.where(sessions.c.token_digest.not_in(self.opened))
        await self.session.execute(stmt.values(revoked_at=now))

    # ---- what the holder sees of them ---------------------------------------------------------------------------

    async def live_of(self, identifier: str, now: dt.datetime) -> list[dict[str, Any]]:
        """The account's live sessions (not a login waiting for its factor), last active first."""
        rows = await self.session.execute(select(*_SHOWN).where(*_live(identifier, now), _COMPLETE).order_by(
            func.coalesce(sessions.c.last_active_at, sessions.c.created_at).desc(), sessions.c.public_id))
        return [dict(r) for r in rows.mappings()]

    async def live_named(self, identifier: str, public_id: str, now: dt.datetime) -> dict[str, Any] | None:
        """The account's live session of this public id; None for any other (another account's is as unknown)."""
        if not public_id:
            return None
        row = (await self.session.execute(select(*_SHOWN).where(
            *_live(identifier, now), _COMPLETE, sessions.c.public_id == public_id))).mappings().first()
        return dict(row) if row else None

    async def count_live(self, identifier: str, now: dt.datetime) -> int:
        """The account's live sessions but those spared (a login waiting for its factor counts: it ends too)."""
        query = select(func.count()).select_from(sessions).where(*_live(identifier, now))
        if self.opened:
            query = query.where(sessions.c.token_digest.not_in(self.opened))
        return int(await self.session.scalar(query) or 0)
