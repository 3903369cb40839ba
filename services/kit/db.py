"""Async SQLAlchemy engine for SQLite (embedded default) and PostgreSQL, and the unit of work.

SQLite runs in WAL mode (synchronous=NORMAL: a commit survives a crash of the process, not necessarily of the
machine); write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing on a lock upgrade. Read-only units of work use a deferred ``BEGIN``; a lone read (``read_rows``) none.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Self, cast

from sqlalchemy import Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# The unit of work writes the kit's tables; they depend only on kit.columns, never on this module, so no cycle.
from kit.messaging.tables import InboxEntry, OutboxMessage, outbox_values
from kit.sqlite_driver import OneTripConnection, OneTripDBAPI
from kit.tables import IdempotencyKey

_READONLY = "portal_readonly"
_NEW_OUTBOX_ROWS = cast(Table, OutboxMessage.__table__).insert()
_ONE_STATEMENT = "portal_one_statement"  # SQLite: no BEGIN/COMMIT around it (a lone statement is atomic)


class Database:
    """One database per service: an engine and the session factories built on it."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            ensure_sqlite_dir(url)
            kwargs.update(connect_args={"timeout": 30}, module=OneTripDBAPI())
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_sessions = async_sessionmaker(self.engine.execution_options(**{_READONLY: True}),
                                                 expire_on_commit=False, autoflush=False)
        self._lone_reads = self.engine.execution_options(**{_READONLY: True, _ONE_STATEMENT: True})
        # SQLite has one writer at a time. Queue this process's writers here, in order, instead of letting them
        # collide on the file lock and back off in SQLite's busy handler (sleeps of up to 100 ms).
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # Called after every commit that wrote outbox rows: the relay publishes at once instead of polling.
        self.commit_listeners: list[Callable[[], None]] = []

    def session(self, *, readonly: bool = False) -> AsyncSession:
        return (self._read_sessions if readonly else self._write_sessions)()

    async def read_rows(self, statement: Any, parameters: dict[str, Any] | None = None) -> list[Any]:
        """The rows of one read statement, outside any unit of work: on SQLite a single trip to the database (no
        transaction around it; one statement sees one snapshot anyway). For the relay, which reads after every
        commit."""
        async with self._lone_reads.connect() as connection:
            return list((await connection.execute(statement, parameters)).all())

    @contextlib.asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction outside a unit of work (relay bookkeeping); commits on success."""
        async with self._writer():
            async with self.session() as session, session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self.write_lock is None:
            yield
            return
        async with self.write_lock:
            yield

    def notify_committed(self) -> None:
        for listener in self.commit_listeners:
            listener()

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as connection:
                    await connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it otherwise).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if not options.get(_ONE_STATEMENT, False):  # a lone statement is atomic without BEGIN
            # Sent with the transaction's first statement: one trip to the database for both (kit/sqlite_driver.py).
            driver: OneTripConnection = conn.connection.dbapi_connection
            driver.begin_with_next_statement("BEGIN" if options.get(_READONLY, False) else "BEGIN IMMEDIATE")


class UnitOfWork:
    """One transaction: rolls back unless ``commit()`` is called; events go to the outbox in it.

    Services subclass it to expose their repositories, built on ``self.session``.
    """

    producer: str = "unknown"  # the service name written on every event this unit of work publishes

    def __init__(self, database: Database, *, readonly: bool = False) -> None:
        self.database = database
        self.readonly = readonly
        self.session: AsyncSession
        self._writer: contextlib.AbstractAsyncContextManager[None] | None = None
        self._committed = False
        self._wrote_events = False

    async def __aenter__(self) -> Self:
        self._writer = None if self.readonly else self.database._writer()
        if self._writer is not None:
            await self._writer.__aenter__()
        self.session = self.database.session(readonly=self.readonly)
        await self.session.begin()
        self._committed = False
        self._wrote_events = False
        self._outbox: list[dict[str, object]] = []
        self._after_commit: list[Callable[[], None]] = []
        self.on_begin()
        return self

    def on_begin(self) -> None:
        """Hook for subclasses: build repositories on ``self.session``."""

    async def __aexit__(self, *exc: object) -> None:
        # Closing without commit rolls the transaction back. Unlike rollback(), it leaves loaded objects
        # readable (detached, not expired), so a read-only or no-op unit of work can return what it loaded.
        try:
            await asyncio.shield(self.session.close())
        finally:
            if self._writer is not None:
                await self._writer.__aexit__(None, None, None)

    async def commit(self) -> None:
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._outbox:  # one prebuilt INSERT for every event of the transaction, in the order published
            await self.session.execute(_NEW_OUTBOX_ROWS, self._outbox)
            self._outbox = []
        await self.session.commit()
        self._committed = True
        if self._wrote_events:
            self.database.notify_committed()
        for callback in self._after_commit:
            callback()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this unit of work has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    async def rollback(self) -> None:
        await self.session.rollback()

    def publish(self, subject: str, message: Any) -> str:
        """Record an event in the outbox, in this transaction. Returns the event id."""
        row = outbox_values(subject, message, producer=self.producer)
        self._outbox.append(row)
        self._wrote_events = True
        return str(row["event_id"])

    async def record_processed(self, consumer: str, event_id: str) -> None:
        """Inbox entry for an event this transaction applies (idempotent consumers)."""
        self.session.add(InboxEntry(consumer=consumer, event_id=event_id))

    async def already_processed(self, consumer: str, event_id: str) -> bool:
        return await self.session.get(InboxEntry, (consumer, event_id)) is not None

    async def remembered(self, scope: str, request_id: str, *, owner: str = "") -> str | None:
        """AIP-155: the resource a previous call with this request_id produced, if any. ``owner`` binds the key to
        what the request is about (a company, an e-mail, a D-U-N-S…): the same id sent about something else is a new
        request, never a replay of someone else's answer (request ids travel in logs; they are not secrets)."""
        if not request_id:
            return None
        found = await self.session.get(IdempotencyKey, (_replay_scope(scope, owner), request_id))
        return found.resource_id if found else None

    def remember(self, scope: str, request_id: str, resource_id: str, *, owner: str = "") -> None:
        if request_id:
            self.session.add(IdempotencyKey(scope=_replay_scope(scope, owner), request_id=request_id,
                                            resource_id=resource_id))


def _replay_scope(scope: str, owner: str) -> str:
    return f"{scope}:{hashlib.sha256(owner.encode()).hexdigest()[:40]}" if owner else scope


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def default_sqlite_url(service: str) -> str:
    root = Path(os.environ.get("PORTAL_VAR_DIR", "var"))
    return f"sqlite+aiosqlite:///{root / 'db' / f'{service}.sqlite3'}"
