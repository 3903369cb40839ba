"""ChangePassword: the holder's own change (from a temporary, an expired or a chosen password, or an ASL's
self-service reset password). The history and the unblocking live in Account.change_password."""
from __future__ import annotations

import datetime as dt
from typing import NoReturn

from kit.errors import FieldViolation, InvalidArgument, Unauthenticated

from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.factors import Step
from identity.domain.passwords import PolicyViolation, check_policy, normalize
from identity.service_layer.common import MAX_PASSWORD_INPUT, OpenedSession, Tools, open_session
from identity.service_layer.second_factor import step_after
from identity.service_layer.sessions import ValidSession


class PasswordChange:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def __call__(self, session: ValidSession, current_password: str, new_password: str,
                       client: str = "") -> OpenedSession:
        v = []
        if not current_password or len(current_password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("current_password", "is required"))
        if not new_password or len(new_password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("new_password", "is required"))
        if v:
            raise InvalidArgument(v)
        now, hasher, settings = self.tools.clock(), self.tools.hasher, self.tools.settings
        account = session.account
        current_password, new_password = normalize(current_password), normalize(new_password)
        via_reset = False
        if not await hasher.verify(account.password_hash, current_password):
            reset = account.reset_hash if account.reset_valid(now) else None
            via_reset = await hasher.verify(reset, current_password)
            if not via_reset:
                await self._wrong_current_password(account, client, now)
        violations = check_policy(new_password, identifier=account.identifier, cofor_root=account.cofor_root,
                                  email=account.email, min_length=settings.password_min_length)
        for old in account.recent_password_hashes(settings.password_history):
            if await hasher.verify(old, new_password):
                violations.append(PolicyViolation("PASSWORD_RECENTLY_USED",
                                                  f"must differ from your last {settings.password_history} passwords"))
                break
        if violations:
            async with self.tools.uow(client=client) as uow:
                uow.record(ev.PasswordChangeRefused(identifier=account.identifier, cofor_root=account.cofor_root,
                                                    at=now, detail=",".join(x.reason for x in violations)))
                await uow.commit()
            raise InvalidArgument([FieldViolation("new_password", x.description, x.reason) for x in violations],
                                  reason="PASSWORD_POLICY_VIOLATION",
                                  message="the new password does not follow the password policy")
        new_hash = await hasher.hash(new_password)
        async with self.tools.uow(client=client) as uow:
            current = await uow.accounts.get(account.identifier, for_update=True)
            assert current is not None
            if current.password_hash != account.password_hash:
                raise Unauthenticated("SESSION_INVALID", "the password changed meanwhile: log in again")
            current.change_password(new_hash, now, history=settings.password_history, via_reset=via_reset)
            await uow.accounts.save(current, now)
            # The factor given at login carries over; an account that must have one and has none enrols now.
            step, _ = await step_after(self.tools, uow, current)
            step = Step.ENROL if step == Step.ENROL else Step.NONE
            opened = await open_session(self.tools, uow, current, False, now, step=step,
                                        amr=session.amr)  # the others end at commit
            await uow.commit()
            return opened

    async def _wrong_current_password(self, account: Account, client: str, now: dt.datetime) -> NoReturn:
        """Counted like a wrong login password, under the same threshold."""
        threshold = self.tools.settings.lockout_threshold
        async with self.tools.uow(client=client) as uow:
            await uow.accounts.reserve_attempt(account.identifier, threshold)
            current = await uow.accounts.get(account.identifier, for_update=True)
            assert current is not None
            if current.register_failure(now, threshold=threshold):
                await uow.accounts.save(current, now)
            current.record(ev.PasswordChangeRefused, now, detail="current password incorrect")
            await uow.commit()
        raise InvalidArgument([FieldViolation("current_password", "is not your current password")],
                              reason="CURRENT_PASSWORD_INCORRECT", message="the current password is incorrect")
