"""What identity's use cases are given (composition, no base class): a unit-of-work factory, the hasher, the
settings and the clock; and the small steps several of them take (a new session, a temporary password)."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from kit.clock import utcnow
from kit.digests import token_digest
from kit.errors import Unauthenticated

from identity.adapters.hasher import Hasher
from identity.domain.accounts import Account
from identity.service_layer.unit_of_work import IdentityUnitOfWork
from identity.settings import IdentitySettings

# Temporary passwords: 20 characters from an alphabet without look-alikes (≈ 114 bits).
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_PASSWORD_INPUT = 1024

UnitOfWorkFactory = Callable[..., IdentityUnitOfWork]  # (readonly=False, client="") → a new unit of work


@dataclass(frozen=True)
class Tools:
    uow: UnitOfWorkFactory
    hasher: Hasher
    settings: IdentitySettings
    clock: Callable[[], dt.datetime] = utcnow

    @property
    def idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.session_idle_minutes)

    def temporary_password_expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(hours=self.settings.temporary_password_hours)


@dataclass(frozen=True)
class OpenedSession:
    token: str
    expires_at: dt.datetime
    idle_expires_at: dt.datetime
    account: Account
    must_change_password: bool


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(20))


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("INVALID_CREDENTIALS", "identifier or password incorrect")


async def open_session(tools: Tools, uow: IdentityUnitOfWork, account: Account, must_change: bool,
                       now: dt.datetime) -> OpenedSession:
    token = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
    expires = now + dt.timedelta(hours=tools.settings.session_absolute_hours)
    idle = min(now + tools.idle, expires)
    await uow.sessions.add(token_digest(token), account.identifier, must_change, now, expires, idle)
    return OpenedSession(token, expires, idle, account, must_change)
