"""Login (ARCHITECTURE §5), at the speed of the hash: one transaction before it (both rate counters in one
statement, then the attempt reservation with the company gate in another) and one after it.

Lockout is counted atomically in the database: every login first reserves an attempt (the repository's
reserve_attempt), so replicas and parallel guesses can never check more than the threshold; a success gives the
attempt back. Unknown, blocked-at-threshold and disabled accounts answer exactly like a wrong password, after the
same hashing work (two verifications on every failure, one on success). The rule that blocks lives in
Account.register_failure."""
from __future__ import annotations

import datetime as dt
from typing import NoReturn

from kit import ratelimit
from kit.errors import FieldViolation, InvalidArgument, PermissionDenied

from identity.adapters.repository import Gate
from identity.domain import events as ev
from identity.domain.accounts import Account, MalformedIdentifier, State, parse_identifier
from identity.domain.factors import Step
from identity.domain.passwords import normalize
from identity.service_layer.common import MAX_PASSWORD_INPUT, OpenedSession, Tools, invalid_credentials, open_session
from identity.service_layer.second_factor import step_after

REFUSALS = {
    "ACCOUNT_DISABLED": "this account is disabled",
    "ACCOUNT_BLOCKED": "this account is blocked: ask your administrator",
    "TEMPORARY_PASSWORD_EXPIRED": "this temporary password has expired",
    "COMPANY_ACCESS_CLOSED": "your company's portal access is closed",
}


class Login:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools
        s = tools.settings
        self.per_client = ratelimit.Limit("login-client", s.login_limit_per_client_per_minute, 60)
        self.per_identifier = ratelimit.Limit("login-identifier", s.login_limit_per_identifier_per_minute, 60)

    async def __call__(self, identifier_text: str, password: str, client: str = "") -> OpenedSession:
        identifier = _checked(identifier_text, password)
        password = normalize(password)
        now = self.tools.clock()
        threshold = self.tools.settings.lockout_threshold
        limits = [(self.per_client, client)] if client else []
        async with self.tools.uow(client=client) as uow:
            await uow.rate_limits.enforce([*limits, (self.per_identifier, identifier)])
            account, gate = await uow.accounts.reserve_attempt(identifier, threshold)
            # Unknown, or at the threshold already: read (for an ASL's reset password only), never checked.
            known = await uow.accounts.get(identifier) if account is None else None
            await uow.commit()
        if account is None:
            return await self._not_reserved(identifier, known, password, client, now)

        hasher = self.tools.hasher
        if await hasher.verify(account.password_hash, password):
            return await self._password_right(account, password, gate, client, now)
        reset = account.reset_hash if account.reset_valid(now) and account.state != State.DISABLED else None
        previous = None if reset else account.previous_password_hash(
            now, self.tools.settings.previous_password_block_days)
        second = await hasher.verify(reset or previous, password)
        if second and reset:
            return await self._reset_password_used(account, client, now)
        async with self.tools.uow(client=client) as uow:
            current = await uow.accounts.get(identifier, for_update=True)
            assert current is not None  # accounts are never deleted
            if current.register_failure(now, threshold=threshold, replayed_previous=bool(second and previous)):
                await uow.accounts.save(current, now)
            # The attempt's own number, as reserved: parallel guesses each show theirs (1, 2, 3…), not the last.
            current.record(ev.LoginFailed, now, detail=f"attempt {account.failed_attempts}")
            await uow.commit()
        raise invalid_credentials()

    async def _not_reserved(self, identifier: str, known: Account | None, password: str, client: str,
                            now: dt.datetime) -> OpenedSession:
        """Only an ASL's self-service reset password (a fresh random secret) still opens a blocked account."""
        usable = known is not None and known.reset_valid(now) and known.state != State.DISABLED
        if await self.tools.hasher.verify(known.reset_hash if known and usable else None, password):
            assert known is not None
            return await self._reset_password_used(known, client, now)
        await self.tools.hasher.verify(None, password)  # the same work as a wrong password
        async with self.tools.uow(client=client) as uow:
            uow.record(ev.LoginFailed(identifier=identifier, cofor_root=known.cofor_root if known else "", at=now,
                                      detail="not checked" if known else "unknown identifier"))
            await uow.commit()
        raise invalid_credentials()

    async def _password_right(self, account: Account, password: str, gate: Gate, client: str,
                              now: dt.datetime) -> OpenedSession:
        # The password is right: only now is the real reason of a refusal given.
        if reason := account.login_refusal(now, company_open=gate.company_open):
            await self._refuse(account, reason, client, now)
        hasher = self.tools.hasher
        new_hash = await hasher.hash(password) if hasher.needs_rehash(account.password_hash) else None
        must_change = account.must_change_password or account.password_expired(
            now, self.tools.settings.password_max_age_days)
        async with self.tools.uow(client=client) as uow:
            step, available = await step_after(self.tools, uow, account, gate)
            opened = await open_session(self.tools, uow, account, must_change, now, step=step, available=available)
            if step != Step.VERIFY:  # the device of a login waiting for its factor is looked at once it is given
                account.signed_in_from(opened.device, now)
            await uow.accounts.logged_in(account, now, new_hash)
            account.record(ev.SecondFactorChallenged if step == Step.VERIFY else ev.LoggedIn, now)
            await uow.commit()
            return opened

    async def _reset_password_used(self, account: Account, client: str, now: dt.datetime) -> OpenedSession:
        """An ASL's self-service reset password: a session that may only change the password (even BLOCKED), after
        the second factor when the account has one (a reset never bypasses it)."""
        async with self.tools.uow(client=client) as uow:
            company_open = await uow.companies.is_open(account.cofor_root)
            if company_open:
                current = await uow.accounts.get(account.identifier, for_update=True)
                assert current is not None
                current.failed_attempts = 0
                step, available = await step_after(self.tools, uow, current)
                verify = step if step == Step.VERIFY else Step.NONE  # enrolment comes after the change
                opened = await open_session(self.tools, uow, current, True, now, step=verify, available=available)
                if verify != Step.VERIFY:
                    current.signed_in_from(opened.device, now)
                await uow.accounts.save(current, now)
                current.record(ev.SecondFactorChallenged if verify == Step.VERIFY else ev.LoggedIn, now,
                               detail="self-service reset password")
                await uow.commit()
                return opened
        await self._refuse(account, "COMPANY_ACCESS_CLOSED", client, now)

    async def _refuse(self, account: Account, reason: str, client: str, now: dt.datetime) -> NoReturn:
        async with self.tools.uow(client=client) as uow:
            await uow.accounts.give_back_attempt(account.identifier)
            uow.record(ev.LoginRefused(identifier=account.identifier, cofor_root=account.cofor_root, at=now,
                                       reason=reason, detail=reason.lower()))
            await uow.commit()
        raise PermissionDenied(reason, REFUSALS[reason])


def _checked(identifier_text: str, password: str) -> str:
    v = []
    identifier = ""
    try:
        identifier = parse_identifier(identifier_text)
    except MalformedIdentifier as exc:
        v.append(FieldViolation("identifier", str(exc)))
    if not password or len(password) > MAX_PASSWORD_INPUT:
        v.append(FieldViolation("password", f"is required, at most {MAX_PASSWORD_INPUT} characters"))
    if v:
        raise InvalidArgument(v)
    return identifier
