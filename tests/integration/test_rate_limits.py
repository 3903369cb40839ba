"""Database-counted rate limits, on SQLite and PostgreSQL: the window slides, so a boundary lets no burst through."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kit import ratelimit
from kit.db import Database
from testing.notes import migrated_database

GUESSES = ratelimit.Limit("guesses", 10, 60)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await migrated_database(database_url)
    yield database
    await database.dispose()


async def calls(db: Database, at: float, times: int = 1) -> float:
    async with db.session() as session, session.begin():
        for _ in range(times):
            used = await ratelimit.hit(session, GUESSES, "V000042", now=at)
    return used


async def test_a_window_boundary_lets_no_second_burst_through(db: Database) -> None:
    start = 6_000_000.0  # a window boundary (a multiple of 60)
    assert await calls(db, start + 59, times=10) <= GUESSES.max_calls  # ten guesses at 59 s: all within the limit
    assert await calls(db, start + 61) > GUESSES.max_calls  # the eleventh, two seconds later, in the next window


async def test_calls_a_whole_window_ago_no_longer_count(db: Database) -> None:
    start = 6_000_000.0
    await calls(db, start + 1, times=10)
    assert await calls(db, start + 59) > GUESSES.max_calls
    assert await calls(db, start + 60 + 59) <= 2  # a window later the earlier calls weigh almost nothing
    assert await calls(db, start + 180) == 1  # two windows later they are gone


async def test_subjects_are_counted_apart(db: Database) -> None:
    await calls(db, 6_000_030.0, times=10)
    async with db.session() as session, session.begin():
        assert await ratelimit.hit(session, GUESSES, "V000043", now=6_000_030.0) == 1
