"""The support unit of work: one transaction over tickets, the mail spool and the rate counters, events into its
outbox. The use cases reach the database only through the repositories built here."""
from __future__ import annotations

from collections.abc import Callable

from kit.db import UnitOfWork

from support.adapters.orm import start_mappers
from support.adapters.repository import MailSpool, RateLimits, TicketRepository


class SupportUnitOfWork(UnitOfWork):
    producer = "support"

    def on_begin(self) -> None:
        start_mappers()
        self.tickets = TicketRepository(self.session)
        self.spool = MailSpool(self.session)
        self.rate_limits = RateLimits(self.session)


UnitOfWorkFactory = Callable[..., SupportUnitOfWork]  # (readonly=False) → a new unit of work
