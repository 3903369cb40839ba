"""Changing accounts: the ASL console (own company) and support staff (unlock, disable, revoke on any company).

Every change locks the company before the account (console_base._locked_target), so the rule "at least one
active ASL" holds under any concurrency: only support staff may remove a company's last active ASL."""
from __future__ import annotations

import datetime as dt

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev

from kit import validation
from kit.errors import FailedPrecondition, Violations
from kit.notify import Template

from identity.domain.accounts import Account, AccountClosed, DisabledCause, LockCause, State, mask_email
from identity.service_layer.base import temporary_password
from identity.service_layer.console_base import UPDATABLE, Actor, ConsoleBase, NewUser, person_violations
from identity.service_layer.unit_of_work import IdentityUnitOfWork


def _last_active_administrator(verb: str) -> FailedPrecondition:
    return FailedPrecondition("LAST_ACTIVE_ADMINISTRATOR", f"the company's last active administrator cannot be "
                              f"{verb}: make someone else administrator first")


class ConsoleChanges(ConsoleBase):
    async def create_user(self, actor: Actor, new: NewUser) -> Account:
        assert actor.cofor_root is not None
        values = {k: (getattr(new, k).strip() if k in ("email", "phone") else validation.clean(getattr(new, k)))
                  for k in UPDATABLE}
        v = Violations()
        person_violations(v, values)
        if err := validation.request_id_error(new.request_id):
            v.add("request_id", err)
        v.raise_if_any()
        values["language"] = validation.language_of(values["language"]) or "fr"
        password = temporary_password()
        password_hash = await self.hasher.hash(password)
        now = self.now()
        async with self.uow() as uow:
            if done := await uow.remembered("CreateUser", new.request_id, owner=actor.cofor_root):
                found = await uow.account(done)
                assert found is not None
                return found
            await uow.lock_company(actor.cofor_root)
            admin = await self._acting(uow, actor)
            account = await self.new_account(uow, cofor_root=actor.cofor_root, values=values,
                                             administrator=new.administrator, password_hash=password_hash,
                                             created_by=actor.name, now=now)
            uow.remember("CreateUser", new.request_id, account.identifier, owner=actor.cofor_root)
            company = await uow.company(actor.cofor_root)
            uow.publish("identity.account.created", ev.AccountCreated(
                identifier=account.identifier, cofor_root=account.cofor_root, display_name=account.display_name,
                actor=actor.name, roles=[pb.ROLE_USER, pb.ROLE_ADMINISTRATOR] if new.administrator else [pb.ROLE_USER]))
            if new.administrator:
                await uow.publish_administrators(account.cofor_root, now)
            self.mail(uow, Template.EMAIL_TEMPLATE_USER_WELCOME, account, params={
                "identifier": account.identifier, "cofor_root": account.cofor_root,
                "legal_name": company["legal_name"] if company else "",
                "administrator_name": admin.display_name if admin else ""})
            self.mail_temporary_password(uow, account, password, account.password_expires_at, "new_account")  # type: ignore[arg-type]
            self._audit(uow, "ACCOUNT_CREATED", actor, account, now, "administrator" if new.administrator else "")
            await uow.commit()
            return account

    async def update_user(self, actor: Actor, identifier: str, values: dict[str, str], paths: list[str]) -> Account:
        v = Violations()
        for p in paths:
            if p not in UPDATABLE:
                v.add("update_mask", f"{p} is not an updatable field")
        selected = paths or [k for k in UPDATABLE if values.get(k)]
        changes = {k: (values[k].strip() if k in ("email", "phone") else validation.clean(values[k]))
                   for k in selected if k in UPDATABLE}
        person_violations(v, changes, prefix="account.")
        v.raise_if_any()
        if "language" in changes:
            changes["language"] = validation.language_of(changes["language"]) or "fr"
        now = self.now()
        async with self.uow() as uow:
            account, me = await self._locked_target(uow, actor, identifier)
            renamed = any(k in changes for k in ("given_name", "family_name"))
            previous_email = account.change_contact(changes)
            await uow.save(account, now)
            if renamed and account.is_active_administrator:
                await uow.publish_administrators(account.cofor_root, now)
            detail = ",".join(sorted(changes))
            if previous_email is not None:
                await self._email_changed(uow, account, previous_email, me, now)
                detail += (f"; e-mail {mask_email(previous_email)} -> {mask_email(account.email)}: previous address "
                           "told, sessions ended")
            self._audit(uow, "ACCOUNT_UPDATED", actor, account, now, detail)
            await uow.commit()
            return account

    async def _email_changed(self, uow: IdentityUnitOfWork, account: Account, previous: str, me: Account | None,
                             now: dt.datetime) -> None:
        """Whoever redirects an account's mail must not take it over silently: the previous address is told, and
        whatever the account had opened (sessions; a reset mailed to the old address is voided) ends."""
        await self.revoke_sessions(uow, [account.identifier], now)
        self.mail(uow, Template.EMAIL_TEMPLATE_EMAIL_CHANGED_NOTICE, account, address=previous, params={
            "identifier": account.identifier, "masked_new_email": mask_email(account.email),
            "change_time": now.isoformat(), "actor_name": me.display_name if me else "support"})

    async def disable_user(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        note = self._note(actor, reason)
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            if account.state == State.DISABLED:
                return account
            if not actor.is_support and account.is_last_active_administrator(
                    await uow.company_accounts(account.cofor_root)):
                raise _last_active_administrator("disabled")
            account.state, account.disabled_cause = State.DISABLED, DisabledCause.ADMINISTRATOR
            await uow.save(account, now)
            await self.revoke_sessions(uow, [account.identifier], now)
            uow.publish("identity.account.disabled", ev.AccountDisabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR))
            if account.is_administrator:
                await uow.publish_administrators(account.cofor_root, now)  # empty when support removed the last
            self._audit(uow, "ACCOUNT_DISABLED", actor, account, now, note)
            await uow.commit()
            return account

    async def enable_user(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            try:
                if not account.enable():
                    return account
            except AccountClosed:
                raise FailedPrecondition("ACCOUNT_CLOSED", "this account was closed when the company's portal "
                                         "access was reset: create a new account instead") from None
            await uow.save(account, now)
            uow.publish("identity.account.enabled", ev.AccountEnabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR))
            if account.is_administrator:
                await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ACCOUNT_ENABLED", actor, account, now)
            await uow.commit()
            return account

    async def unlock_user(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        note = self._note(actor, reason)
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            if account.state == State.DISABLED:
                raise FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled: enable it instead")
            if account.state != State.BLOCKED:
                return account
            account.state, account.lock_cause, account.failed_attempts = State.ACTIVE, LockCause.NONE, 0
            await uow.save(account, now)
            uow.publish("identity.account.unlocked", ev.AccountUnlocked(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                method=ev.UNLOCK_METHOD_SUPPORT if actor.is_support else ev.UNLOCK_METHOD_ADMINISTRATOR))
            self._audit(uow, "ACCOUNT_UNLOCKED", actor, account, now, note)
            await uow.commit()
            return account

    async def reset_user_password(self, actor: Actor, identifier: str) -> Account:
        password = temporary_password()
        password_hash = await self.hasher.hash(password)
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            if account.state == State.DISABLED:
                raise FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled: enable it first")
            if not account.must_change_password:  # the chosen password joins the history (no reuse, replay check)
                account.password_history = [account.password_hash, *account.password_history][
                    : self.settings.password_history - 1]
                account.password_changed_at = now
            expires = now + dt.timedelta(hours=self.settings.temporary_password_hours)
            account.password_hash, account.must_change_password, account.password_expires_at = password_hash, True, expires
            account.failed_attempts, account.reset_hash, account.reset_expires_at = 0, None, None
            unblocked = account.state == State.BLOCKED
            account.state, account.lock_cause = State.ACTIVE, LockCause.NONE
            await uow.save(account, now)
            await self.revoke_sessions(uow, [account.identifier], now)
            self.mail_temporary_password(uow, account, password, expires, "reset")
            uow.publish("identity.password.reset", ev.PasswordReset(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                kind=ev.PASSWORD_RESET_KIND_BY_ADMINISTRATOR, temporary_password_expire_time=self.expire(expires)))  # type: ignore[arg-type]
            if unblocked:
                uow.publish("identity.account.unlocked", ev.AccountUnlocked(
                    identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                    method=ev.UNLOCK_METHOD_ADMINISTRATOR))
            self._audit(uow, "PASSWORD_RESET", actor, account, now, "by administrator")
            await uow.commit()
            return account

    async def grant_administrator(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            if account.state == State.DISABLED:
                raise FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled")
            if account.is_administrator:
                return account
            account.is_administrator = True
            account.roles = ["USER", "ADMINISTRATOR"]
            await uow.save(account, now)
            uow.publish("identity.administrator.granted", ev.AdministratorGranted(
                identifier=account.identifier, cofor_root=account.cofor_root, display_name=account.display_name,
                actor=actor.name))
            await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ADMINISTRATOR_GRANTED", actor, account, now)
            await uow.commit()
            return account

    async def revoke_administrator(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        note = self._note(actor, reason)
        now = self.now()
        async with self.uow() as uow:
            account, _ = await self._locked_target(uow, actor, identifier)
            if not account.is_administrator:
                return account
            if not actor.is_support and account.is_last_active_administrator(
                    await uow.company_accounts(account.cofor_root)):
                raise _last_active_administrator("revoked")
            account.is_administrator = False
            account.roles = ["USER"]
            await uow.save(account, now)
            await self.revoke_sessions(uow, [account.identifier], now)  # its sessions carried the role
            uow.publish("identity.administrator.revoked", ev.AdministratorRevoked(
                identifier=account.identifier, cofor_root=account.cofor_root, display_name=account.display_name,
                actor=actor.name))
            await uow.publish_administrators(account.cofor_root, now)  # empty when support removed the last
            self._audit(uow, "ADMINISTRATOR_REVOKED", actor, account, now, note)
            await uow.commit()
            return account
