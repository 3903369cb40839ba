"""In-memory stand-ins for support's unit of work and SMTP pool: the service layer runs without a database, NATS or
a mail server (cosmicpython's FakeUnitOfWork). What a use case adds or changes is kept only when it commits."""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from google.protobuf.message import Message

from kit import ratelimit
from kit.errors import NotFound, ResourceExhausted

from support.adapters.mail_message import Outgoing
from support.domain.mail import MailStatus, SpooledMail
from support.domain.tickets import OPEN_STATUSES, Screenshot, Ticket
from support.service_layer.unit_of_work import UnitOfWorkFactory


@dataclass
class Store:
    """What the database would hold, and what left it at commit."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    spool: dict[str, SpooledMail] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    numbers: dict[int, int] = field(default_factory=dict)
    remembered: dict[tuple[str, str, str], str] = field(default_factory=dict)
    published: list[tuple[str, Message]] = field(default_factory=list)  # committed, in order
    commits: int = 0

    def of(self, subject: str) -> list[Any]:
        return [m for s, m in self.published if s == subject]


class FakeTickets:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: dict[str, Ticket] = {}

    async def get(self, ref: str, *, for_update: bool = False) -> Ticket | None:
        if ref not in self.seen and ref in self.store.tickets:
            self.seen[ref] = copy.deepcopy(self.store.tickets[ref])
        return self.seen.get(ref)

    async def require(self, ref: str, *, for_update: bool = False) -> Ticket:
        ref = ref.strip().upper()
        found = await self.get(ref, for_update=for_update)
        if found is None:
            raise NotFound("TICKET_NOT_FOUND", "no ticket with this reference", metadata={"reference": ref[:40]})
        return found

    def add(self, ticket: Ticket) -> None:
        self.seen[ticket.reference] = ticket

    async def next_number(self, year: int) -> int:
        self.store.numbers[year] = self.store.numbers.get(year, 0) + 1  # the real counter commits with the ticket
        return self.store.numbers[year]

    async def open_count(self, flood_key: str) -> int:
        return sum(1 for t in self.store.tickets.values() if t.flood_key == flood_key and t.status in OPEN_STATUSES)


class FakeSpool:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: dict[str, SpooledMail] = {}

    async def get(self, event_id: str) -> SpooledMail | None:
        if event_id not in self.seen and event_id in self.store.spool:
            self.seen[event_id] = copy.deepcopy(self.store.spool[event_id])
        return self.seen.get(event_id)

    def add(self, mail: SpooledMail) -> None:
        self.seen[mail.event_id] = mail

    async def due(self, now: dt.datetime, limit: int, *, lock: bool = False) -> list[SpooledMail]:
        due = [copy.deepcopy(m) for m in self.store.spool.values()
               if m.status == MailStatus.PENDING and m.next_attempt_at <= now]
        return sorted(due, key=lambda m: m.created_at)[:limit]

    def settle(self, mails: list[SpooledMail]) -> None:
        for mail in mails:
            self.seen[mail.event_id] = mail

    async def screenshot(self, reference: str) -> Screenshot | None:
        ticket = self.store.tickets.get(reference)
        return ticket.screenshot if ticket else None


class FakeRateLimits:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def enforce(self, limit: ratelimit.Limit, subject: str) -> None:
        key = f"{limit.name}:{subject}"
        self.store.counters[key] = self.store.counters.get(key, 0) + 1  # counted even when refused, as in SQL
        if self.store.counters[key] > limit.max_calls:
            raise ResourceExhausted("RATE_LIMITED", "too many requests; try again later",
                                    metadata={"limit": limit.name, "retryAfterSeconds": str(limit.window_seconds)})


class FakeUnitOfWork:
    def __init__(self, store: Store, *, readonly: bool = False) -> None:
        self.store, self.readonly = store, readonly
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.tickets = FakeTickets(self.store)
        self.spool = FakeSpool(self.store)
        self.rate_limits = FakeRateLimits(self.store)
        self._published: list[tuple[str, Message]] = []
        self._remembered: list[tuple[tuple[str, str, str], str]] = []
        self._after_commit: list[Any] = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def publish(self, subject: str, message: Message) -> str:
        self._published.append((subject, message))
        return f"event-{len(self.store.published) + len(self._published)}"

    async def remembered(self, scope: str, request_id: str, *, owner: str = "") -> str | None:
        return self.store.remembered.get((scope, request_id, owner)) if request_id else None

    def remember(self, scope: str, request_id: str, resource: str, *, owner: str = "") -> None:
        if request_id:
            self._remembered.append(((scope, request_id, owner), resource))

    def on_commit(self, callback: Any) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        assert not self.readonly, "a read-only unit of work cannot commit"
        self.store.tickets.update({r: copy.deepcopy(t) for r, t in self.tickets.seen.items()})
        self.store.spool.update({i: copy.deepcopy(m) for i, m in self.spool.seen.items()})
        self.store.published += self._published
        self.store.remembered.update(dict(self._remembered))
        self.store.commits += 1
        self.committed = True
        for callback in self._after_commit:
            callback()


def unit_of_work(store: Store) -> UnitOfWorkFactory:
    """A factory as the service layer takes it: each call, a new fake unit of work on the same store."""
    return cast(UnitOfWorkFactory, lambda readonly=False: FakeUnitOfWork(store, readonly=readonly))


class FakeSmtp:
    """Accepts every mail, or refuses with the exception given."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.failure: Exception | None = None

    async def send(self, outgoing: Outgoing) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append(outgoing)
