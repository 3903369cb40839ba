"""Rate limits counted in the service database, so every replica sees the same counts."""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dialect_upsert import upsert
from kit.errors import ResourceExhausted
from kit.messaging.tables import RateCounter


@dataclass(frozen=True)
class Limit:
    name: str
    max_calls: int
    window_seconds: int


async def hit(session: AsyncSession, limit: Limit, subject: str, *, now: float | None = None) -> float:
    """Count one call for ``subject`` under ``limit``; returns the calls made in the last ``window_seconds``.

    A sliding window, estimated from this fixed window's count (atomic upsert) and the previous one's weighted by how
    much of it still lies within the last window: fixed windows alone would let twice the limit through across a
    boundary (ten guesses at 59 s, ten more at 61 s)."""
    moment = now or time.time()
    window = int(moment // limit.window_seconds) * limit.window_seconds
    key = f"{limit.name}:{subject}"[:200]
    stmt = upsert(session, RateCounter.__table__, {"key": key, "window": window, "count": 1},  # type: ignore[arg-type]
                  keys=["key", "window"], update={"count": RateCounter.count + 1})
    current = int((await session.execute(stmt.returning(RateCounter.count))).scalar_one())
    previous = (await session.execute(select(RateCounter.count).where(
        RateCounter.key == key, RateCounter.window == window - limit.window_seconds))).scalar_one_or_none() or 0
    still_inside = 1 - (moment - window) / limit.window_seconds
    return current + previous * still_inside


async def enforce(session: AsyncSession, limit: Limit, subject: str) -> None:
    """Count the call, refusing it with RESOURCE_EXHAUSTED past the limit."""
    if await hit(session, limit, subject) > limit.max_calls:
        raise ResourceExhausted("RATE_LIMITED", "too many requests; try again later",
                                metadata={"limit": limit.name, "retryAfterSeconds": str(limit.window_seconds)})


async def within(session: AsyncSession, limit: Limit, subject: str) -> bool:
    """Count the call; True while ``subject`` is within the limit. Never refuses: for limits that a stranger could
    otherwise use to lock someone else out (the caller quietly does less past the limit)."""
    return await hit(session, limit, subject) <= limit.max_calls


async def purge(session: AsyncSession, older_than_seconds: int = 86_400) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window < time.time() - older_than_seconds))
