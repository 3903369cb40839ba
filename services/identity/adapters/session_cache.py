"""An in-process cache of validated sessions: ValidateSession is called on every page view.

A session revoked in this process is evicted at once, and the revocation is broadcast on NATS (core
publish, subject ``_portal.identity.sessions_revoked``) so that every other replica evicts it within
milliseconds. Should a broadcast be lost (NATS away), ``ttl_seconds`` bounds how long another replica may
still accept the session (``SESSION_CACHE_SECONDS``; 0 turns the cache off).

A row read from the database before an eviction is never cached after it: a page view that read the session a
moment before it was ended would otherwise put it back for ``ttl_seconds`` (``loading`` / ``put(since=…)``).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client

log = logging.getLogger(__name__)
REVOKED_SUBJECT = "_portal.identity.sessions_revoked"


@dataclass
class CachedSession:
    row: dict[str, Any]  # the session columns joined with the account's
    loaded_at: float


class SessionCache:
    def __init__(self, ttl_seconds: float = 30.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._by_digest: dict[bytes, CachedSession] = {}
        self._evicted: dict[bytes | str, float] = {}  # digest or identifier → when last evicted (monotonic)
        self._nats: Client | None = None

    def get(self, digest: bytes) -> dict[str, Any] | None:
        if self.ttl <= 0:
            return None
        entry = self._by_digest.get(digest)
        if entry is None or time.monotonic() - entry.loaded_at > self.ttl:
            return None
        return entry.row

    @staticmethod
    def loading() -> float:
        """Taken before a row is read from the database, given back to ``put`` as ``since``."""
        return time.monotonic()

    def put(self, digest: bytes, row: dict[str, Any], since: float | None = None) -> None:
        """Cache ``row``, unless its session or account was evicted after ``since`` (when the read began)."""
        if self.ttl <= 0:
            return
        if since is not None and max(self._evicted.get(digest, -1.0),
                                     self._evicted.get(row["identifier"], -1.0)) >= since:
            return
        if len(self._by_digest) >= self.max_entries:
            self._by_digest.clear()  # crude but bounded; entries live seconds anyway
        self._by_digest[digest] = CachedSession(row, time.monotonic())

    def _mark(self, keys: Iterable[bytes | str]) -> None:
        now = time.monotonic()
        if len(self._evicted) >= self.max_entries:  # a read lasts far less than the TTL: older marks are moot
            self._evicted = {k: t for k, t in self._evicted.items() if now - t < self.ttl}
        for key in keys:
            self._evicted[key] = now

    def evict(self, digest: bytes) -> None:
        self._mark([digest])
        self._by_digest.pop(digest, None)

    def evict_identifiers(self, identifiers: list[str]) -> None:
        wanted = set(identifiers)
        self._mark(wanted)
        for digest in [d for d, e in self._by_digest.items() if e.row["identifier"] in wanted]:
            del self._by_digest[digest]

    def revoked(self, identifiers: list[str]) -> None:
        """After a revocation committed: evict here, and tell the other replicas."""
        self.evict_identifiers(identifiers)
        if self._nats is not None and self._nats.is_connected and identifiers:
            payload = json.dumps(identifiers).encode()
            asyncio.get_running_loop().create_task(self._publish(payload))

    async def _publish(self, payload: bytes) -> None:
        try:
            assert self._nats is not None
            await self._nats.publish(REVOKED_SUBJECT, payload)
        except Exception as exc:  # the TTL still bounds the staleness
            log.warning("could not broadcast a session revocation: %r", exc)

    async def listen(self, nats: Client, stop: asyncio.Event) -> None:
        """Evict what other replicas revoke, until ``stop``."""
        async def on_message(msg: Any) -> None:
            try:
                self.evict_identifiers([str(i) for i in json.loads(msg.data)])
            except (ValueError, TypeError):
                pass

        self._nats = nats
        sub = await nats.subscribe(REVOKED_SUBJECT, cb=on_message)
        try:
            await stop.wait()
        finally:
            self._nats = None
            await sub.unsubscribe()
