"""Second factors (ARCHITECTURE §15): the step a login still needs, the second step itself, and the holder's own
enrolment (an authenticator app, then ten recovery codes), new codes, removal. The rules are in domain/factors.py;
each code is counted before it is checked (FactorRepository.reserve), per factor, as the password's are."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NoReturn

from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated

from identity.adapters import totp
from identity.adapters.repository import Gate
from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.factors import (
    AMR,
    FactorKind,
    FactorStatus,
    Step,
    amr_of,
    factor_is_fresh,
    new_recovery_codes,
    normalize_recovery_code,
    normalize_totp_code,
    required_of,
    step_after_password,
)
from identity.domain.passkeys import Passkey
from identity.service_layer.common import OpenedSession, Tools, open_session
from identity.service_layer.sessions import ValidSession
from identity.service_layer.unit_of_work import IdentityUnitOfWork

MAX_CODE_INPUT = 64


def invalid_code() -> Unauthenticated:
    return Unauthenticated("SECOND_FACTOR_INVALID", "this code is wrong or was used already")


def not_pending() -> FailedPrecondition:
    return FailedPrecondition("SECOND_FACTOR_NOT_PENDING", "this session is not waiting for a second factor")


async def complete_login(tools: Tools, uow: IdentityUnitOfWork, session: ValidSession, amr: str, detail: str,
                         now: dt.datetime) -> OpenedSession:
    """The half-done session ends here, once: two right answers sent at once never make two sessions (the second
    finds it ended, and nothing it did is kept). The complete one replaces it; the password step recorded the login
    time."""
    account = replace(session.account, events=[])  # never the cached session's own object
    if not await uow.end_session(session.digest, account.identifier, now):
        raise Unauthenticated("SESSION_INVALID", "the session is unknown, expired or revoked")
    opened = await open_session(tools, uow, account, session.must_change_password, now, amr=amr)
    account.signed_in_from(opened.device, now)
    await uow.accounts.devices_seen(account)
    account.record(ev.LoggedIn, now, detail=detail)
    return opened


def fresh_factor_required() -> PermissionDenied:
    return PermissionDenied("SECOND_FACTOR_REQUIRED", "give your second factor again (log in again) first")


async def locked_holder(tools: Tools, uow: IdentityUnitOfWork, session: ValidSession) -> tuple[Account, FactorStatus]:
    """The holder's account, locked: every change to an account's factors takes this lock first, so two at once
    (two tabs removing the last two factors) decide one after the other. A change to the factors of an account
    that has one needs a factor given minutes ago (domain/factors.py factor_is_fresh)."""
    holder = await uow.accounts.get(session.account.identifier, for_update=True)
    assert holder is not None
    status = await status_of(tools, uow, holder.identifier)
    if status.has_factor and not factor_is_fresh(session.acr, session.opened_at, tools.clock()):
        raise fresh_factor_required()
    return holder, status


async def status_of(tools: Tools, uow: IdentityUnitOfWork, identifier: str) -> FactorStatus:
    factors = await uow.factors.of(identifier)
    left = await uow.factors.recovery_codes_left(identifier) if factors else 0
    return FactorStatus.of(factors, tools.settings.second_factor_attempts, left)


async def step_after(tools: Tools, uow: IdentityUnitOfWork, account: Account,
                     gate: Gate | None = None) -> tuple[Step, tuple[FactorKind, ...]]:
    """What a session opened by the right password still needs, and the factors it may give. ``gate``: what the
    login's reservation read already (no factor and no policy: nothing more is read)."""
    if gate is not None and not gate.has_factor:
        requires = gate.company_requires_factor
        return step_after_password(account, FactorStatus(frozenset(), frozenset(), 0), company_requires=requires), ()
    factors = await uow.factors.of(account.identifier)
    # Which factors may be given: those set up and not locked (whether recovery codes are left is told on use).
    status = FactorStatus.of(factors, tools.settings.second_factor_attempts)
    if status.has_factor:  # asked for whatever the policy: one statement on the login's path
        return Step.VERIFY, tuple(status.usable)
    requires = await uow.factors.company_requires(account.cofor_root)
    return step_after_password(account, status, company_requires=requires), ()


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class FactorsView:
    status: FactorStatus
    required: bool
    company_requires: bool
    passkeys: list[Passkey]


class SecondFactors:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    # ---- the login's second step ------------------------------------------------------------------------------

    async def verify(self, session: ValidSession, kind: FactorKind, code: str, client: str = "") -> OpenedSession:
        if session.step != Step.VERIFY:
            raise not_pending()
        _check_input(code)
        account, now, threshold = session.account, self.tools.clock(), self.tools.settings.second_factor_attempts
        async with self.tools.uow(client=client) as uow:
            factor = await uow.factors.reserve(account.identifier, kind, threshold)
            if factor is None:
                await self._unavailable(uow, account.identifier, kind)
            if not await self._consume(uow, account.identifier, kind, code, factor.secret_sealed, now):
                holder = await uow.accounts.get(account.identifier)  # loaded: a lock is mailed to its holder
                assert holder is not None
                holder.record(ev.SecondFactorFailed, now, kind=kind.value, attempt=factor.failed_attempts,
                              detail=f"{kind.value.lower()} attempt {factor.failed_attempts}")
                if not factor.may_try(threshold):
                    holder.record(ev.SecondFactorLocked, now, kind=kind.value, detail=kind.value.lower())
                await uow.commit()
                raise invalid_code()
            if kind == FactorKind.RECOVERY_CODE:
                holder = await uow.accounts.get(account.identifier)  # loaded: the use is mailed to its holder
                assert holder is not None
                await uow.factors.give_back(holder.identifier, kind)
                left = await uow.factors.recovery_codes_left(holder.identifier)
                holder.record(ev.RecoveryCodeUsed, now, left=left, detail=f"{left} left")
            opened = await complete_login(self.tools, uow, session, amr_of(AMR[kind]),
                                          f"password + {kind.value.lower()}", now)
            await uow.commit()
            return opened

    async def _unavailable(self, uow: IdentityUnitOfWork, identifier: str, kind: FactorKind) -> NoReturn:
        enrolled = any(f.kind == kind and f.enrolled for f in await uow.factors.of(identifier))
        if kind == FactorKind.RECOVERY_CODE and enrolled and not await uow.factors.recovery_codes_left(identifier):
            enrolled = False  # every code used
        if enrolled:
            raise PermissionDenied("SECOND_FACTOR_LOCKED", "too many wrong codes: this factor is locked")
        raise FailedPrecondition("SECOND_FACTOR_NOT_ENROLLED", "this factor is not set up for the account")

    async def _consume(self, uow: IdentityUnitOfWork, identifier: str, kind: FactorKind, code: str,
                       sealed: bytes | None, now: dt.datetime) -> bool:
        if kind == FactorKind.RECOVERY_CODE:
            return await uow.factors.consume_recovery_code(identifier, normalize_recovery_code(code), now)
        step = self._step_of(sealed, code, now)
        return step is not None and await uow.factors.consume_step(identifier, step)

    def _step_of(self, sealed: bytes | None, code: str, now: dt.datetime) -> int | None:
        secret = self.tools.factor_box.open(sealed) if sealed else None
        digits = normalize_totp_code(code)
        return totp.matching_step(secret, digits, now) if secret and digits else None

    # ---- the holder's own factors -------------------------------------------------------------------------------

    async def view(self, session: ValidSession) -> FactorsView:
        account = session.account
        async with self.tools.uow(readonly=True) as uow:
            status = await status_of(self.tools, uow, account.identifier)
            requires = await uow.factors.company_requires(account.cofor_root)
            passkeys = await uow.passkeys.of(account.identifier) if FactorKind.PASSKEY in status.enrolled else []
        return FactorsView(status, required_of(account, company_requires=requires), requires, passkeys)

    async def begin_totp(self, session: ValidSession, client: str = "") -> TotpEnrolment:
        account, now = session.account, self.tools.clock()
        secret = totp.new_secret()
        async with self.tools.uow(client=client) as uow:
            await locked_holder(self.tools, uow, session)
            if not await uow.factors.start_totp(account.identifier, self.tools.factor_box.seal(secret), now):
                raise FailedPrecondition("SECOND_FACTOR_ALREADY_ENROLLED", "an authenticator app is set up already")
            await uow.commit()
        uri = totp.provisioning_uri(secret, account.identifier, self.tools.settings.totp_issuer)
        return TotpEnrolment(secret, uri)

    async def confirm_totp(self, session: ValidSession, code: str,
                           client: str = "") -> tuple[list[str], OpenedSession]:
        _check_input(code)
        account, now, threshold = session.account, self.tools.clock(), self.tools.settings.second_factor_attempts
        async with self.tools.uow(client=client) as uow:
            holder = await uow.accounts.get(account.identifier, for_update=True)  # factor changes one at a time
            assert holder is not None
            pending = await uow.factors.reserve(account.identifier, FactorKind.TOTP, threshold, enrolled=False)
            if pending is None:
                raise FailedPrecondition("SECOND_FACTOR_NOT_STARTED", "start setting up the app again")
            step = self._step_of(pending.secret_sealed, code, now)
            if step is None or not await uow.factors.confirm_totp(holder.identifier, step, now):
                holder.record(ev.SecondFactorFailed, now, kind=FactorKind.TOTP.value, attempt=pending.failed_attempts,
                              detail=f"enrolment code, attempt {pending.failed_attempts}")
                await uow.commit()
                raise invalid_code()
            codes = new_recovery_codes()
            await uow.factors.replace_recovery_codes(holder.identifier, codes, now)
            holder.record(ev.SecondFactorEnrolled, now, kind=FactorKind.TOTP.value, detail="totp")
            opened = await open_session(self.tools, uow, holder, session.must_change_password, now,
                                        amr=amr_of(AMR[FactorKind.TOTP]))
            await uow.commit()  # every other session of the account ends (opened without the factor)
            return codes, opened

    async def regenerate_codes(self, session: ValidSession, client: str = "") -> list[str]:
        now = self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            holder, _ = await self._enrolled_holder(uow, session)
            codes = new_recovery_codes()
            await uow.factors.replace_recovery_codes(holder.identifier, codes, now)
            holder.record(ev.RecoveryCodesRegenerated, now)
            await uow.commit()
            return codes

    async def remove(self, session: ValidSession, kind: FactorKind, client: str = "") -> None:
        now = self.tools.clock()
        if kind != FactorKind.TOTP:
            raise InvalidArgument([FieldViolation("kind", "only the authenticator app (TOTP) is removed here")])
        async with self.tools.uow(client=client) as uow:
            holder, status = await self._enrolled_holder(uow, session)
            if FactorKind.TOTP not in status.enrolled:
                raise FailedPrecondition("SECOND_FACTOR_NOT_ENROLLED", "no authenticator app is set up")
            await remove_factor(uow, holder, FactorKind.TOTP, keeps_other=FactorKind.PASSKEY in status.enrolled,
                                now=now, keeping=session.digest)
            await uow.commit()

    async def _enrolled_holder(self, uow: IdentityUnitOfWork,
                               session: ValidSession) -> tuple[Account, FactorStatus]:
        """The holder (locked), for a change to an enrolled factor: only from a session that gave one recently."""
        holder, status = await locked_holder(self.tools, uow, session)
        if not status.has_factor:
            raise FailedPrecondition("SECOND_FACTOR_NOT_ENROLLED", "no second factor is set up")
        return holder, status


def _check_input(code: str) -> None:
    if not code.strip() or len(code) > MAX_CODE_INPUT:
        raise InvalidArgument([FieldViolation("code", f"is required, at most {MAX_CODE_INPUT} characters")])


async def remove_factor(uow: IdentityUnitOfWork, holder: Account, kind: FactorKind, *, keeps_other: bool,
                        now: dt.datetime, keeping: bytes, passkey: bytes = b"", detail: str = "") -> None:
    """Removes the app, or the passkey of credential id ``passkey``: alone when the account keeps another factor;
    with the recovery codes when it was the last one, which an ASL or a user whose company requires one may not do.
    Every other session of the account ends (one opened with a lost phone, say); the caller's, ``keeping``, stays."""
    if not keeps_other:
        if required_of(holder, company_requires=await uow.factors.company_requires(holder.cofor_root)):
            raise FailedPrecondition("SECOND_FACTOR_REQUIRED_OF_ACCOUNT",
                                     "your account must keep a second factor (ASL, or your company's policy)")
        await uow.factors.remove_all(holder.identifier)
    elif kind == FactorKind.TOTP:
        await uow.factors.remove_app(holder.identifier)
    else:
        await uow.passkeys.remove(holder.identifier, passkey)
    uow.sessions.spare(keeping)
    holder.record(ev.SecondFactorRemoved, now, kind=kind.value, detail=detail or kind.value.lower())
