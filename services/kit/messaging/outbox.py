"""Transactional outbox: rows written with the change, published by a relay after commit.

The relay marks a row published only after JetStream acknowledged it; publishing again after a crash is
harmless because the message id is the event id and the stream drops duplicates inside its window.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import bindparam, delete, select, update

from kit.backoff import Backoff
from kit.clock import utcnow
from kit.db import Database
from kit.messaging.tables import OutboxMessage

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes pending outbox rows to JetStream in order, in pipelined batches.

    Woken by every commit that wrote events (same process) and by a poll for rows written elsewhere or left
    by a crash. On PostgreSQL several relays share the table through ``FOR UPDATE SKIP LOCKED`` and rows are
    marked in the claiming transaction. On SQLite (one process, one relay) the relay remembers how far it has
    published and marks rows in bulk about once a second, so an event costs no write of its own; after a
    crash the unmarked tail is published again and JetStream drops the copies (same ``Nats-Msg-Id``).
    """

    MARK_EVERY_SECONDS = 1.0
    MARK_EVERY_ROWS = 1000

    def __init__(self, database: Database, *, batch_size: int = 500, poll_seconds: float = 1.0,
                 publish_timeout: float = 5.0, keep_published: dt.timedelta = dt.timedelta(days=7)) -> None:
        self._db = database
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._publish_timeout = publish_timeout
        self._keep_published = keep_published
        self._wake = asyncio.Event()
        self._last_purge = 0.0
        database.commit_listeners.append(self.wake)
        self.published_total = 0
        self._published_upto = 0  # SQLite: every row up to this position is published (maybe not yet marked)
        self._unmarked: list[int] = []
        self._last_flush = time.monotonic()
        # Built once, and only the columns publishing needs (no ORM objects): this runs after every commit.
        self._pending_rows = (select(OutboxMessage.position, OutboxMessage.subject, OutboxMessage.payload,
                                     OutboxMessage.headers).where(OutboxMessage.published_at.is_(None))
                              .order_by(OutboxMessage.position).limit(batch_size))
        self._claim = self._pending_rows.with_for_update(skip_locked=True)
        self._pending_after = self._pending_rows.where(OutboxMessage.position > bindparam("after"))

    def wake(self) -> None:
        self._wake.set()

    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        backoff = Backoff()
        # Stopping wakes the relay too, so that each round waits on one event (no tasks made per round).
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self._wake.set())
        try:
            await self._run(js, stop, backoff)
        finally:
            stopping.cancel()

    async def _run(self, js: JetStreamContext, stop: asyncio.Event, backoff: Backoff) -> None:
        while not stop.is_set():
            # Cleared before reading, so a commit landing while this batch is read still wakes the next round.
            self._wake.clear()
            try:
                sent = await self.publish_batch(js)
                backoff.reset()
                await self._maybe_purge()
            except Exception as exc:  # NATS or database unavailable: keep the rows, try again later
                log.warning("outbox relay could not publish; will retry", extra={"error": repr(exc)})
                sent = 0
                await backoff.pause(stop)
                continue
            if sent < self._batch_size:
                pause = min(self._poll_seconds, self.MARK_EVERY_SECONDS) if self._unmarked else self._poll_seconds
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
        try:
            await self.flush_marks()
        except Exception as exc:  # unmarked rows are published again at the next start; JetStream dedupes
            log.warning("outbox relay could not record its last marks", extra={"error": repr(exc)})

    async def publish_batch(self, js: JetStreamContext) -> int:
        """Publish one batch of pending rows; returns how many were acknowledged."""
        if self._db.is_postgres:
            # Claim, publish and mark in one transaction: the row locks keep other relays off these rows.
            async with self._db.session() as session, session.begin():
                rows = (await session.execute(self._claim)).all()
                acked = await self._publish(js, rows)
                await self._mark(session, acked)
            return len(acked)
        # SQLite: read past what this relay already published, publish, and mark later in bulk.
        rows = await self._db.read_rows(self._pending_after, {"after": self._published_upto})
        acked = await self._publish(js, rows)
        done = set(acked)
        for row in rows:  # advance over the acknowledged prefix; a failed row is retried from there
            if row.position not in done:
                break
            self._published_upto = row.position
        self._unmarked += acked
        if self._unmarked and (len(self._unmarked) >= self.MARK_EVERY_ROWS
                               or time.monotonic() - self._last_flush >= self.MARK_EVERY_SECONDS):
            await self.flush_marks()
        return len(acked)

    async def flush_marks(self) -> None:
        """Record the publications not yet marked (SQLite); a no-op on PostgreSQL."""
        self._last_flush = time.monotonic()
        if not self._unmarked:
            return
        positions, self._unmarked = self._unmarked, []
        try:
            async with self._db.write_transaction() as session:
                await self._mark(session, positions)
        except BaseException:
            self._unmarked = positions + self._unmarked
            raise

    async def _publish(self, js: JetStreamContext, rows: Any) -> list[int]:
        if not rows:
            return []
        futures = [await js.publish_async(row.subject, row.payload, headers=dict(row.headers)) for row in rows]
        done, pending = await asyncio.wait(futures, timeout=self._publish_timeout)
        for future in pending:
            future.cancel()
        acked = []
        for row, future in zip(rows, futures, strict=True):
            if future in done and future.exception() is None:
                acked.append(row.position)
        failed = len(rows) - len(acked)
        self.published_total += len(acked)
        if failed:
            log.warning("outbox relay: %d of %d publishes not acknowledged", failed, len(rows))
            if not acked:
                raise RuntimeError("no publish acknowledged")
        return acked

    @staticmethod
    async def _mark(session: Any, positions: list[int]) -> None:
        if positions:
            await session.execute(update(OutboxMessage).where(OutboxMessage.position.in_(positions))
                                  .values(published_at=utcnow()))

    async def _maybe_purge(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        cutoff = utcnow() - self._keep_published
        async with self._db.write_transaction() as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.published_at < cutoff))

