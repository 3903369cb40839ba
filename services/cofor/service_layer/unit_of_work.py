"""The cofor unit of work: one transaction over the registry's tables, events into its outbox. The use cases reach
the database only through the repositories built here (adapters/repository.py)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from kit.db import UnitOfWork

from cofor.adapters.orm import start_mappers
from cofor.adapters.repository import (
    AcceptanceLinkRepository,
    AccessRequestRepository,
    PresentationRepository,
    RateLimits,
    SupplierRepository,
)


class KeyTaken(Exception):
    """A row written by this unit of work takes a unique key another transaction took first (a D-U-N-S claimed by
    another file, a COFOR root drawn twice, a request id replayed at the same moment)."""


class CoforUnitOfWork(UnitOfWork):
    producer = "cofor"

    def on_begin(self) -> None:
        start_mappers()
        self.presentations = PresentationRepository(self.session)
        self.suppliers = SupplierRepository(self.session)
        self.requests = AccessRequestRepository(self.session)
        self.links = AcceptanceLinkRepository(self.session)
        self.rate_limits = RateLimits(self.session)

    async def flush(self) -> None:
        """Writes what changed so far, within the transaction (a row others refer to, a D-U-N-S released before it
        is claimed again). Raises KeyTaken when a unique key is another transaction's."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise KeyTaken(str(exc.orig)) from exc


UnitOfWorkFactory = Callable[..., CoforUnitOfWork]  # (readonly=False) → a new unit of work
