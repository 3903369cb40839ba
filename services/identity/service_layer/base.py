"""What every identity use case needs: the database, the hasher, the settings, the clock, and the small
steps they share (sessions, temporary passwords, mails)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from portal.identity.v1 import events_pb2 as ev
from sqlalchemy import update

from kit.db import Database
from kit.notify import Template, request_email

from identity.adapters.hasher import Hasher
from identity.adapters.orm import sessions
from identity.adapters.session_cache import SessionCache
from identity.domain.accounts import Account, LockCause, State
from identity.service_layer.unit_of_work import IdentityUnitOfWork, timestamp
from identity.settings import IdentitySettings

# Temporary passwords: 20 characters from an alphabet without look-alikes (≈ 114 bits).
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(20))


@dataclass(frozen=True)
class OpenedSession:
    token: str
    expires_at: dt.datetime
    idle_expires_at: dt.datetime
    account: Account
    must_change_password: bool


class Base:
    def __init__(self, database: Database, hasher: Hasher, settings: IdentitySettings,
                 clock: Callable[[], dt.datetime] = utcnow, sessions: SessionCache | None = None) -> None:
        self.db = database
        self.hasher = hasher
        self.settings = settings
        self.now = clock
        self.session_cache = sessions or SessionCache(settings.session_cache_seconds)

    def uow(self, *, readonly: bool = False) -> IdentityUnitOfWork:
        return IdentityUnitOfWork(self.db, readonly=readonly)

    @property
    def idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.session_idle_minutes)

    async def open_session(self, uow: IdentityUnitOfWork, account: Account, must_change: bool,
                           now: dt.datetime) -> OpenedSession:
        token = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
        expires = now + dt.timedelta(hours=self.settings.session_absolute_hours)
        idle = min(now + self.idle, expires)
        await uow.session.execute(sessions.insert().values(
            token_digest=token_digest(token), identifier=account.identifier, must_change_password=must_change,
            created_at=now, expires_at=expires, idle_expires_at=idle, revoked_at=None))
        return OpenedSession(token, expires, idle, account, must_change)

    async def revoke_sessions(self, uow: IdentityUnitOfWork, identifiers: list[str], now: dt.datetime) -> None:
        self.session_cache.evict_identifiers(identifiers)
        uow.on_commit(lambda: self.session_cache.revoked(identifiers))  # again (a re-read meanwhile), and broadcast
        if identifiers:
            await uow.session.execute(update(sessions).where(sessions.c.identifier.in_(identifiers),
                                                             sessions.c.revoked_at.is_(None))
                                      .values(revoked_at=now))

    def mail(self, uow: IdentityUnitOfWork, template: int, account: Account, *, params: dict[str, str],
             secrets_: dict[str, str] | None = None, reply_to: tuple[str, str] | None = None,
             address: str | None = None) -> None:
        """To the account's holder, at its registered address unless ``address`` is given."""
        to = [(address or account.email, account.display_name)]
        request_email(uow, template=template, to=to, language=account.language,
                      params=params, secrets=secrets_, seal_key=self.settings.mail_seal_public_key,
                      reply_to=reply_to)

    def mail_temporary_password(self, uow: IdentityUnitOfWork, account: Account, password: str,
                                expires: dt.datetime, context: str) -> None:
        self.mail(uow, Template.EMAIL_TEMPLATE_TEMPORARY_PASSWORD, account,
                  params={"expire_time": expires.isoformat(), "context": context},
                  secrets_={"temporary_password": password})

    async def lock(self, uow: IdentityUnitOfWork, account: Account, cause: LockCause, now: dt.datetime,
                   client: str) -> None:
        """BLOCKED: sessions revoked, event, audit, and a notice to the registered address."""
        account.state, account.lock_cause, account.locked_at = State.BLOCKED, cause, now
        await uow.save(account, now)
        await self.revoke_sessions(uow, [account.identifier], now)
        uow.publish("identity.account.locked", ev.AccountLocked(
            identifier=account.identifier, cofor_root=account.cofor_root, failed_attempt_count=account.failed_attempts,
            cause=ev.LockCause.Value(f"LOCK_CAUSE_{cause.value}")))  # type: ignore[arg-type]
        uow.audit("ACCOUNT_LOCKED", subject=account.identifier, cofor_root=account.cofor_root, actor="system",
                  client=client, detail=cause.value.lower(), now=now)
        self.mail(uow, Template.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE, account,
                  params={"identifier": account.identifier, "lock_time": now.isoformat(),
                          "cause": cause.value.lower()})

    @staticmethod
    def expire(value: dt.datetime | None) -> object:
        return timestamp(value)
