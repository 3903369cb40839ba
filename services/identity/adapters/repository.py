"""identity's repositories: every statement the use cases need, on the unit of work's session (SQLite and
PostgreSQL alike). Accounts loaded here are remembered, so their recorded events leave at commit."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Boolean, Integer, bindparam, case, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit import ratelimit
from kit.clock import utcnow
from kit.dialect_upsert import upsert

from identity.adapters.orm import accounts, audit_events, companies
from identity.domain.accounts import Account
from identity.domain.factors import PRIMARY

_ACCOUNT_COLUMNS = {f.name for f in fields(Account)} - {"roles", "events"}
# The company gate, read in the same statement as the attempt reservation (one round-trip on the login path), with
# what the second factor needs: the company's policy, and whether the account has a factor at all.
_COMPANY_OPEN = literal_column(
    "(SELECT companies.supplier_active AND companies.access_open FROM companies "
    "WHERE companies.cofor_root = accounts.cofor_root)", Boolean).label("company_open")
_COMPANY_REQUIRES_FACTOR = literal_column(
    "(SELECT companies.second_factor_required FROM companies WHERE companies.cofor_root = accounts.cofor_root)",
    Boolean).label("company_requires_factor")
_HAS_FACTOR = literal_column(
    "(SELECT count(*) FROM second_factors WHERE second_factors.identifier = accounts.identifier "
    f"AND second_factors.kind IN ({', '.join(repr(k.value) for k in sorted(PRIMARY))}) "
    "AND second_factors.confirmed_at IS NOT NULL)",
    Integer).label("factor_count")  # recovery codes alone are no factor: they back one up


@dataclass(frozen=True)
class Gate:
    """Read with the reservation: the company's gate and policy, and whether the account has a factor."""
    company_open: bool
    company_requires_factor: bool = False
    has_factor: bool = False


CLOSED = Gate(False)


# The login path's statements, built once: building a statement costs more CPU than running it on SQLite.
_RESERVE = (update(accounts).where(accounts.c.identifier == bindparam("b_identifier"),
                                   accounts.c.failed_attempts < bindparam("b_threshold"))
            .values(failed_attempts=accounts.c.failed_attempts + 1)
            .returning(*accounts.c, _COMPANY_OPEN, _COMPANY_REQUIRES_FACTOR, _HAS_FACTOR))
_LOGGED_IN = update(accounts).where(accounts.c.identifier == bindparam("b_identifier")).values(
    failed_attempts=0, last_login_at=bindparam("b_now"), known_devices=bindparam("b_known"))
_REHASHED = _LOGGED_IN.values(password_hash=case(
    (accounts.c.password_hash == bindparam("b_old_hash"), bindparam("b_new_hash")), else_=accounts.c.password_hash))
_NEW_AUDIT = audit_events.insert()


def account_from_row(row: Any) -> Account:
    return Account(**{k: row[k] for k in _ACCOUNT_COLUMNS})


def account_values(account: Account) -> dict[str, Any]:
    values = {k: getattr(account, k) for k in _ACCOUNT_COLUMNS}
    for k in ("state", "disabled_cause", "lock_cause"):
        values[k] = values[k].value
    return values


class AccountRepository:
    def __init__(self, session: AsyncSession, postgres: bool) -> None:
        self.session = session
        self.postgres = postgres
        self.seen: dict[str, Account] = {}

    def _seen(self, account: Account) -> Account:
        """One object per account in a unit of work: a re-read (under a lock, say) or the save of another copy
        refreshes the object already loaded, keeping the events both recorded."""
        known = self.seen.get(account.identifier)
        if known is None or known is account:
            self.seen[account.identifier] = account
            return account
        events = known.events + account.events  # a second copy's events are kept, never dropped
        known.__dict__.update(account.__dict__)
        known.events, account.events = events, []
        return known

    async def get(self, identifier: str, *, for_update: bool = False) -> Account | None:
        query = select(accounts).where(accounts.c.identifier == identifier)
        if for_update and self.postgres:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return self._seen(account_from_row(row)) if row else None

    async def of_company(self, cofor_root: str) -> list[Account]:
        rows = (await self.session.execute(select(accounts).where(accounts.c.cofor_root == cofor_root)
                                           .order_by(accounts.c.identifier))).mappings().all()
        return [self._seen(account_from_row(r)) for r in rows]

    async def active_administrators(self, cofor_root: str) -> list[Account]:
        """The company's ASLs not disabled, read alone: the same few rows however many users the company has."""
        rows = (await self.session.execute(select(accounts).where(
            accounts.c.cofor_root == cofor_root, accounts.c.is_administrator.is_(True),
            accounts.c.state != "DISABLED").order_by(accounts.c.identifier))).mappings().all()
        return [self._seen(account_from_row(r)) for r in rows]

    async def identifier_taken(self, identifier: str) -> bool:
        return bool(await self.session.scalar(select(func.count()).select_from(accounts).where(
            accounts.c.identifier == identifier)))

    async def with_activation(self, digest: bytes, *, for_update: bool = False) -> Account | None:
        """The account whose activation link has this token digest (None: no such live or expired link)."""
        query = select(accounts).where(accounts.c.activation_digest == digest)
        if for_update and self.postgres:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return self._seen(account_from_row(row)) if row else None

    async def holding_email(self, cofor_root: str, email: str) -> list[str]:
        """The company's accounts whose address is ``email``, case ignored (whatever their state)."""
        return list(await self.session.scalars(select(accounts.c.identifier).where(
            accounts.c.cofor_root == cofor_root, func.lower(accounts.c.email) == email.lower())
            .order_by(accounts.c.identifier)))

    async def of_access_request(self, access_request_id: str) -> str | None:
        return await self.session.scalar(select(accounts.c.identifier).where(
            accounts.c.origin_access_request_id == access_request_id))

    async def add(self, account: Account) -> None:
        await self.session.execute(accounts.insert().values(**account_values(account)))
        self._seen(account)

    async def save(self, account: Account, now: dt.datetime) -> None:
        account.updated_at = now
        values = account_values(account)
        values.pop("identifier")
        await self.session.execute(update(accounts).where(accounts.c.identifier == account.identifier)
                                   .values(**values))
        self._seen(account)

    # ---- the login path: one statement each ---------------------------------------------------------------

    async def reserve_attempt(self, identifier: str, threshold: int) -> tuple[Account | None, Gate]:
        """One atomic step: count the attempt unless the threshold is reached (Account.may_try, applied by the
        database so that parallel guesses and replicas never check more than ``threshold`` passwords). Returns the
        account (None: unknown, or at the threshold) and its company's gate."""
        row = (await self.session.execute(_RESERVE, {"b_identifier": identifier, "b_threshold": threshold})
               ).mappings().first()
        if row is None:
            return None, CLOSED
        return self._seen(account_from_row(row)), Gate(bool(row["company_open"]), bool(row["company_requires_factor"]),
                                                        bool(row["factor_count"]))

    async def give_back_attempt(self, identifier: str) -> None:
        await self.session.execute(update(accounts).where(accounts.c.identifier == identifier,
                                                          accounts.c.failed_attempts > 0)
                                   .values(failed_attempts=accounts.c.failed_attempts - 1))

    async def logged_in(self, account: Account, now: dt.datetime, new_hash: str | None) -> None:
        """Attempts given back, the login time (the password's, when a factor follows), the devices it knows, and a
        hash made with new parameters if nobody changed it meanwhile: one targeted statement."""
        params = {"b_identifier": account.identifier, "b_now": now, "b_known": account.known_devices}
        if new_hash:
            params.update(b_old_hash=account.password_hash, b_new_hash=new_hash)
        await self.session.execute(_REHASHED if new_hash else _LOGGED_IN, params)
        self._seen(account)

    async def devices_seen(self, account: Account) -> None:
        """The devices it knows, after a login completed by its second factor."""
        await self.session.execute(update(accounts).where(accounts.c.identifier == account.identifier).values(
            known_devices=account.known_devices))
        self._seen(account)


class AuditTrail:
    """The audit rows, and the outbox rows that publish them (and every other event of the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(_NEW_AUDIT, rows)


class RateLimits:
    """Calls counted in the database (every replica sees the same counts), each batch in one round-trip."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enforce(self, calls: list[tuple[ratelimit.Limit, str]]) -> None:
        """Refuses with RESOURCE_EXHAUSTED when any call is past its limit."""
        await ratelimit.enforce_all(self.session, calls)

    async def within(self, calls: list[tuple[ratelimit.Limit, str]]) -> bool:
        """Counts every call; True while all are within their limits. Never refuses."""
        used = await ratelimit.hit_many(self.session, calls)
        return all(count <= limit.max_calls for (limit, _), count in zip(calls, used, strict=True))


class CompanyRepository:
    """The local projection of cofor's events: the company gate and the administrators' snapshot revision."""

    def __init__(self, session: AsyncSession, postgres: bool) -> None:
        self.session = session
        self.postgres = postgres

    async def get(self, cofor_root: str, *, for_update: bool = False) -> Any:
        query = select(companies).where(companies.c.cofor_root == cofor_root)
        if for_update and self.postgres:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def is_open(self, cofor_root: str) -> bool:
        row = (await self.session.execute(select(companies.c.supplier_active, companies.c.access_open).where(
            companies.c.cofor_root == cofor_root))).first()
        return bool(row and row.supplier_active and row.access_open)

    async def ensure(self, cofor_root: str, legal_name: str, now: dt.datetime, **values: Any) -> None:
        """Create the company row if missing, then apply ``values`` (and the legal name when given)."""
        await self.session.execute(upsert(self.session, companies, {
            "cofor_root": cofor_root, "legal_name": legal_name, "supplier_active": True, "access_open": False,
            "administrators_revision": 0, "updated_at": now}, keys=["cofor_root"], update={"updated_at": now}))
        if values or legal_name:
            changes = dict(values, updated_at=now)
            if legal_name:
                changes["legal_name"] = legal_name
            await self.set(cofor_root, **changes)

    async def set(self, cofor_root: str, **values: Any) -> None:
        await self.session.execute(update(companies).where(companies.c.cofor_root == cofor_root).values(**values))

    async def lock(self, cofor_root: str) -> None:
        """Serialise every change of the company's accounts that can lower its number of active ASLs: the rule
        "at least one active ASL" reads all of them, so locking only the target account would let two removals
        each see the other ASL still active. Always taken before any account row lock (the consumers of cofor's
        events do the same), so two callers never wait on each other in opposite orders. SQLite serialises
        writers already (BEGIN IMMEDIATE)."""
        if not self.postgres:
            return
        if await self.get(cofor_root, for_update=True) is None:  # accounts seeded without cofor's events
            await self.session.execute(upsert(self.session, companies, {
                "cofor_root": cofor_root, "legal_name": "", "supplier_active": True, "access_open": False,
                "administrators_revision": 0, "updated_at": utcnow()}, keys=["cofor_root"]))
            await self.get(cofor_root, for_update=True)

    async def next_administrators_revision(self, cofor_root: str) -> int:
        company = await self.get(cofor_root, for_update=True)
        revision = (company["administrators_revision"] if company else 0) + 1
        if company is not None:
            await self.set(cofor_root, administrators_revision=revision)
        return int(revision)
