"""The identity unit of work: accounts, sessions, the company projection and the audit trail in one transaction.
At commit it turns the domain events recorded meanwhile into outbox messages, audit rows and mails
(adapters/messages.py), ends the sessions those events end, and publishes the administrators' snapshots."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as pe

from kit.clock import to_timestamp
from kit.db import Database, UnitOfWork

from identity.adapters import messages
from identity.adapters.factor_repository import FactorRepository
from identity.adapters.oidc_repository import OidcRepository
from identity.adapters.passkey_repository import PasskeyRepository
from identity.adapters.repository import (
    AccountRepository,
    AuditTrail,
    CompanyRepository,
    RateLimits,
)
from identity.adapters.session_cache import SessionCache
from identity.adapters.session_repository import SessionRepository
from identity.domain import events as ev


class IdentityUnitOfWork(UnitOfWork):
    producer = "identity"

    def __init__(self, database: Database, *, readonly: bool = False, session_cache: SessionCache | None = None,
                 seal_key: str = "", client: str = "", logouts_owed: Callable[[], None] | None = None) -> None:
        super().__init__(database, readonly=readonly)
        self.session_cache = session_cache
        self.logouts_owed = logouts_owed  # wakes the back-channel logout sender once committed
        self.seal_key = seal_key  # mails' secrets are sealed to the mailer's key before they are stored
        self.client = client  # the caller's address, on every audit row of this unit of work

    def on_begin(self) -> None:
        self.accounts = AccountRepository(self.session, self.database.is_postgres)
        self.sessions = SessionRepository(self.session)
        self.companies = CompanyRepository(self.session, self.database.is_postgres)
        self.rate_limits = RateLimits(self.session)
        self.factors = FactorRepository(self.session)
        self.passkeys = PasskeyRepository(self.session)
        self.oidc = OidcRepository(self.session)
        self.audit_trail = AuditTrail(self.session)
        self._events: list[ev.Event] = []
        self._pending_audit: list[dict[str, Any]] = []

    def record(self, event: ev.Event) -> None:
        """An event about no loaded account (an unknown identifier, a company's snapshot)."""
        self._events.append(event)

    async def commit(self) -> None:
        await self._dispatch()
        await self.audit_trail.add(self._pending_audit)
        self._pending_audit = []
        await super().commit()

    async def _dispatch(self) -> None:
        seen = self.accounts.seen
        recorded = list(self._events)
        for account in seen.values():
            recorded += account.events
            account.events = []
        self._events = []
        ending: list[str] = []
        snapshots: dict[str, dt.datetime] = {}
        for event in sorted(recorded, key=lambda e: e.seq):
            messages.emit(event, self, seen.get(event.identifier))
            if event.ends_sessions and event.identifier not in ending:
                ending.append(event.identifier)
            if isinstance(event, ev.AdministratorsChanged):
                snapshots.setdefault(event.cofor_root, event.at)
        if ending:
            await self.end_sessions(ending, recorded[0].at)
        for cofor_root, at in snapshots.items():
            await self._publish_administrators(cofor_root, at)

    async def end_sessions(self, identifiers: list[str], now: dt.datetime) -> None:
        """Revoked in this transaction (except those it opened), evicted from this process's cache now, and again
        with a broadcast to every replica once committed (a re-read may have cached them meanwhile)."""
        if self.session_cache is not None:
            cache = self.session_cache
            cache.evict_identifiers(identifiers)
            self.on_commit(lambda: cache.revoked(identifiers))
        await self.owe_logouts(now, identifiers=identifiers, spared=self.sessions.opened)
        await self.sessions.revoke_all(identifiers, now)

    async def owe_logouts(self, now: dt.datetime, **which: Any) -> None:
        """The applications these ending sessions signed in to are told (back-channel logout, ARCHITECTURE §14):
        owed in this transaction, sent once it is committed."""
        if await self.oidc.owe_logouts(now, **which) and self.logouts_owed is not None:
            self.on_commit(self.logouts_owed)

    async def end_session(self, digest: bytes, identifier: str, now: dt.datetime) -> bool:
        """One live session revoked (a half-done login once completed), evicted from every replica's cache once
        committed. False when it had ended already (nothing done)."""
        if not await self.sessions.revoke_live(digest, now):
            return False
        if self.session_cache is not None:
            cache = self.session_cache
            cache.evict(digest)
            self.on_commit(lambda: cache.revoked([identifier]))
        return True

    def audit(self, action: str, event: ev.Event) -> None:
        """Stored and published. Never a password, token or reset code in the detail."""
        event_id = str(uuid.uuid4())
        actor, client, detail = event.actor or event.identifier, self.client[:100], event.detail[:500]
        self._pending_audit.append(dict(id=event_id, occurred_at=event.at, action=action, actor=actor,
                                        subject=event.identifier, cofor_root=event.cofor_root,
                                        client_address=client, detail=detail))
        self.publish("identity.audit.recorded", pe.AuditRecorded(audit_event=pb.AuditEvent(
            id=event_id, occur_time=to_timestamp(event.at), action=pb.AuditAction.Value(f"AUDIT_ACTION_{action}"),
            actor=actor, subject_identifier=event.identifier, cofor_root=event.cofor_root, client_address=client,
            detail=detail)))

    async def _publish_administrators(self, cofor_root: str, now: dt.datetime) -> None:
        """identity.company.administrators_changed: the full snapshot of active ASLs, with a new revision."""
        revision = await self.companies.next_administrators_revision(cofor_root)
        admins = await self.accounts.active_administrators(cofor_root)
        self.publish("identity.company.administrators_changed", pe.ActiveAdministratorsChanged(
            cofor_root=cofor_root, active_administrator_count=len(admins), revision=revision,
            administrators=[pe.AdministratorSummary(identifier=a.identifier, display_name=a.display_name)
                            for a in admins]))

