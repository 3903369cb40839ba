"""In-memory stand-ins for identity's unit of work and hasher: the service layer runs without a database or NATS
(cosmicpython's FakeUnitOfWork). Accounts are copied in and out, so only what a use case saves persists."""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kit import ratelimit
from kit.errors import ResourceExhausted

from identity.adapters.repository import Gate
from identity.domain import events as ev
from identity.domain.accounts import Account


class FakeHasher:
    """``hash:<password>``; counts verifications, so tests can compare the work of two paths."""

    def __init__(self) -> None:
        self.verified = 0

    async def hash(self, password: str) -> str:
        return f"hash:{password}"

    async def verify(self, encoded: str | None, password: str) -> bool:
        self.verified += 1
        return encoded is not None and encoded == f"hash:{password}"

    def needs_rehash(self, encoded: str) -> bool:
        return False


@dataclass
class Store:
    """What the database would hold, and what left it at commit."""

    accounts: dict[str, Account] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    remembered: dict[tuple[str, str, str], str] = field(default_factory=dict)
    events: list[ev.Event] = field(default_factory=list)  # committed, in order

    def add_company(self, root: str, *, open_: bool = True) -> None:
        self.companies[root] = {"cofor_root": root, "legal_name": f"Company {root}", "supplier_active": True,
                                "access_open": open_, "administrators_revision": 0}

    def of(self, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class FakeAccounts:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: dict[str, Account] = {}

    def _loaded(self, identifier: str) -> Account:
        fresh = copy.deepcopy(self.store.accounts[identifier])
        known = self.seen.get(identifier)
        if known is None:
            self.seen[identifier] = fresh
            return fresh
        known.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "events"})
        return known

    async def get(self, identifier: str, *, for_update: bool = False) -> Account | None:
        return self._loaded(identifier) if identifier in self.store.accounts else None

    async def of_company(self, cofor_root: str) -> list[Account]:
        return [self._loaded(i) for i, a in sorted(self.store.accounts.items()) if a.cofor_root == cofor_root]

    async def identifier_taken(self, identifier: str) -> bool:
        return identifier in self.store.accounts

    async def with_activation(self, digest: bytes, *, for_update: bool = False) -> Account | None:
        found = [i for i, a in self.store.accounts.items() if a.activation_digest == digest]
        return self._loaded(found[0]) if found else None

    async def holding_email(self, cofor_root: str, email: str) -> list[str]:
        return sorted(i for i, a in self.store.accounts.items()
                      if a.cofor_root == cofor_root and a.email.lower() == email.lower())

    async def of_access_request(self, request_id: str) -> str | None:
        return next((i for i, a in self.store.accounts.items() if a.origin_access_request_id == request_id), None)

    async def add(self, account: Account) -> None:
        self.seen[account.identifier] = account
        await self.save(account, account.updated_at)

    async def save(self, account: Account, now: dt.datetime) -> None:
        account.updated_at = now
        self.store.accounts[account.identifier] = copy.deepcopy(replace_events(account))

    async def reserve_attempt(self, identifier: str, threshold: int) -> tuple[Account | None, Gate]:
        stored = self.store.accounts.get(identifier)
        if stored is None or stored.failed_attempts >= threshold:
            return None, Gate(False)
        stored.failed_attempts += 1
        company = self.store.companies.get(stored.cofor_root)
        return self._loaded(identifier), Gate(bool(company and company["supplier_active"] and company["access_open"]),
                                              bool(company and company.get("second_factor_required")))

    async def give_back_attempt(self, identifier: str) -> None:
        stored = self.store.accounts[identifier]
        stored.failed_attempts = max(0, stored.failed_attempts - 1)

    async def logged_in(self, account: Account, now: dt.datetime, new_hash: str | None) -> None:
        stored = self.store.accounts[account.identifier]
        stored.failed_attempts, stored.last_login_at = 0, now
        self.seen.setdefault(account.identifier, account)


def replace_events(account: Account) -> Account:
    clone = copy.copy(account)
    clone.events = []
    return clone


class FakeSessions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.opened: set[bytes] = set()

    async def add(self, digest: bytes, identifier: str, must_change: bool, now: dt.datetime, expires: dt.datetime,
                  idle: dt.datetime, *, step: str = "", amr: str = "pwd", device: object = None) -> None:
        self.store.sessions[digest] = {"identifier": identifier, "must_change_password": must_change,
                                       "expires_at": expires, "idle_expires_at": idle, "revoked_at": None,
                                       "second_factor_step": step, "amr": amr}
        self.opened.add(digest)

    async def revoke(self, digest: bytes, now: dt.datetime) -> None:
        self.store.sessions[digest]["revoked_at"] = now

    async def revoke_all(self, identifiers: list[str], now: dt.datetime) -> None:
        for digest, row in self.store.sessions.items():
            if row["identifier"] in identifiers and digest not in self.opened and row["revoked_at"] is None:
                row["revoked_at"] = now


class FakeFactors:
    """No factor is enrolled in the unit tests of the service layer (the factors run on both real databases in
    tests/integration/identity/test_second_factor.py); the company's policy is read from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def of(self, identifier: str) -> list[Any]:
        return []

    async def recovery_codes_left(self, identifier: str) -> int:
        return 0

    async def company_requires(self, cofor_root: str) -> bool:
        return bool(self.store.companies.get(cofor_root, {}).get("second_factor_required"))


class FakeCompanies:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, cofor_root: str, *, for_update: bool = False) -> dict[str, Any] | None:
        return self.store.companies.get(cofor_root)

    async def is_open(self, cofor_root: str) -> bool:
        company = self.store.companies.get(cofor_root)
        return bool(company and company["supplier_active"] and company["access_open"])

    async def lock(self, cofor_root: str) -> None:
        pass


class FakeRateLimits:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def enforce(self, calls: list[tuple[ratelimit.Limit, str]]) -> None:
        for limit, subject in calls:
            key = f"{limit.name}:{subject}"
            self.store.counters[key] = self.store.counters.get(key, 0) + 1
            if self.store.counters[key] > limit.max_calls:
                raise ResourceExhausted("RATE_LIMITED", "too many requests; try again later")


class FakeUnitOfWork:
    def __init__(self, store: Store, *, readonly: bool = False, client: str = "") -> None:
        self.store, self.readonly, self.client = store, readonly, client

    async def __aenter__(self) -> FakeUnitOfWork:
        self.accounts = FakeAccounts(self.store)
        self.sessions = FakeSessions(self.store)
        self.companies = FakeCompanies(self.store)
        self.rate_limits = FakeRateLimits(self.store)
        self.factors = FakeFactors(self.store)
        self._events: list[ev.Event] = []
        self._remembered: list[tuple[tuple[str, str, str], str]] = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def record(self, event: ev.Event) -> None:
        self._events.append(event)

    async def remembered(self, scope: str, request_id: str, *, owner: str = "") -> str | None:
        return self.store.remembered.get((scope, request_id, owner))

    def remember(self, scope: str, request_id: str, resource: str, *, owner: str = "") -> None:
        self._remembered.append(((scope, request_id, owner), resource))

    async def commit(self) -> None:
        assert not self.readonly
        recorded = list(self._events)
        for account in self.accounts.seen.values():
            recorded += account.events
            account.events = []
        recorded.sort(key=lambda e: e.seq)
        ending = [e.identifier for e in recorded if e.ends_sessions]
        await self.sessions.revoke_all(ending, recorded[0].at if recorded else dt.datetime.now(dt.UTC))
        self.store.events += recorded
        self.store.remembered.update(dict(self._remembered))
