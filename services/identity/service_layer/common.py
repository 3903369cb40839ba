"""What identity's use cases are given (composition, no base class): a unit-of-work factory, the hasher, the
settings and the clock; and the small steps several of them take (a new session, a temporary password)."""
from __future__ import annotations

import contextvars
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from kit import ratelimit
from kit.clock import utcnow
from kit.digests import token_digest
from kit.errors import Unauthenticated

from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.hasher import Hasher
from identity.domain.accounts import Account
from identity.domain.devices import Device
from identity.domain.factors import FactorKind, Step
from identity.service_layer.unit_of_work import IdentityUnitOfWork
from identity.settings import IdentitySettings

# Temporary passwords: 20 characters from an alphabet without look-alikes (≈ 114 bits).
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_PASSWORD_INPUT = 1024

UnitOfWorkFactory = Callable[..., IdentityUnitOfWork]  # (readonly=False, client="") → a new unit of work
# The User-Agent the gateway forwarded with this call ("" from any other caller), set by the servicer where it reads
# the client address: each gRPC call runs in a task of its own, so this is the call's own. A session opened in the
# call records it, with the client address of the unit of work (domain/devices.py).
CALLER_USER_AGENT: contextvars.ContextVar[str] = contextvars.ContextVar("caller_user_agent", default="")


@dataclass(frozen=True)
class Tools:
    uow: UnitOfWorkFactory
    hasher: Hasher
    settings: IdentitySettings
    clock: Callable[[], dt.datetime] = utcnow
    factor_box: FactorBox = field(default_factory=lambda: FactorBox(DEVELOPMENT_KEY))  # TOTP secrets at rest

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
    step: Step = Step.NONE  # what the session still needs (a factor to give or to enrol)
    amr: str = "pwd"
    available: tuple[FactorKind, ...] = ()  # with step VERIFY: the factors that may be given
    device: Device = Device()  # where it opened from


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(20))


async def admit_client(tools: Tools, name: str, per_hour: int, client: str) -> None:
    """A public form's per-client-address limit, the refusing one: counted in its own short transaction before any
    hash, so a refused call costs no argon2 work and no hash runs while a write transaction is open. Callers without
    a client address (services with an internal role) are not counted."""
    if not client:
        return
    async with tools.uow(client=client) as uow:
        await uow.rate_limits.enforce([(ratelimit.Limit(name, per_hour, 3600), client)])
        await uow.commit()


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("INVALID_CREDENTIALS", "identifier or password incorrect")


async def open_session(tools: Tools, uow: IdentityUnitOfWork, account: Account, must_change: bool,
                       now: dt.datetime, *, step: Step = Step.NONE, amr: str = "pwd",
                       available: tuple[FactorKind, ...] = ()) -> OpenedSession:
    token = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
    if step == Step.VERIFY:  # a half-done login waits a few minutes for its factor, no more
        expires = now + dt.timedelta(minutes=tools.settings.second_factor_minutes)
    else:
        expires = now + dt.timedelta(hours=tools.settings.session_absolute_hours)
    idle = min(now + tools.idle, expires)
    device = Device.of(CALLER_USER_AGENT.get(), uow.client)
    await uow.sessions.add(token_digest(token), account.identifier, must_change, now, expires, idle,
                           step=step.value, amr=amr, device=device)
    return OpenedSession(token, expires, idle, account, must_change, step, amr, available, device)
