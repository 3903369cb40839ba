"""What the ASL console and the support staff's tools share: who acts, which account they act on (company
scoping), the lock order of changes, the audit note, and how a new account is made."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from kit import validation
from kit.auth import AGENT_KEY
from kit.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, Violations

from identity.adapters.orm import accounts
from identity.domain.accounts import Account, DisabledCause, LockCause, MalformedIdentifier, State, \
    parse_identifier, random_identifier
from identity.service_layer.base import Base
from identity.service_layer.unit_of_work import IdentityUnitOfWork

UPDATABLE = ("given_name", "family_name", "email", "phone", "job_title", "language")


@dataclass(frozen=True)
class Actor:
    """Who acts: an ASL (``cofor_root`` set: only that company) or support staff (any company; ``agent`` is the
    person behind the credential, as the caller names them)."""

    name: str
    cofor_root: str | None
    client: str = ""
    agent: str = ""

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


def person_violations(v: Violations, values: dict[str, str], prefix: str = "") -> None:
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


def caller_not_allowed() -> PermissionDenied:
    return PermissionDenied("CALLER_NOT_ALLOWED", "only your company's administrator may do this")


class ConsoleBase(Base):
    async def _target(self, uow: IdentityUnitOfWork, actor: Actor, identifier: str) -> Account:
        """The account named, if the actor may see it (not locked)."""
        try:
            ident = parse_identifier(identifier)
        except MalformedIdentifier as exc:
            raise InvalidArgument([FieldViolation("identifier", str(exc))]) from None
        account = await uow.account(ident)
        if account is None and actor.is_support:
            raise NotFound("ACCOUNT_NOT_FOUND", "no account has this identifier", metadata={"identifier": ident})
        if account is None or (not actor.is_support and account.cofor_root != actor.cofor_root):
            # The same answer whether or not the account exists: an ASL learns nothing of other companies (AIP-211).
            raise PermissionDenied("OTHER_COMPANY_ACCOUNT", "this account is not one of your company's")
        return account

    async def _locked_target(self, uow: IdentityUnitOfWork, actor: Actor,
                             identifier: str) -> tuple[Account, Account | None]:
        """The account to change, locked after its company (the one lock order: see lock_company), and the acting
        ASL's own account (None for support staff). The ASL's authority is checked again under the lock: a call
        that started a moment ago may have revoked or disabled it meanwhile."""
        found = await self._target(uow, actor, identifier)
        await uow.lock_company(found.cofor_root)
        me = await self._acting(uow, actor)
        account = await uow.account(found.identifier, for_update=True)
        assert account is not None  # accounts are never deleted
        return account, me

    async def _acting(self, uow: IdentityUnitOfWork, actor: Actor) -> Account | None:
        if actor.is_support:
            return None
        me = await uow.account(actor.name)
        if me is None or not me.is_administrator or me.state != State.ACTIVE:
            raise caller_not_allowed()
        return me

    @staticmethod
    def _note(actor: Actor, reason: str) -> str:
        """The audit detail of a change. Support staff must name the agent and the reason (they act on any company);
        an ASL may give a reason. Checked before anything is read or written."""
        reason, agent = validation.clean(reason), validation.clean(actor.agent)
        v = Violations()
        if err := validation.text_error(reason, required=actor.is_support, max_length=500):
            v.add("reason", err)
        if actor.is_support and (err := validation.text_error(agent, max_length=200)):
            v.add(AGENT_KEY, err)
        v.raise_if_any()
        return f"agent {agent}: {reason}" if actor.is_support else reason

    def _audit(self, uow: IdentityUnitOfWork, action: str, actor: Actor, account: Account, now: dt.datetime,
               detail: str = "") -> None:
        uow.audit(action, subject=account.identifier, cofor_root=account.cofor_root, actor=actor.name,
                  client=actor.client, detail=detail, now=now)

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
