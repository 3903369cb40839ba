"""Sessions: validation (the hot path of every page view, answered from a per-process cache), logout, a holder's
own sessions ("My sessions": list, end one, end the others) and an ASL's or support's "end this account's
sessions". Whatever ends a session evicts it from every replica's cache and owes its applications' back-channel
logouts, as a logout does."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from kit.digests import token_digest
from kit.errors import FieldViolation, InvalidArgument, NotFound, Unauthenticated

from identity.adapters.repository import account_from_row
from identity.adapters.session_cache import SessionCache
from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.devices import Device
from identity.domain.factors import Step, acr_of, outlived_by_factor
from identity.service_layer.common import Tools
from identity.service_layer.console_access import Actor, locked_target, note

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the shape of a session's public id; anything else names nothing


@dataclass(frozen=True)
class ValidSession:
    account: Account
    must_change_password: bool
    expires_at: dt.datetime
    idle_expires_at: dt.datetime
    digest: bytes
    cache_slot: dict[str, Any]  # per-session scratch space that lives as long as the cached row
    step: Step = Step.NONE  # what the session still needs before it opens anything (ARCHITECTURE §15)
    amr: str = "pwd"
    opened_at: dt.datetime | None = None  # when the session was opened (by the password, a factor…)

    @property
    def acr(self) -> str:
        return acr_of(self.amr)


@dataclass(frozen=True)
class OwnSession:
    """One live session as its holder sees it: never its token nor its digest."""
    public_id: str
    device: Device
    created_at: dt.datetime
    last_active_at: dt.datetime
    expires_at: dt.datetime
    current: bool


def _own(row: dict[str, Any], caller: bytes) -> OwnSession:
    return OwnSession(row["public_id"] or "", Device(row["browser"], row["operating_system"], row["client_address"],
                                                     row["user_agent"] or ""),
                      row["created_at"], row["last_active_at"] or row["created_at"], row["expires_at"],
                      row["token_digest"] == caller)


def _described(s: OwnSession) -> str:
    """Which session, for the trail (never its token or id)."""
    d = s.device
    return (f"{d.browser or 'unknown browser'} on {d.operating_system or 'unknown system'}, "
            f"{d.client_address or 'unknown address'}, opened {s.created_at:%Y-%m-%d %H:%M} UTC")


def session_not_found() -> NotFound:
    return NotFound("SESSION_NOT_FOUND", "no live session of your account has this id")


def session_required() -> Unauthenticated:
    return Unauthenticated("SESSION_REQUIRED", "a session is required")


class Sessions:
    def __init__(self, tools: Tools, cache: SessionCache) -> None:
        self.tools = tools
        self.cache = cache

    async def validate(self, token: str | None, *, touch: bool = True) -> ValidSession:
        if not token:
            raise session_required()
        return await self.validate_digest(token_digest(token), touch=touch)

    async def validate_digest(self, digest: bytes, *, touch: bool = True) -> ValidSession:
        """The session of this token digest, live (an application's tokens live as long as their session)."""
        now = self.tools.clock()
        row = self.cache.get(digest)
        if row is None:
            since = self.cache.loading()  # ended meanwhile: not cached (it is refused below, or at the next read)
            async with self.tools.uow(readonly=True) as uow:
                row = await uow.sessions.with_account(digest)
            if row is not None:
                self.cache.put(digest, row, since)
        if (row is None or row["revoked_at"] is not None or now >= row["expires_at"]
                or now >= row["idle_expires_at"]):
            raise Unauthenticated("SESSION_INVALID", "the session is unknown, expired or revoked")
        account = row.get("_account")
        if account is None:  # built once per cached row: this is the hot path of every page view
            account = row["_account"] = account_from_row(row)
        step = Step(row["second_factor_step"])
        if not account.honours_session(must_change_password=bool(row["must_change_password"]),
                                       company_open=bool(row["company_open"])) or outlived_by_factor(
                row["amr"], step, has_factor=bool(row["factor_count"])):
            raise Unauthenticated("SESSION_INVALID", "the session is unknown, expired or revoked")
        idle = row["idle_expires_at"]
        # Activity pushes the idle expiry, never past the absolute one; written at most once a minute per session
        # (so never in a session's last minutes, nor for a half-done login, whose idle expiry is its absolute one).
        pushed = min(now + self.tools.idle, row["expires_at"])
        if touch and pushed - idle > dt.timedelta(minutes=1):
            idle = pushed
            async with self.tools.uow() as uow:
                await uow.sessions.touch(digest, idle, now)
                await uow.commit()
            row["idle_expires_at"], row["last_active_at"] = idle, now
        return ValidSession(account, bool(row["must_change_password"]), row["expires_at"], idle, digest, row, step,
                            row["amr"], row["session_opened_at"])

    async def logout(self, token: str | None, client: str = "") -> None:
        if not token:
            raise session_required()
        now = self.tools.clock()
        digest = token_digest(token)
        async with self.tools.uow(client=client) as uow:
            holder = await uow.sessions.holder(digest)
            if holder is None or holder[1]:
                self.cache.evict(digest)
                return  # logging out twice, or an expired session, succeeds
            identifier = holder[0]
            uow.on_commit(lambda: self.cache.revoked([identifier]))
            await uow.owe_logouts(now, digests=[digest])
            await uow.sessions.revoke(digest, now)
            account = await uow.accounts.get(identifier)
            uow.record(ev.LoggedOut(identifier=identifier, cofor_root=account.cofor_root if account else "", at=now))
            await uow.commit()

    # ---- a holder's own sessions, an account's sessions ----------------------------------------------------------

    async def mine(self, session: ValidSession) -> list[OwnSession]:
        """The holder's live sessions, the caller's first."""
        now = self.tools.clock()
        async with self.tools.uow(readonly=True) as uow:
            rows = await uow.sessions.live_of(session.account.identifier, now)
        found = [_own(r, session.digest) for r in rows]
        return [s for s in found if s.current] + [s for s in found if not s.current]

    async def end_mine(self, session: ValidSession, public_id: str, others: bool, client: str = "") -> int:
        """One of the holder's sessions (the caller's own too: a logout), or every other one; how many ended. An id
        of another account's session is as unknown as a made-up one."""
        if bool(public_id) == others:
            raise InvalidArgument([FieldViolation("session_id", "give a session_id, or others, not both")])
        if public_id and not PUBLIC_ID.fullmatch(public_id):
            raise session_not_found()
        now, identifier = self.tools.clock(), session.account.identifier
        async with self.tools.uow(client=client) as uow:
            account = await uow.accounts.get(identifier)
            assert account is not None  # accounts are never deleted
            if others:
                uow.sessions.spare(session.digest)
                count = await uow.sessions.count_live(identifier, now)
                if count:
                    account.record(ev.SessionsEnded, now, count=count, detail=f"every other session ({count})")
            else:
                row = await uow.sessions.live_named(identifier, public_id, now)
                if row is None:
                    raise session_not_found()
                await uow.owe_logouts(now, digests=[row["token_digest"]])
                count = int(await uow.end_session(row["token_digest"], identifier, now))
                if count:
                    account.record(ev.SessionEnded, now, detail=_described(_own(row, session.digest)))
            await uow.commit()
        return count

    async def end_all(self, actor: Actor, identifier: str, reason: str = "") -> int:
        """Every session of an account, ended by an ASL of its company or support staff (agent and reason); how many
        were live. The account is locked as for any console change (console_access.locked_target)."""
        detail = note(actor, reason)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            count = await uow.sessions.count_live(account.identifier, now)
            said = f"{count} live session{'' if count == 1 else 's'}"
            account.record(ev.SessionsEnded, now, actor=actor.name, count=count,
                           detail=f"{said}: {detail}" if detail else said)
            await uow.commit()
        return count
