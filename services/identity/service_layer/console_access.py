"""What the ASL console and the support staff's tools share: who acts, which account they act on (company
scoping, on every call), the lock order of changes, and the audit note."""
from __future__ import annotations

from dataclasses import dataclass

from kit import validation
from kit.auth import AGENT_KEY
from kit.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, Violations

from identity.domain.accounts import Account, MalformedIdentifier, State, parse_identifier
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
    allow_duplicate_email: bool = False  # a second account on an address the company already uses


def person_violations(v: Violations, values: dict[str, str], prefix: str = "") -> None:
    # Links stay allowed in identity's fields, as they always were.
    validation.contact_violations(v, prefix, values, phone_required=False, job_title_required=False,
                                  links_allowed=True)


def caller_not_allowed() -> PermissionDenied:
    return PermissionDenied("CALLER_NOT_ALLOWED", "only your company's administrator may do this")


async def target(uow: IdentityUnitOfWork, actor: Actor, identifier: str) -> Account:
    """The account named, if the actor may see it (not locked)."""
    try:
        ident = parse_identifier(identifier)
    except MalformedIdentifier as exc:
        raise InvalidArgument([FieldViolation("identifier", str(exc))]) from None
    account = await uow.accounts.get(ident)
    if account is None and actor.is_support:
        raise NotFound("ACCOUNT_NOT_FOUND", "no account has this identifier", metadata={"identifier": ident})
    if account is None or (not actor.is_support and account.cofor_root != actor.cofor_root):
        # The same answer whether or not the account exists: an ASL learns nothing of other companies (AIP-211).
        raise PermissionDenied("OTHER_COMPANY_ACCOUNT", "this account is not one of your company's")
    return account


async def locked_target(uow: IdentityUnitOfWork, actor: Actor, identifier: str) -> tuple[Account, Account | None]:
    """The account to change, locked after its company (the one lock order: see CompanyRepository.lock), and the
    acting ASL's own account (None for support staff). The ASL's authority is checked again under the lock: a call
    that started a moment ago may have revoked or disabled it meanwhile."""
    found = await target(uow, actor, identifier)
    await uow.companies.lock(found.cofor_root)
    me = await acting(uow, actor)
    account = await uow.accounts.get(found.identifier, for_update=True)
    assert account is not None  # accounts are never deleted
    return account, me


async def acting(uow: IdentityUnitOfWork, actor: Actor) -> Account | None:
    if actor.is_support:
        return None
    me = await uow.accounts.get(actor.name)
    if me is None or not me.is_administrator or me.state != State.ACTIVE:
        raise caller_not_allowed()
    return me


def note(actor: Actor, reason: str) -> str:
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
