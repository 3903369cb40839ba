"""An in-memory read model of every supplier, for the high-volume COFOR validation of internal systems.

Loaded once at start, then refreshed from ``suppliers.updated_at``: at once after a commit in this process, and
every ``poll_seconds`` for changes made by other replicas. A validation answer is therefore at most
``poll_seconds`` behind another replica's commit, and never behind this process's own.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from kit.aio import wait_any
from kit.clock import utcnow
from kit.db import Database

from cofor.adapters.repository import directory_rows

log = logging.getLogger(__name__)
# Rows are re-read from a little before the last refresh, so clock skew between replicas loses nothing.
OVERLAP = dt.timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Entry:
    legal_name: str
    status: str
    access_state: str
    head_office_site_code: str
    site_codes: frozenset[str]


class SupplierDirectory:
    def __init__(self, database: Database, *, poll_seconds: float = 1.0) -> None:
        self._db = database
        self._poll_seconds = poll_seconds
        self._entries: dict[str, Entry] = {}
        self._since: dt.datetime | None = None
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()
        # Commits seen in this process vs commits the directory has caught up with.
        self._requested = 0
        self._applied = 0
        self._caught_up = asyncio.Condition()
        database.commit_listeners.append(self._committed)

    def _committed(self) -> None:
        self._requested += 1
        self._wake.set()

    def is_current(self) -> bool:
        return self._applied >= self._requested and self.ready.is_set()

    async def current(self) -> None:
        """Wait until every commit made in this process so far is reflected (read-your-writes)."""
        target = self._requested
        async with self._caught_up:
            await self._caught_up.wait_for(lambda: self._applied >= target and self.ready.is_set())

    def get(self, root: str) -> Entry | None:
        return self._entries.get(root)

    def __len__(self) -> int:
        return len(self._entries)

    async def refresh(self) -> int:
        """Read suppliers changed since the last refresh (all of them the first time); returns how many."""
        started = utcnow()
        target = self._requested
        since = None if self._since is None else self._since - OVERLAP
        async with self._db.session(readonly=True) as session, session.begin():
            rows, codes = await directory_rows(session, since)
        for r in rows:
            self._entries[r.cofor_root] = Entry(r.legal_name, str(r.status), str(r.access_state),
                                                r.head_office_site_code, frozenset(codes.get(r.cofor_root, ())))
        self._since = started
        self.ready.set()
        async with self._caught_up:
            self._applied = max(self._applied, target)
            self._caught_up.notify_all()
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            await self.refresh()
            await wait_any(stop, self._wake, self._poll_seconds)
