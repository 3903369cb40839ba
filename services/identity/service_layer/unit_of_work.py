"""The identity unit of work: accounts, sessions, the company projection and the audit trail in one
transaction, with their events in its outbox."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import fields
from typing import Any

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from sqlalchemy import select, update

from kit.db import UnitOfWork
from kit.dialect_upsert import upsert

from identity.adapters.orm import accounts, audit_events, companies
from identity.domain.accounts import Account, State

_ACCOUNT_COLUMNS = {f.name for f in fields(Account)} - {"roles"}


def account_from_row(row: Any) -> Account:
    return Account(**{k: row[k] for k in _ACCOUNT_COLUMNS})


def account_values(account: Account) -> dict[str, Any]:
    values = {k: getattr(account, k) for k in _ACCOUNT_COLUMNS}
    for k in ("state", "disabled_cause", "lock_cause"):
        values[k] = values[k].value
    return values


def timestamp(value: dt.datetime | None) -> Any:
    if value is None:
        return None
    from google.protobuf.timestamp_pb2 import Timestamp
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


class IdentityUnitOfWork(UnitOfWork):
    producer = "identity"

    async def account(self, identifier: str, *, for_update: bool = False) -> Account | None:
        query = select(accounts).where(accounts.c.identifier == identifier)
        if for_update and self.database.is_postgres:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return account_from_row(row) if row else None

    async def company_accounts(self, cofor_root: str) -> list[Account]:
        rows = (await self.session.execute(select(accounts).where(accounts.c.cofor_root == cofor_root)
                                           .order_by(accounts.c.identifier))).mappings().all()
        return [account_from_row(r) for r in rows]

    async def save(self, account: Account, now: dt.datetime) -> None:
        account.updated_at = now
        values = account_values(account)
        values.pop("identifier")
        await self.session.execute(update(accounts).where(accounts.c.identifier == account.identifier)
                                   .values(**values))

    async def insert(self, account: Account) -> None:
        await self.session.execute(accounts.insert().values(**account_values(account)))

    async def company(self, cofor_root: str, *, for_update: bool = False) -> Any:
        query = select(companies).where(companies.c.cofor_root == cofor_root)
        if for_update and self.database.is_postgres:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def lock_company(self, cofor_root: str) -> None:
        """Serialise every change of the company's accounts that can lower its number of active ASLs: the rule
        "at least one active ASL" reads all of them, so locking only the target account would let two removals
        each see the other ASL still active. Always taken before any account row lock (the consumers of cofor's
        events do the same), so two callers never wait on each other in opposite orders. SQLite serialises
        writers already (BEGIN IMMEDIATE)."""
        if not self.database.is_postgres:
            return
        if await self.company(cofor_root, for_update=True) is None:  # accounts seeded without cofor's events
            await self.session.execute(upsert(self.session, companies, {
                "cofor_root": cofor_root, "legal_name": "", "supplier_active": True, "access_open": False,
                "administrators_revision": 0, "updated_at": dt.datetime.now(dt.UTC)}, keys=["cofor_root"]))
            await self.company(cofor_root, for_update=True)

    def audit(self, action: str, *, subject: str, cofor_root: str, actor: str = "", client: str = "",
              detail: str = "", now: dt.datetime) -> None:
        """Stored and published. Never a password, token or reset code in ``detail``."""
        event_id = str(uuid.uuid4())
        values = dict(id=event_id, occurred_at=now, action=action, actor=actor or subject, subject=subject,
                      cofor_root=cofor_root, client_address=client[:100], detail=detail[:500])
        self._pending_audit.append(values)
        self.publish("identity.audit.recorded", ev.AuditRecorded(audit_event=pb.AuditEvent(
            id=event_id, occur_time=timestamp(now), action=pb.AuditAction.Value(f"AUDIT_ACTION_{action}"),
            actor=values["actor"], subject_identifier=subject, cofor_root=cofor_root,
            client_address=values["client_address"], detail=values["detail"])))

    def on_begin(self) -> None:
        self._pending_audit: list[dict[str, Any]] = []

    async def commit(self) -> None:
        if self._pending_audit:
            await self.session.execute(audit_events.insert(), self._pending_audit)
            self._pending_audit = []
        await super().commit()

    async def publish_administrators(self, cofor_root: str, now: dt.datetime) -> None:
        """identity.company.administrators_changed: the full snapshot of active ASLs, with a new revision."""
        company = await self.company(cofor_root, for_update=True)
        revision = (company["administrators_revision"] if company else 0) + 1
        if company is not None:
            await self.session.execute(update(companies).where(companies.c.cofor_root == cofor_root)
                                       .values(administrators_revision=revision))
        admins = [a for a in await self.company_accounts(cofor_root) if a.is_active_administrator]
        self.publish("identity.company.administrators_changed", ev.ActiveAdministratorsChanged(
            cofor_root=cofor_root, active_administrator_count=len(admins), revision=revision,
            administrators=[ev.AdministratorSummary(identifier=a.identifier, display_name=a.display_name)
                            for a in admins]))


def active_administrators(members: list[Account]) -> list[Account]:
    return [a for a in members if a.is_administrator and a.state != State.DISABLED]
