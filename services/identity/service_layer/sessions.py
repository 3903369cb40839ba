"""Sessions: validation (the hot path of every page view, answered from a per-process cache) and logout."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kit.digests import token_digest
from kit.errors import Unauthenticated

from identity.adapters.repository import account_from_row
from identity.adapters.session_cache import SessionCache
from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.factors import Step, acr_of, outlived_by_factor
from identity.service_layer.common import Tools


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
            async with self.tools.uow(readonly=True) as uow:
                row = await uow.sessions.with_account(digest)
            if row is not None:
                self.cache.put(digest, row)
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
                await uow.sessions.touch(digest, idle)
                await uow.commit()
            row["idle_expires_at"] = idle
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
