"""A support service layer on the fakes: the tickets' use cases, the intake and the mailer on one in-memory store."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from kit.db import Database
from kit.sealed import SealKeyPair
from tests.unit.support.fakes import FakeSmtp, Store, unit_of_work

from support.adapters.mail_renderer import MailRenderer
from support.adapters.smtp import SmtpPool
from support.domain.mail import SpooledMail
from support.domain.screenshots import CleanScreenshot
from support.domain.tickets import Contact, Requester
from support.service_layer.intake import NewTicket, TicketIntake
from support.service_layer.mailer import Mailer
from support.service_layer.screenshots import ScreenshotDecoder
from support.service_layer.tickets import Tickets

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
MAILBOX = "helpdesk@portal.example"
PROVEN = Requester("203.0.113.9", "V123456", "12345A")
SEAL = SealKeyPair.generate()


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class FakeDecoder:
    """Every image is a 640×480 PNG; the real decoder is tested in tests/integration/support."""

    async def clean(self, data: bytes, filename: str, *, proven: bool = False) -> CleanScreenshot:
        return CleanScreenshot(filename, "image/png", data, 640, 480)


@dataclass
class FakeDatabase:
    is_postgres: bool = False  # the mailer's SQLite path: read, then write each chunk
    commit_listeners: list[Any] = field(default_factory=list)


@dataclass
class World:
    store: Store
    clock: Clock
    tickets: Tickets
    intake: TicketIntake
    smtp: FakeSmtp
    mailer: Mailer

    async def open(self, requester: Requester = Requester("198.51.100.7"), **changes: Any) -> str:
        return (await self.intake.create(new_ticket(**changes), requester)).reference


def world(*, max_open: int = 5) -> World:
    store, clock, smtp = Store(), Clock(), FakeSmtp()
    uow = unit_of_work(store)
    tickets = Tickets(uow, support_mailbox=MAILBOX, clock=clock)
    intake = TicketIntake(tickets, cast(ScreenshotDecoder, FakeDecoder()), max_open_per_email=max_open,
                          max_open_per_identifier=max_open)
    mailer = Mailer(cast(Database, FakeDatabase()), MailRenderer("https://portal.example"), cast(SmtpPool, smtp),
                    seal_private_key=SEAL.private_key, mail_from="Portail B2B <no-reply@portal.example>", clock=clock,
                    uow=uow)
    return World(store, clock, tickets, intake, smtp, mailer)


def new_ticket(**changes: Any) -> NewTicket:
    values: dict[str, Any] = dict(
        category="LOGIN_PROBLEM", subject="Cannot log in", text="My password is refused since Monday.",
        contact=Contact("Claire Martin", "claire.martin@forges.example", "+33 3 83 00 00 00", "Forges SA",
                        language="en"),
        screenshot=None, request_id="")
    return NewTicket(**{**values, **changes})


def spooled(row: dict[str, Any]) -> SpooledMail:
    """A spool entry from the columns a test cares about."""
    defaults: dict[str, Any] = dict(language="fr", reply_to=None, params={}, sealed_secrets=b"", attachments=[],
                                    created_at=NOW, next_attempt_at=NOW)
    return SpooledMail(**{**defaults, **row})
