"""The SQLite driver (kit/sqlite_driver.py) keeps a transaction's meaning while it saves trips to aiosqlite's
thread: a write transaction holds the write lock from its first statement, a read-only one reads one snapshot, a
failed one leaves nothing and the next starts clean — and a statement is one trip, a committed transaction one more."""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kit.db import Database, UnitOfWork
from testing.notes import migrated_database

INSERT = text("INSERT INTO notes (id, text) VALUES (:id, :text)")
COUNT = text("SELECT count(*) FROM notes")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    yield database
    await database.dispose()


def file_of(db: Database) -> str:
    return db.url.split(":///", 1)[1]


async def count(db: Database) -> int:
    async with UnitOfWork(db, readonly=True) as uow:
        return int(await uow.session.scalar(COUNT) or 0)


async def test_a_failed_transaction_leaves_nothing_and_the_next_starts_clean(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with UnitOfWork(db) as uow:
            await uow.session.execute(INSERT, {"id": "a", "text": "kept only if committed"})
            await uow.session.execute(INSERT, {"id": "a", "text": "the same id again"})
    assert await count(db) == 0
    async with UnitOfWork(db) as uow:  # the same pooled connection: no transaction left open on it
        await uow.session.execute(INSERT, {"id": "b", "text": "committed"})
        await uow.commit()
    assert await count(db) == 1


async def test_a_write_transaction_holds_the_write_lock_from_its_first_statement(db: Database) -> None:
    other = sqlite3.connect(file_of(db), timeout=0, isolation_level=None)  # another process's writer, not waiting
    try:
        async with UnitOfWork(db) as uow:
            await uow.session.scalar(COUNT)  # a read first: BEGIN IMMEDIATE went with it
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await uow.commit()
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_read_only_unit_of_work_reads_one_snapshot(db: Database) -> None:
    writer = sqlite3.connect(file_of(db), isolation_level=None)
    try:
        async with UnitOfWork(db, readonly=True) as uow:
            assert await uow.session.scalar(COUNT) == 0
            writer.execute("INSERT INTO notes (id, text) VALUES ('c', 'written meanwhile')")
            assert await uow.session.scalar(COUNT) == 0  # the BEGIN went with the first read: one snapshot
        assert await count(db) == 1
    finally:
        writer.close()


async def test_each_statement_is_one_trip_and_a_commit_one_more(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await count(db)  # a connection in the pool
    trips: list[str] = []
    queue: Any = aiosqlite.Connection._execute  # untyped in aiosqlite

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with UnitOfWork(db) as uow:
        await uow.session.execute(INSERT, {"id": "d", "text": "one"})
        await uow.session.execute(INSERT, {"id": "e", "text": "two"})
        assert await uow.session.scalar(COUNT) == 2
        await uow.commit()
    assert trips == ["_run", "_run", "_run", "commit"]  # BEGIN with the first; closing after a commit: no trip
