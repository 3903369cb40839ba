"""Changing accounts: the ASL console (own company) and support staff (unlock, disable, revoke on any company).
Each handler finds the account in the one lock order (console_access.locked_target), asks the account to change
(its rules and events live in the domain), saves it, and commits: the unit of work sends what the events say.
Only support staff may remove a company's last active ASL."""
from __future__ import annotations

from kit import ratelimit, validation
from kit.errors import FailedPrecondition, Violations

from identity.domain import events as ev
from identity.domain.accounts import (
    Account,
    AccountClosed,
    AccountIsDisabled,
    DisabledCause,
    LastActiveAdministrator,
    State,
)
from identity.service_layer.activation import resend_link
from identity.service_layer.common import Tools
from identity.service_layer.console_access import (
    UPDATABLE,
    Actor,
    NewUser,
    acting,
    locked_target,
    note,
    person_violations,
)
from identity.service_layer.enrolment import TemporaryPassword, new_account
from identity.service_layer.unit_of_work import IdentityUnitOfWork


def _last_active_administrator(verb: str) -> FailedPrecondition:
    return FailedPrecondition("LAST_ACTIVE_ADMINISTRATOR", f"the company's last active administrator cannot be "
                              f"{verb}: make someone else administrator first")


def _disabled(message: str) -> FailedPrecondition:
    return FailedPrecondition("ACCOUNT_DISABLED", message)


def _contact(values: dict[str, str], names: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {k: (values[k].strip() if k in ("email", "phone") else validation.clean(values[k])) for k in names}


def _administrators_changed(uow: IdentityUnitOfWork, account: Account) -> None:
    uow.record(ev.AdministratorsChanged(identifier=account.identifier, cofor_root=account.cofor_root,
                                        at=account.updated_at))


class Console:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def _company(self, uow: IdentityUnitOfWork, actor: Actor, account: Account) -> list[Account] | None:
        """The company's accounts when an ASL acts (the last-ASL rule applies); None for support staff."""
        return None if actor.is_support else await uow.accounts.of_company(account.cofor_root)

    async def create_user(self, actor: Actor, new: NewUser) -> Account:
        assert actor.cofor_root is not None
        values = _contact({k: getattr(new, k) for k in UPDATABLE}, UPDATABLE)
        v = Violations()
        person_violations(v, values)
        if err := validation.request_id_error(new.request_id):
            v.add("request_id", err)
        v.raise_if_any()
        values["language"] = validation.language_of(values["language"]) or "fr"
        password = await TemporaryPassword.draw(self.tools)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            if done := await uow.remembered("CreateUser", new.request_id, owner=actor.cofor_root):
                found = await uow.accounts.get(done)
                assert found is not None
                return found
            await uow.companies.lock(actor.cofor_root)  # also serialises two clicks on "create"
            admin = await acting(uow, actor)
            await uow.rate_limits.enforce([(ratelimit.Limit(
                "create-user-company", self.tools.settings.account_creation_limit_per_company_per_day, 86_400),
                actor.cofor_root)])
            if not new.allow_duplicate_email and (holders := await uow.accounts.holding_email(
                    actor.cofor_root, values["email"])):
                raise FailedPrecondition("DUPLICATE_EMAIL", "an account of the company already has this e-mail",
                                         metadata={"identifiers": ",".join(holders)})
            company = await uow.companies.get(actor.cofor_root)
            account = await new_account(
                self.tools, uow, cofor_root=actor.cofor_root, values=values, administrator=new.administrator,
                password=password, created_by=actor.name, now=now, legal_name=company["legal_name"] if company else "",
                administrator_name=admin.display_name if admin else "",
                detail="administrator" if new.administrator else "", activation=True)
            uow.remember("CreateUser", new.request_id, account.identifier, owner=actor.cofor_root)
            await uow.commit()
            return account

    async def update_user(self, actor: Actor, identifier: str, values: dict[str, str], paths: list[str]) -> Account:
        v = Violations()
        for p in paths:
            if p not in UPDATABLE:
                v.add("update_mask", f"{p} is not an updatable field")
        selected = paths or [k for k in UPDATABLE if values.get(k)]
        changes = _contact(values, [k for k in selected if k in UPDATABLE])
        person_violations(v, changes, prefix="account")
        v.raise_if_any()
        if "language" in changes:
            changes["language"] = validation.language_of(changes["language"]) or "fr"
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, me = await locked_target(uow, actor, identifier)
            pending = account.activation_digest is not None
            account.update_contact(changes, now, actor=actor.name, actor_name=me.display_name if me else "support")
            if pending and account.activation_digest is None and account.state != State.DISABLED:
                # A new address (a typo corrected, say): the link goes there instead, the old one is dead.
                await resend_link(uow, account, actor, me, now, self.tools.temporary_password_expiry(now))
            await uow.accounts.save(account, now)
            if any(k in changes for k in ("given_name", "family_name")) and account.is_active_administrator:
                _administrators_changed(uow, account)
            await uow.commit()
            return account

    async def disable_user(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        detail = note(actor, reason)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                if not account.disable(now, actor=actor.name, cause=DisabledCause.ADMINISTRATOR, detail=detail,
                                       company=await self._company(uow, actor, account)):
                    return account
            except LastActiveAdministrator:
                raise _last_active_administrator("disabled") from None
            await uow.accounts.save(account, now)
            if account.is_administrator:
                _administrators_changed(uow, account)  # empty when support removed the last
            await uow.commit()
            return account

    async def enable_user(self, actor: Actor, identifier: str) -> Account:
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                if not account.enable(now, actor=actor.name):
                    return account
            except AccountClosed:
                raise FailedPrecondition("ACCOUNT_CLOSED", "this account was closed when the company's portal "
                                         "access was reset: create a new account instead") from None
            await uow.accounts.save(account, now)
            if account.is_administrator:
                _administrators_changed(uow, account)
            await uow.commit()
            return account

    async def unlock_user(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        detail = note(actor, reason)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                if not account.unlock(now, actor=actor.name, method="SUPPORT" if actor.is_support else "ADMINISTRATOR",
                                      detail=detail):
                    return account
            except AccountIsDisabled:
                raise _disabled("the account is disabled: enable it instead") from None
            await uow.accounts.save(account, now)
            await uow.commit()
            return account

    async def reset_user_password(self, actor: Actor, identifier: str) -> Account:
        password = await TemporaryPassword.draw(self.tools)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                account.reset_password(password.hash, password.password, now,
                                       history=self.tools.settings.password_history,
                                       expires_at=self.tools.temporary_password_expiry(now), actor=actor.name)
            except AccountIsDisabled:
                raise _disabled("the account is disabled: enable it first") from None
            await uow.accounts.save(account, now)
            await uow.commit()
            return account

    async def grant_administrator(self, actor: Actor, identifier: str) -> Account:
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                if not account.grant_administrator(now, actor=actor.name):
                    return account
            except AccountIsDisabled:
                raise _disabled("the account is disabled") from None
            await uow.accounts.save(account, now)
            _administrators_changed(uow, account)
            await uow.commit()
            return account

    async def revoke_administrator(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        detail = note(actor, reason)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, _ = await locked_target(uow, actor, identifier)
            try:
                if not account.revoke_administrator(now, actor=actor.name, detail=detail,
                                                    company=await self._company(uow, actor, account)):
                    return account
            except LastActiveAdministrator:
                raise _last_active_administrator("revoked") from None
            await uow.accounts.save(account, now)
            _administrators_changed(uow, account)  # empty when support removed the last
            await uow.commit()
            return account
