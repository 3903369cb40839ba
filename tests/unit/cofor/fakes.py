"""In-memory stand-ins for cofor's unit of work and its repositories: the service layer runs without a database or
NATS (cosmicpython's FakeUnitOfWork). Each unit of work works on its own copies; what it added or changed, and the
calls it counted, are kept only when it commits."""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from google.protobuf.message import Message
from portal.support.v1 import events_pb2 as mail_events

from kit import ratelimit
from kit.errors import ResourceExhausted
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import unseal

from cofor.domain.access import AcceptanceLink, AccessRequest
from cofor.domain.model import Supplier
from cofor.domain.presentations import Presentation
from cofor.service_layer.unit_of_work import UnitOfWorkFactory

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass
class Store:
    """What the database would hold, and what left it at commit."""

    presentations: dict[str, Presentation] = field(default_factory=dict)
    suppliers: dict[str, Supplier] = field(default_factory=dict)
    requests: dict[str, AccessRequest] = field(default_factory=dict)
    links: dict[bytes, AcceptanceLink] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    remembered: dict[tuple[str, str, str], str] = field(default_factory=dict)
    published: list[tuple[str, Message]] = field(default_factory=list)  # committed, in order
    commits: int = 0

    def of(self, subject: str) -> list[Any]:
        return [m for s, m in self.published if s == subject]

    def mails(self, template: int, to: str = "") -> list[mail_events.EmailRequested]:
        return [m for m in self.of(EMAIL_SUBJECT)
                if m.template == template and (not to or any(r.address == to for r in m.to))]

    @staticmethod
    def secrets(mail: mail_events.EmailRequested, private_key: str) -> dict[str, str]:
        return unseal(private_key, mail.sealed_secrets)


class _Table(Generic[K, T]):
    """One table: rows loaded once per unit of work (the same object each time, as a session's identity map)."""

    def __init__(self, committed: dict[K, T], key: Callable[[T], K]) -> None:
        self.committed, self.key = committed, key
        self.seen: dict[K, T] = {}

    def _load(self, k: K) -> T | None:
        if k not in self.seen and k in self.committed:
            self.seen[k] = copy.deepcopy(self.committed[k])
        return self.seen.get(k)

    def _where(self, test: Callable[[T], bool]) -> list[T]:
        rows = [self._load(k) for k in dict.fromkeys([*self.committed, *self.seen])]
        return [r for r in rows if r is not None and test(r)]

    def add(self, row: T) -> None:
        self.seen[self.key(row)] = row

    def _commit(self) -> None:
        self.committed.update({k: copy.deepcopy(v) for k, v in self.seen.items()})


class FakePresentations(_Table[str, Presentation]):
    async def get(self, presentation_id: str, *, for_update: bool = False) -> Presentation | None:
        return self._load(presentation_id)

    async def claimant(self, duns: str) -> Presentation | None:
        return next(iter(self._where(lambda p: p.duns_claim == duns)), None)

    async def expire_due(self, now: dt.datetime) -> int:
        due = self._where(lambda p: p.is_due(now))
        for p in due:
            p.expire(now)
        return len(due)


class FakeSuppliers(_Table[str, Supplier]):
    async def get(self, cofor_root: str, *, for_update: bool = False) -> Supplier | None:
        return self._load(cofor_root)

    async def exists(self, cofor_root: str) -> bool:
        return self._load(cofor_root) is not None

    async def holds_duns(self, duns: str) -> bool:
        return bool(self._where(lambda s: s.duns == duns))


class FakeRequests(_Table[str, AccessRequest]):
    async def get(self, request_id: str) -> AccessRequest | None:
        return self._load(request_id) if request_id else None

    async def waiting(self, cofor_root: str, *, for_update: bool = True) -> list[AccessRequest]:
        found = self._where(lambda r: r.cofor_root == cofor_root and r.waiting)
        return sorted(found, key=lambda r: r.created_at)

    async def companies_waiting_past(self, moment: dt.datetime) -> list[str]:
        due = self._where(lambda r: r.waiting and r.expires_at is not None and r.expires_at <= moment)
        return list(dict.fromkeys(r.cofor_root for r in due))


class FakeLinks(_Table[bytes, AcceptanceLink]):
    async def get(self, token_digest: bytes, *, for_update: bool = False) -> AcceptanceLink | None:
        return self._load(token_digest)

    async def open_of_request(self, access_request_id: str) -> list[AcceptanceLink]:
        return self._where(lambda link: link.access_request_id == access_request_id and _usable(link))

    async def open_of_company(self, cofor_root: str) -> list[AcceptanceLink]:
        return self._where(lambda link: link.cofor_root == cofor_root and _usable(link))


def _usable(link: AcceptanceLink) -> bool:
    return link.used_at is None and link.voided_at is None


class FakeRateLimits:
    """Counted in the transaction, as in SQL: a call counts only if its unit of work commits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: dict[str, int] = {}

    async def hit(self, limit: ratelimit.Limit, subject: str) -> float:
        key = f"{limit.name}:{subject}"
        self.pending[key] = self.pending.get(key, 0) + 1
        return self.store.counters.get(key, 0) + self.pending[key]

    async def within(self, limit: ratelimit.Limit, subject: str) -> bool:
        return await self.hit(limit, subject) <= limit.max_calls

    async def enforce(self, limit: ratelimit.Limit, subject: str) -> None:
        if await self.hit(limit, subject) > limit.max_calls:
            raise ResourceExhausted("RATE_LIMITED", "too many requests; try again later",
                                    metadata={"limit": limit.name, "retryAfterSeconds": str(limit.window_seconds)})

    def _commit(self) -> None:
        for key, count in self.pending.items():
            self.store.counters[key] = self.store.counters.get(key, 0) + count


class FakeUnitOfWork:
    def __init__(self, store: Store, *, readonly: bool = False) -> None:
        self.store, self.readonly = store, readonly
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        s = self.store
        self.presentations = FakePresentations(s.presentations, lambda p: p.id)
        self.suppliers = FakeSuppliers(s.suppliers, lambda x: x.cofor_root)
        self.requests = FakeRequests(s.requests, lambda r: r.id)
        self.links = FakeLinks(s.links, lambda link: link.token_digest)
        self.rate_limits = FakeRateLimits(s)
        self._published: list[tuple[str, Message]] = []
        self._remembered: list[tuple[tuple[str, str, str], str]] = []
        self._after_commit: list[Callable[[], None]] = []
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

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def flush(self) -> None:
        pass

    async def commit(self) -> None:
        assert not self.readonly, "a read-only unit of work cannot commit"
        self.presentations._commit()
        self.suppliers._commit()
        self.requests._commit()
        self.links._commit()
        self.rate_limits._commit()
        self.store.published += self._published
        self.store.remembered.update(dict(self._remembered))
        self.store.commits += 1
        self.committed = True
        for callback in self._after_commit:
            callback()


def unit_of_work(store: Store) -> UnitOfWorkFactory:
    """A factory as the service layer takes it: each call, a new fake unit of work on the same store."""
    return cast(UnitOfWorkFactory, lambda readonly=False: FakeUnitOfWork(store, readonly=readonly))
