"""Rate limits counted in the service database, so every replica sees the same counts."""
from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.errors import ResourceExhausted
from kit.tables import RateCounter

_COUNTERS = cast(Table, RateCounter.__table__)


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
    [used] = await hit_many(session, [(limit, subject)], now=now)
    return used


async def hit_many(session: AsyncSession, calls: Sequence[tuple[Limit, str]], *,
                   now: float | None = None) -> list[float]:
    """Count one call under each (limit, subject), as ``hit`` does, in one round-trip per window length: a
    multi-row upsert whose RETURNING also reads each key's previous window. Returns the counts in ``calls`` order."""
    moment = now or time.time()
    keys = [f"{limit.name}:{subject}"[:200] for limit, subject in calls]
    used: dict[int, float] = {}
    batches: dict[int, list[int]] = {}
    for i, (limit, _) in enumerate(calls):
        batch = batches.setdefault(limit.window_seconds, [])
        if any(keys[j] == keys[i] for j in batch):  # one row cannot be upserted twice in one statement
            batch = batches.setdefault(-i - 1, [])  # a batch of its own (negative: never a real window length)
        batch.append(i)
    for indexes in batches.values():
        seconds = calls[indexes[0]][0].window_seconds
        window = int(moment // seconds) * seconds
        counted = await _count(session, [keys[i] for i in indexes], window, seconds)
        still_inside = 1 - (moment - window) / seconds
        for i in indexes:
            current, previous = counted[keys[i]]
            used[i] = current + previous * still_inside
    return [used[i] for i in range(len(calls))]


async def _count(session: AsyncSession, keys: list[str], window: int, seconds: int) -> dict[str, tuple[int, int]]:
    """key → (this window's count after this call, the previous window's count)."""
    params: dict[str, object] = {f"key{i}": key for i, key in enumerate(keys)}
    rows = (await session.execute(_counting(len(keys), seconds), {**params, "window": window})).all()
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}


@functools.lru_cache(maxsize=64)
def _counting(rows: int, seconds: int) -> Any:
    """The upsert of ``rows`` counters, written once per shape. As text: SQLAlchemy never caches the compiled form
    of a multi-row VALUES, and compiling it cost more CPU than running it on every login. The same SQL on SQLite
    (>= 3.35) and PostgreSQL; RETURNING names the table so that the subquery's correlation is unambiguous.
    ``seconds`` is an int, never user input."""
    t = f'"{_COUNTERS.name}"'
    values = ", ".join(f"(:key{i}, :window, 1)" for i in range(rows))
    return text(
        f'INSERT INTO {t} ("key", "window", "count") VALUES {values} '
        f'ON CONFLICT ("key", "window") DO UPDATE SET "count" = {t}."count" + 1 '
        f'RETURNING {t}."key", {t}."count", (SELECT earlier."count" FROM {t} AS earlier '
        f'WHERE earlier."key" = {t}."key" AND earlier."window" = {t}."window" - {int(seconds)})')


async def enforce(session: AsyncSession, limit: Limit, subject: str) -> None:
    """Count the call, refusing it with RESOURCE_EXHAUSTED past the limit."""
    if await hit(session, limit, subject) > limit.max_calls:
        raise _exhausted(limit)


def _exhausted(limit: Limit) -> ResourceExhausted:
    return ResourceExhausted("RATE_LIMITED", "too many requests; try again later",
                             metadata={"limit": limit.name, "retryAfterSeconds": str(limit.window_seconds)})


async def enforce_all(session: AsyncSession, calls: Sequence[tuple[Limit, str]]) -> None:
    """Count every call in one round-trip, refusing with RESOURCE_EXHAUSTED when any is past its limit."""
    for (limit, _), used in zip(calls, await hit_many(session, calls), strict=True):
        if used > limit.max_calls:
            raise _exhausted(limit)


async def within(session: AsyncSession, limit: Limit, subject: str) -> bool:
    """Count the call; True while ``subject`` is within the limit. Never refuses: for limits that a stranger could
    otherwise use to lock someone else out (the caller quietly does less past the limit)."""
    return await hit(session, limit, subject) <= limit.max_calls


async def purge(session: AsyncSession, older_than_seconds: int = 86_400) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window < time.time() - older_than_seconds))
