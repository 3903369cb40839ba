"""The ASL console (scoped to the ASL's company) and the support staff's tools (any company)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from sqlalchemy import func, or_, select, tuple_

from kit import validation
from kit.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, \
    PermissionDenied, ResourceExhausted, Violations
from kit.notify import Template
from kit.paging import page_of

from identity.adapters.orm import accounts, audit_events
from identity.domain.accounts import Account, DisabledCause, LockCause, MalformedIdentifier, State, \
    parse_identifier, random_identifier
from identity.service_layer.base import Base, temporary_password
from identity.service_layer.recovery import _cofor_root
from identity.service_layer.unit_of_work import IdentityUnitOfWork, account_from_row, active_administrators

UPDATABLE = ("given_name", "family_name", "email", "phone", "job_title", "language")


@dataclass(frozen=True)
class Actor:
    """Who acts: an ASL (``cofor_root`` set: only that company) or support staff (any company)."""

    name: str
    cofor_root: str | None
    client: str = ""

    @property
    def is_support(self) -> bool:
        return self.cofor_root is None


@dataclass(frozen=True)
class NewUser:
    given_name: str
    family_name: str
    email: str
    phone: str
    job_title: str
    language: str
    administrator: bool
    request_id: str = ""


def _person_violations(v: Violations, values: dict[str, str], prefix: str = "") -> None:
    for name in ("given_name", "family_name"):
        if name in values and (err := validation.text_error(values[name], max_length=100)):
            v.add(prefix + name, err)
    if "job_title" in values and (err := validation.text_error(values["job_title"], required=False, max_length=100)):
        v.add(prefix + "job_title", err)
    if "email" in values and (err := validation.email_error(values["email"])):
        v.add(prefix + "email", err)
    if "phone" in values and (err := validation.phone_error(values["phone"], required=False)):
        v.add(prefix + "phone", err)
    if "language" in values and validation.language_of(values["language"]) is None:
        v.add(prefix + "language", "must be fr or en")


class Administration(Base):
    async def _target(self, uow: IdentityUnitOfWork, actor: Actor, identifier: str) -> Account:
        try:
            ident = parse_identifier(identifier)
        except MalformedIdentifier as exc:
            raise InvalidArgument([FieldViolation("identifier", str(exc))]) from None
        account = await uow.account(ident, for_update=not uow.readonly)
        if account is None and actor.is_support:
            raise NotFound("ACCOUNT_NOT_FOUND", "no account has this identifier", metadata={"identifier": ident})
        if account is None or (not actor.is_support and account.cofor_root != actor.cofor_root):
            # The same answer whether or not the account exists: an ASL learns nothing of other companies (AIP-211).
            raise PermissionDenied("OTHER_COMPANY_ACCOUNT", "this account is not one of your company's")
        return account

    def _audit(self, uow: IdentityUnitOfWork, action: str, actor: Actor, account: Account, now: dt.datetime,
               detail: str = "") -> None:
        uow.audit(action, subject=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                  client=actor.client, detail=detail, now=now)

    # ---- creating accounts --------------------------------------------------------------------------------

    async def create_user(self, actor: Actor, new: NewUser) -> Account:
        assert actor.cofor_root is not None
        values = {k: (getattr(new, k).strip() if k in ("email", "phone") else validation.clean(getattr(new, k)))
                  for k in UPDATABLE}
        v = Violations()
        _person_violations(v, values)
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
            account = await self.new_account(uow, cofor_root=actor.cofor_root, values=values,
                                             administrator=new.administrator, password_hash=password_hash,
                                             created_by=actor.name, now=now)
            uow.remember("CreateUser", new.request_id, account.identifier, owner=actor.cofor_root)
            company = await uow.company(actor.cofor_root)
            admin = await uow.account(actor.name)
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

    async def new_account(self, uow: IdentityUnitOfWork, *, cofor_root: str, values: dict[str, str],
                          administrator: bool, password_hash: str, created_by: str, now: dt.datetime,
                          origin_access_request_id: str | None = None) -> Account:
        """A new ACTIVE account with a temporary password, under a random identifier never used before."""
        for _ in range(50):
            identifier = random_identifier()
            if await uow.session.scalar(select(func.count()).select_from(accounts).where(
                    accounts.c.identifier == identifier)) == 0:
                break
        else:
            raise ResourceExhausted("IDENTIFIERS_EXHAUSTED", "no free V-identifier could be drawn; try again")
        account = Account(
            identifier=identifier, cofor_root=cofor_root, given_name=values["given_name"],
            family_name=values["family_name"], email=values["email"], phone=values.get("phone", ""),
            job_title=values.get("job_title", ""), language=values.get("language", "fr"),
            is_administrator=administrator, state=State.ACTIVE, disabled_cause=DisabledCause.NONE,
            lock_cause=LockCause.NONE, failed_attempts=0, password_hash=password_hash, must_change_password=True,
            password_expires_at=now + dt.timedelta(hours=self.settings.temporary_password_hours),
            password_changed_at=None, password_history=[], reset_hash=None, reset_expires_at=None,
            created_by=created_by, created_at=now, updated_at=now,
            origin_access_request_id=origin_access_request_id)
        await uow.insert(account)
        return account

    # ---- reading ----------------------------------------------------------------------------------------------

    async def list_users(self, actor: Actor, state: str, page_size: int, page_token: str) -> tuple[list[Account], str]:
        page = page_of(page_size, page_token, state=state, company=actor.cofor_root)
        order = (accounts.c.family_name, accounts.c.given_name, accounts.c.identifier)
        query = select(accounts).where(accounts.c.cofor_root == actor.cofor_root).order_by(*order)
        if state:
            query = query.where(accounts.c.state == state)
        if page.after:
            query = query.where(tuple_(*order) > tuple_(*page.after))
        async with self.uow(readonly=True) as uow:
            rows = [account_from_row(r) for r in (await uow.session.execute(query.limit(page.size))).mappings()]
        last = [rows[-1].family_name, rows[-1].given_name, rows[-1].identifier] if rows else None
        return rows, page.next_token(last, len(rows))

    async def get_user(self, actor: Actor, identifier: str) -> Account:
        async with self.uow(readonly=True) as uow:
            return await self._target(uow, actor, identifier)

    async def search(self, identifier: str, email: str, cofor: str, page_size: int,
                     page_token: str) -> tuple[list[Account], str]:
        v = Violations()
        query = select(accounts).order_by(accounts.c.identifier)
        if not (identifier.strip() or email.strip() or cofor.strip()):
            v.add("identifier", "give at least one of identifier, email, cofor")
        if identifier.strip():
            try:
                query = query.where(accounts.c.identifier == parse_identifier(identifier))
            except MalformedIdentifier as exc:
                v.add("identifier", str(exc))
        if email.strip():
            query = query.where(func.lower(accounts.c.email) == email.strip().lower())
        if cofor.strip():
            root = _cofor_root(cofor)
            if root is None:
                v.add("cofor", "a COFOR is 6 letters or digits")
            query = query.where(accounts.c.cofor_root == root)
        v.raise_if_any()
        page = page_of(page_size, page_token, identifier=identifier, email=email, cofor=cofor)
        if page.after:
            query = query.where(accounts.c.identifier > page.after)
        async with self.uow(readonly=True) as uow:
            rows = [account_from_row(r) for r in (await uow.session.execute(query.limit(page.size))).mappings()]
        return rows, page.next_token(rows[-1].identifier if rows else None, len(rows))

    async def audit_trail(self, actor: Actor, identifier: str, cofor_root: str, page_size: int,
                          page_token: str) -> tuple[list[Any], str]:
        query = select(audit_events).order_by(audit_events.c.occurred_at.desc(), audit_events.c.id.desc())
        if identifier:
            async with self.uow(readonly=True) as uow:
                account = await self._target(uow, actor, identifier)
            query = query.where(audit_events.c.subject == account.identifier)
        elif cofor_root:
            root = _cofor_root(cofor_root)
            if root is None:
                raise InvalidArgument([FieldViolation("cofor_root", "a COFOR is 6 letters or digits")])
            if not actor.is_support and root != actor.cofor_root:
                raise PermissionDenied("OTHER_COMPANY_ACCOUNT", "this is another company's trail")
            query = query.where(audit_events.c.cofor_root == root)
        else:
            raise InvalidArgument([FieldViolation("subject", "give an identifier or a cofor_root")])
        page = page_of(page_size, page_token, identifier=identifier, cofor_root=cofor_root)
        if page.after:
            when, ident = page.after
            moment = dt.datetime.fromisoformat(when)
            query = query.where(or_(audit_events.c.occurred_at < moment,
                                    (audit_events.c.occurred_at == moment) & (audit_events.c.id < ident)))
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.execute(query.limit(page.size))).mappings())
        last = [rows[-1]["occurred_at"].isoformat(), rows[-1]["id"]] if rows else None
        return rows, page.next_token(last, len(rows))

    # ---- changing accounts ----------------------------------------------------------------------------------

    async def update_user(self, actor: Actor, identifier: str, values: dict[str, str], paths: list[str]) -> Account:
        v = Violations()
        for p in paths:
            if p not in UPDATABLE:
                v.add("update_mask", f"{p} is not an updatable field")
        selected = paths or [k for k in UPDATABLE if values.get(k)]
        changes = {k: (values[k].strip() if k in ("email", "phone") else validation.clean(values[k]))
                   for k in selected if k in UPDATABLE}
        _person_violations(v, changes, prefix="account.")
        v.raise_if_any()
        if "language" in changes:
            changes["language"] = validation.language_of(changes["language"]) or "fr"
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
            renamed = any(k in changes for k in ("given_name", "family_name"))
            for k, value in changes.items():
                setattr(account, k, value)
            await uow.save(account, now)
            if renamed and account.is_active_administrator:
                await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ACCOUNT_UPDATED", actor, account, now, ",".join(sorted(changes)))
            await uow.commit()
            return account

    async def _last_active_administrator(self, uow: IdentityUnitOfWork, account: Account) -> bool:
        others = [a for a in active_administrators(await uow.company_accounts(account.cofor_root))
                  if a.identifier != account.identifier]
        return account.is_active_administrator and not others

    async def disable_user(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
            if account.state == State.DISABLED:
                return account
            if await self._last_active_administrator(uow, account):
                raise FailedPrecondition("LAST_ACTIVE_ADMINISTRATOR", "the company's last active administrator "
                                         "cannot be disabled: make someone else administrator first")
            account.state, account.disabled_cause = State.DISABLED, DisabledCause.ADMINISTRATOR
            await uow.save(account, now)
            await self.revoke_sessions(uow, [account.identifier], now)
            uow.publish("identity.account.disabled", ev.AccountDisabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR))
            if account.is_administrator:
                await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ACCOUNT_DISABLED", actor, account, now)
            await uow.commit()
            return account

    async def enable_user(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
            if account.state != State.DISABLED:
                return account
            account.state, account.disabled_cause, account.failed_attempts = State.ACTIVE, DisabledCause.NONE, 0
            account.lock_cause = LockCause.NONE
            await uow.save(account, now)
            uow.publish("identity.account.enabled", ev.AccountEnabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR))
            if account.is_administrator:
                await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ACCOUNT_ENABLED", actor, account, now)
            await uow.commit()
            return account

    async def unlock_user(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
            if account.state == State.DISABLED:
                raise FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled: enable it instead")
            if account.state != State.BLOCKED:
                return account
            account.state, account.lock_cause, account.failed_attempts = State.ACTIVE, LockCause.NONE, 0
            await uow.save(account, now)
            uow.publish("identity.account.unlocked", ev.AccountUnlocked(
                identifier=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                method=ev.UNLOCK_METHOD_SUPPORT if actor.is_support else ev.UNLOCK_METHOD_ADMINISTRATOR))
            self._audit(uow, "ACCOUNT_UNLOCKED", actor, account, now)
            await uow.commit()
            return account

    async def reset_user_password(self, actor: Actor, identifier: str) -> Account:
        password = temporary_password()
        password_hash = await self.hasher.hash(password)
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
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
            account = await self._target(uow, actor, identifier)
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

    async def revoke_administrator(self, actor: Actor, identifier: str) -> Account:
        now = self.now()
        async with self.uow() as uow:
            account = await self._target(uow, actor, identifier)
            if not account.is_administrator:
                return account
            if await self._last_active_administrator(uow, account):
                raise FailedPrecondition("LAST_ACTIVE_ADMINISTRATOR",
                                         "the company's last active administrator cannot be revoked")
            account.is_administrator = False
            account.roles = ["USER"]
            await uow.save(account, now)
            await self.revoke_sessions(uow, [account.identifier], now)  # its sessions carried the role
            uow.publish("identity.administrator.revoked", ev.AdministratorRevoked(
                identifier=account.identifier, cofor_root=account.cofor_root, display_name=account.display_name,
                actor=actor.name))
            await uow.publish_administrators(account.cofor_root, now)
            self._audit(uow, "ADMINISTRATOR_REVOKED", actor, account, now)
            await uow.commit()
            return account


__all__ = ["Administration", "Actor", "NewUser", "AlreadyExists"]
