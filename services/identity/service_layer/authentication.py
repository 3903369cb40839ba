"""Login, sessions, logout and password change.

Lockout is counted atomically in the database: every login first reserves an attempt with one conditional
UPDATE (``failed_attempts < threshold``), so replicas and parallel guesses can never check more than the
threshold; a success gives the attempt back. Unknown, blocked-at-threshold and disabled accounts answer exactly
like a wrong password, after the same hashing work.
"""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from portal.identity.v1 import events_pb2 as ev
from sqlalchemy import select, update

from kit import ratelimit
from kit.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from kit.notify import Template

from identity.adapters.orm import accounts, companies, sessions
from identity.domain.accounts import Account, LockCause, MalformedIdentifier, State, parse_identifier
from identity.domain.passwords import check_policy, normalize
from identity.service_layer.base import Base, OpenedSession, token_digest
from identity.service_layer.unit_of_work import IdentityUnitOfWork, account_from_row

MAX_PASSWORD_INPUT = 1024


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("INVALID_CREDENTIALS", "identifier or password incorrect")


@dataclass(frozen=True)
class ValidSession:
    account: Account
    must_change_password: bool
    expires_at: dt.datetime
    idle_expires_at: dt.datetime
    digest: bytes
    cache_slot: dict[str, Any]  # per-session scratch space that lives as long as the cached row


class Authentication(Base):
    # ---- login --------------------------------------------------------------------------------------------

    def _limits(self) -> tuple[ratelimit.Limit, ratelimit.Limit]:
        s = self.settings
        return (ratelimit.Limit("login-client", s.login_limit_per_client_per_minute, 60),
                ratelimit.Limit("login-identifier", s.login_limit_per_identifier_per_minute, 60))

    async def login(self, identifier_text: str, password: str, client: str = "") -> OpenedSession:
        v = []
        try:
            identifier = parse_identifier(identifier_text)
        except MalformedIdentifier as exc:
            v.append(FieldViolation("identifier", str(exc)))
        if not password or len(password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("password", f"is required, at most {MAX_PASSWORD_INPUT} characters"))
        if v:
            raise InvalidArgument(v)
        password = normalize(password)
        now = self.now()
        per_client, per_identifier = self._limits()
        async with self.uow() as uow:
            if client:
                await ratelimit.enforce(uow.session, per_client, client)
            await ratelimit.enforce(uow.session, per_identifier, identifier)
            reserved = await self._reserve_attempt(uow, identifier)
            company_open = await self._company_open(uow, reserved.cofor_root) if reserved else False
            await uow.commit()

        if reserved is None:
            # Unknown, or at the threshold already: the password is not checked, but the time spent is the same.
            # Only an ASL's self-service reset password (a fresh random secret) still opens a blocked account.
            async with self.uow(readonly=True) as uow:
                known = await uow.account(identifier)
            reset = known.reset_hash if known and known.reset_valid(now) and known.state != State.DISABLED else None
            if await self.hasher.verify(reset, password):
                assert known is not None
                return await self._reset_password_used(known, client, now)
            await self.hasher.verify(None, password)
            await self._record_failure(identifier, None, client, now)
            raise invalid_credentials()

        account = reserved
        if await self.hasher.verify(account.password_hash, password):
            return await self._password_right(account, password, company_open, client, now)
        reset = account.reset_hash if account.reset_valid(now) and account.state != State.DISABLED else None
        previous = None if reset else account.previous_password_hash(now, self.settings.previous_password_block_days)
        second = await self.hasher.verify(reset or previous, password)
        if second and reset:
            return await self._reset_password_used(account, client, now)
        async with self.uow() as uow:
            current = await uow.account(identifier, for_update=True)
            assert current is not None
            if second and previous and current.state == State.ACTIVE:
                await self.lock(uow, current, LockCause.PREVIOUS_PASSWORD, now, client)
            elif current.failed_attempts >= self.settings.lockout_threshold and current.state == State.ACTIVE:
                await self.lock(uow, current, LockCause.FAILED_ATTEMPTS, now, client)
            uow.audit("LOGIN_FAILED", subject=identifier, cofor_root=current.cofor_root, client=client, now=now,
                      detail=f"attempt {current.failed_attempts}")
            await uow.commit()
        raise invalid_credentials()

    async def _reserve_attempt(self, uow: IdentityUnitOfWork, identifier: str) -> Account | None:
        """One atomic step: count the attempt unless the threshold is reached; returns the account, or None."""
        stmt = (update(accounts).where(accounts.c.identifier == identifier,
                                       accounts.c.failed_attempts < self.settings.lockout_threshold)
                .values(failed_attempts=accounts.c.failed_attempts + 1).returning(*accounts.c))
        row = (await uow.session.execute(stmt)).mappings().first()
        return account_from_row(row) if row else None

    async def _record_failure(self, identifier: str, cofor_root: str | None, client: str, now: dt.datetime) -> None:
        async with self.uow() as uow:
            known = await uow.account(identifier)
            uow.audit("LOGIN_FAILED", subject=identifier, cofor_root=known.cofor_root if known else "",
                      client=client, now=now, detail="not checked" if known else "unknown identifier")
            await uow.commit()

    async def _give_back_attempt(self, uow: IdentityUnitOfWork, identifier: str) -> None:
        await uow.session.execute(update(accounts).where(accounts.c.identifier == identifier,
                                                         accounts.c.failed_attempts > 0)
                                  .values(failed_attempts=accounts.c.failed_attempts - 1))

    async def _refuse(self, account: Account, reason: str, message: str, client: str, now: dt.datetime) -> None:
        async with self.uow() as uow:
            await self._give_back_attempt(uow, account.identifier)
            uow.audit("LOGIN_REFUSED", subject=account.identifier, cofor_root=account.cofor_root, client=client,
                      detail=reason.lower(), now=now)
            await uow.commit()
        raise PermissionDenied(reason, message)

    async def _company_open(self, uow: IdentityUnitOfWork, cofor_root: str) -> bool:
        row = (await uow.session.execute(select(companies.c.supplier_active, companies.c.access_open).where(
            companies.c.cofor_root == cofor_root))).first()
        return bool(row and row.supplier_active and row.access_open)

    async def _password_right(self, account: Account, password: str, company_open: bool, client: str,
                              now: dt.datetime) -> OpenedSession:
        # The password is right: only now is the real reason of a refusal given.
        if account.state == State.DISABLED:
            await self._refuse(account, "ACCOUNT_DISABLED", "this account is disabled", client, now)
        if account.state == State.BLOCKED:
            await self._refuse(account, "ACCOUNT_BLOCKED", "this account is blocked: ask your administrator",
                               client, now)
        if account.temporary_password_expired(now):
            await self._refuse(account, "TEMPORARY_PASSWORD_EXPIRED", "this temporary password has expired",
                               client, now)
        if not company_open:
            await self._refuse(account, "COMPANY_ACCESS_CLOSED", "your company's portal access is closed",
                               client, now)
        new_hash = await self.hasher.hash(password) if self.hasher.needs_rehash(account.password_hash) else None
        must_change = account.must_change_password or account.password_expired(
            now, self.settings.password_max_age_days)
        async with self.uow() as uow:
            # One targeted statement: the hot path of every login.
            await uow.session.execute(update(accounts).where(accounts.c.identifier == account.identifier)
                                      .values(failed_attempts=0, last_login_at=now))
            if new_hash:  # parameters changed since this hash was made; only if nobody changed it meanwhile
                await uow.session.execute(update(accounts).where(
                    accounts.c.identifier == account.identifier,
                    accounts.c.password_hash == account.password_hash).values(password_hash=new_hash))
            opened = await self.open_session(uow, account, must_change, now)
            uow.audit("LOGIN_SUCCEEDED", subject=account.identifier, cofor_root=account.cofor_root, client=client,
                      now=now)
            await uow.commit()
            return opened

    async def _reset_password_used(self, account: Account, client: str, now: dt.datetime) -> OpenedSession:
        """An ASL's self-service reset password: a session that may only change the password (even BLOCKED)."""
        async with self.uow(readonly=True) as uow:
            company_open = await self._company_open(uow, account.cofor_root)
        if not company_open:
            await self._refuse(account, "COMPANY_ACCESS_CLOSED", "your company's portal access is closed",
                               client, now)
        async with self.uow() as uow:
            current = await uow.account(account.identifier, for_update=True)
            assert current is not None
            current.failed_attempts = 0
            await uow.save(current, now)
            opened = await self.open_session(uow, current, True, now)
            uow.audit("LOGIN_SUCCEEDED", subject=current.identifier, cofor_root=current.cofor_root, client=client,
                      detail="self-service reset password", now=now)
            await uow.commit()
            return opened

    # ---- sessions -------------------------------------------------------------------------------------------

    async def validate(self, token: str | None, *, touch: bool = True) -> ValidSession:
        if not token:
            raise Unauthenticated("SESSION_REQUIRED", "a session is required")
        digest = token_digest(token)
        now = self.now()
        row = self.session_cache.get(digest)
        if row is None:
            query = select(sessions, accounts).join(accounts, accounts.c.identifier == sessions.c.identifier).where(
                sessions.c.token_digest == digest)
            async with self.uow(readonly=True) as uow:
                found = (await uow.session.execute(query)).mappings().first()
            row = dict(found) if found else None
            if row is not None:
                self.session_cache.put(digest, row)
        if (row is None or row["revoked_at"] is not None or now >= row["expires_at"]
                or now >= row["idle_expires_at"]):
            raise Unauthenticated("SESSION_INVALID", "the session is unknown, expired or revoked")
        idle = row["idle_expires_at"]
        # Activity pushes the idle expiry; written at most once a minute per session, not on every call.
        if touch and idle - now < self.idle - dt.timedelta(minutes=1):
            idle = min(now + self.idle, row["expires_at"])
            async with self.uow() as uow:
                await uow.session.execute(update(sessions).where(sessions.c.token_digest == digest,
                                                                 sessions.c.revoked_at.is_(None))
                                          .values(idle_expires_at=idle))
                await uow.commit()
            row["idle_expires_at"] = idle
        account = row.get("_account")
        if account is None:  # built once per cached row: this is the hot path of every page view
            account = row["_account"] = account_from_row(row)
        return ValidSession(account, bool(row["must_change_password"]), row["expires_at"], idle, digest, row)

    async def logout(self, token: str | None, client: str = "") -> None:
        if not token:
            raise Unauthenticated("SESSION_REQUIRED", "a session is required")
        now = self.now()
        async with self.uow() as uow:
            row = (await uow.session.execute(select(sessions.c.identifier, sessions.c.revoked_at).where(
                sessions.c.token_digest == token_digest(token)))).first()
            if row is None or row.revoked_at is not None:
                self.session_cache.evict(token_digest(token))
                return  # logging out twice, or an expired session, succeeds
            uow.on_commit(lambda: self.session_cache.revoked([row.identifier]))
            await uow.session.execute(update(sessions).where(sessions.c.token_digest == token_digest(token))
                                      .values(revoked_at=now))
            account = await uow.account(row.identifier)
            uow.audit("LOGOUT", subject=row.identifier, cofor_root=account.cofor_root if account else "",
                      client=client, now=now)
            await uow.commit()

    # ---- password change ----------------------------------------------------------------------------------

    async def change_password(self, session: ValidSession, current_password: str, new_password: str,
                              client: str = "") -> OpenedSession:
        v = []
        if not current_password or len(current_password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("current_password", "is required"))
        if not new_password or len(new_password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("new_password", "is required"))
        if v:
            raise InvalidArgument(v)
        now = self.now()
        account = session.account
        current_password, new_password = normalize(current_password), normalize(new_password)
        via_reset = False
        if not await self.hasher.verify(account.password_hash, current_password):
            reset = account.reset_hash if account.reset_valid(now) else None
            via_reset = await self.hasher.verify(reset, current_password)
            if not via_reset:
                await self._wrong_current_password(account, client, now)
        violations = check_policy(new_password, identifier=account.identifier, cofor_root=account.cofor_root,
                                  email=account.email, min_length=self.settings.password_min_length)
        recent = [account.password_hash, *account.password_history][: self.settings.password_history]
        for old in recent:
            if await self.hasher.verify(old, new_password):
                violations.append(_recently_used(self.settings.password_history))
                break
        if violations:
            async with self.uow() as uow:
                uow.audit("PASSWORD_CHANGE_FAILED", subject=account.identifier, cofor_root=account.cofor_root,
                          client=client, detail=",".join(x.reason for x in violations), now=now)
                await uow.commit()
            raise InvalidArgument([FieldViolation("new_password", x.description, x.reason) for x in violations],
                                  reason="PASSWORD_POLICY_VIOLATION",
                                  message="the new password does not follow the password policy")
        new_hash = await self.hasher.hash(new_password)
        async with self.uow() as uow:
            current = await uow.account(account.identifier, for_update=True)
            assert current is not None
            if current.password_hash != account.password_hash:
                raise Unauthenticated("SESSION_INVALID", "the password changed meanwhile: log in again")
            was_temporary = current.must_change_password
            if not was_temporary:  # a chosen password goes to the history; a temporary one is just dropped
                current.password_history = [current.password_hash, *current.password_history][
                    : self.settings.password_history - 1]
            unblocked = via_reset and current.state == State.BLOCKED
            current.password_hash, current.password_changed_at = new_hash, now
            current.must_change_password, current.password_expires_at = False, None
            current.reset_hash, current.reset_expires_at, current.failed_attempts = None, None, 0
            if unblocked:
                current.state, current.lock_cause = State.ACTIVE, LockCause.NONE
            await uow.save(current, now)
            await self.revoke_sessions(uow, [current.identifier], now)
            opened = await self.open_session(uow, current, False, now)
            uow.publish("identity.password.changed", ev.PasswordChanged(
                identifier=current.identifier, cofor_root=current.cofor_root, was_temporary=was_temporary))
            if unblocked:
                uow.publish("identity.account.unlocked", ev.AccountUnlocked(
                    identifier=current.identifier, cofor_root=current.cofor_root, actor=current.identifier,
                    method=ev.UNLOCK_METHOD_SELF_SERVICE_RESET))
                uow.audit("ACCOUNT_UNLOCKED", subject=current.identifier, cofor_root=current.cofor_root,
                          client=client, detail="self-service reset", now=now)
            uow.audit("PASSWORD_CHANGED", subject=current.identifier, cofor_root=current.cofor_root,
                      client=client, now=now)
            self.mail(uow, Template.EMAIL_TEMPLATE_PASSWORD_CHANGED_NOTICE, current,
                      params={"identifier": current.identifier, "change_time": now.isoformat()})
            await uow.commit()
            return opened

    async def _wrong_current_password(self, account: Account, client: str, now: dt.datetime) -> None:
        async with self.uow() as uow:
            reserved = await self._reserve_attempt(uow, account.identifier)
            current = await uow.account(account.identifier, for_update=True)
            assert current is not None
            if reserved is None or current.failed_attempts >= self.settings.lockout_threshold:
                if current.state == State.ACTIVE:
                    await self.lock(uow, current, LockCause.FAILED_ATTEMPTS, now, client)
            uow.audit("PASSWORD_CHANGE_FAILED", subject=current.identifier, cofor_root=current.cofor_root,
                      client=client, detail="current password incorrect", now=now)
            await uow.commit()
        raise InvalidArgument([FieldViolation("current_password", "is not your current password")],
                              reason="CURRENT_PASSWORD_INCORRECT", message="the current password is incorrect")


def _recently_used(history: int) -> Any:
    from identity.domain.passwords import PolicyViolation
    return PolicyViolation("PASSWORD_RECENTLY_USED", f"must differ from your last {history} passwords")


def same_text(a: str, b: str) -> bool:
    """Exact, case-sensitive comparison in constant time (recovery forms)."""
    return hmac.compare_digest(a.encode(), b.encode())
