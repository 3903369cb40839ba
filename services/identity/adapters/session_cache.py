"""A short-lived in-process cache of validated sessions: ValidateSession is called on every page view.

A session revoked in this process is evicted at once. A session revoked by another replica is refused here
at the latest ``ttl_seconds`` later (default 2 s; ``SESSION_CACHE_SECONDS=0`` turns the cache off).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class CachedSession:
    row: dict[str, Any]  # the session columns joined with the account's
    loaded_at: float


class SessionCache:
    def __init__(self, ttl_seconds: float = 2.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._by_digest: dict[bytes, CachedSession] = {}

    def get(self, digest: bytes) -> dict[str, Any] | None:
        if self.ttl <= 0:
            return None
        entry = self._by_digest.get(digest)
        if entry is None or time.monotonic() - entry.loaded_at > self.ttl:
            return None
        return entry.row

    def put(self, digest: bytes, row: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        if len(self._by_digest) >= self.max_entries:
            self._by_digest.clear()  # crude but bounded; entries live seconds anyway
        self._by_digest[digest] = CachedSession(row, time.monotonic())

    def evict(self, digest: bytes) -> None:
        self._by_digest.pop(digest, None)

    def evict_identifiers(self, identifiers: list[str]) -> None:
        wanted = set(identifiers)
        for digest in [d for d, e in self._by_digest.items() if e.row["identifier"] in wanted]:
            del self._by_digest[digest]
