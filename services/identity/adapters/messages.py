"""Domain events → what leaves identity: outbox messages, audit rows and mail requests, all in one place. Called by
the unit of work at commit (unit_of_work.py), so a use case only says what happened."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as pe

from kit.clock import to_timestamp
from notify import Template, request_email

from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.states import DisabledCause, LockCause

if TYPE_CHECKING:  # it calls emit at commit
    from identity.service_layer.unit_of_work import IdentityUnitOfWork as Outlet

_LOCK_CAUSES = {LockCause.FAILED_ATTEMPTS: pe.LOCK_CAUSE_FAILED_ATTEMPTS,
                LockCause.PREVIOUS_PASSWORD: pe.LOCK_CAUSE_PREVIOUS_PASSWORD}
_UNLOCK_METHODS = {"SELF_SERVICE_RESET": pe.UNLOCK_METHOD_SELF_SERVICE_RESET,
                   "ADMINISTRATOR": pe.UNLOCK_METHOD_ADMINISTRATOR, "SUPPORT": pe.UNLOCK_METHOD_SUPPORT}
_DISABLED_CAUSES = {DisabledCause.ADMINISTRATOR: pe.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR,
                    DisabledCause.SUPPLIER_DEACTIVATED: pe.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_DEACTIVATED,
                    DisabledCause.ACCESS_RESET: pe.ACCOUNT_STATE_CHANGE_CAUSE_ACCESS_RESET}
_ENABLED_CAUSES = {DisabledCause.ADMINISTRATOR: pe.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR,  # who lifted it
                   DisabledCause.SUPPLIER_DEACTIVATED: pe.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_REACTIVATED}


def mail(out: Outlet, template: int, account: Account, *, params: dict[str, str],
         secrets: dict[str, str] | None = None, address: str | None = None,
         reply_to: tuple[str, str] | None = None) -> None:
    """To the account's holder, at its registered address unless ``address`` is given."""
    request_email(out, template=template, to=[(address or account.email, account.display_name)],
                  language=account.language, params=params, secrets=secrets, seal_key=out.seal_key,
                  reply_to=reply_to)


@functools.singledispatch
def emit(event: ev.Event, out: Outlet, account: Account | None) -> None:
    raise TypeError(f"no messages for {type(event).__name__}")


def _audit_only(action: str) -> None:
    def handler(event: ev.Event, out: Outlet, account: Account | None) -> None:
        out.audit(action, event)
    for kind in _AUDIT_ONLY[action]:
        emit.register(kind, handler)


_AUDIT_ONLY: dict[str, tuple[type[ev.Event], ...]] = {
    "LOGIN_FAILED": (ev.LoginFailed,), "LOGIN_SUCCEEDED": (ev.LoggedIn,), "LOGOUT": (ev.LoggedOut,),
    "PASSWORD_CHANGE_FAILED": (ev.PasswordChangeRefused,), "RECOVERY_REQUESTED": (ev.RecoveryRequested,),
    "ACCOUNT_UPDATED": (ev.AccountUpdated,)}
for _action in _AUDIT_ONLY:
    _audit_only(_action)


@emit.register(ev.LoginRefused)
def _(event: ev.LoginRefused, out: Outlet, account: Account | None) -> None:
    out.audit("LOGIN_REFUSED", event)


@emit.register(ev.AdministratorsChanged)
def _(event: ev.AdministratorsChanged, out: Outlet, account: Account | None) -> None:
    """Published by the unit of work itself (it reads the company's snapshot)."""


@emit.register(ev.AccountLocked)
def _(event: ev.AccountLocked, out: Outlet, account: Account | None) -> None:
    assert account is not None
    out.publish("identity.account.locked", pe.AccountLocked(
        identifier=event.identifier, cofor_root=event.cofor_root, failed_attempt_count=event.failed_attempts,
        cause=_LOCK_CAUSES[event.cause]))
    out.audit("ACCOUNT_LOCKED", event)
    mail(out, Template.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE, account, params={
        "identifier": event.identifier, "lock_time": event.at.isoformat(), "cause": event.cause.value.lower()})


@emit.register(ev.AccountUnlocked)
def _(event: ev.AccountUnlocked, out: Outlet, account: Account | None) -> None:
    out.publish("identity.account.unlocked", pe.AccountUnlocked(
        identifier=event.identifier, cofor_root=event.cofor_root, actor=event.actor or event.identifier,
        method=_UNLOCK_METHODS[event.method]))
    if event.audited:
        out.audit("ACCOUNT_UNLOCKED", event)


@emit.register(ev.PasswordChanged)
def _(event: ev.PasswordChanged, out: Outlet, account: Account | None) -> None:
    assert account is not None
    out.publish("identity.password.changed", pe.PasswordChanged(
        identifier=event.identifier, cofor_root=event.cofor_root, was_temporary=event.was_temporary))
    out.audit("PASSWORD_CHANGED", event)
    mail(out, Template.EMAIL_TEMPLATE_PASSWORD_CHANGED_NOTICE, account, params={
        "identifier": event.identifier, "change_time": event.at.isoformat()})


@emit.register(ev.PasswordReset)
def _(event: ev.PasswordReset, out: Outlet, account: Account | None) -> None:
    assert account is not None
    if event.by_administrator:
        mail(out, Template.EMAIL_TEMPLATE_TEMPORARY_PASSWORD, account, secrets={"temporary_password": event.password},
             params={"expire_time": event.expires_at.isoformat(), "context": "reset"})
    else:
        mail(out, Template.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD, account,
             params={"expire_time": event.expires_at.isoformat()}, secrets={"temporary_password": event.password})
    out.publish("identity.password.reset", pe.PasswordReset(
        identifier=event.identifier, cofor_root=event.cofor_root, actor=event.actor or event.identifier,
        kind=pe.PASSWORD_RESET_KIND_BY_ADMINISTRATOR if event.by_administrator else pe.PASSWORD_RESET_KIND_SELF_SERVICE,
        temporary_password_expire_time=to_timestamp(event.expires_at)))
    out.audit("PASSWORD_RESET", event)


@emit.register(ev.AccountCreated)
def _(event: ev.AccountCreated, out: Outlet, account: Account | None) -> None:
    assert account is not None
    if event.access_request_id:  # the first ASL, from cofor's accepted terms
        out.publish("identity.administrator.created", pe.AdministratorCreated(
            identifier=event.identifier, cofor_root=event.cofor_root, access_request_id=event.access_request_id,
            display_name=account.display_name))
        mail(out, Template.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME, account, params={
            "identifier": event.identifier, "legal_name": event.legal_name, "cofor_root": event.cofor_root})
    else:
        out.publish("identity.account.created", pe.AccountCreated(
            identifier=event.identifier, cofor_root=event.cofor_root, display_name=account.display_name,
            actor=event.actor, roles=[pb.ROLE_USER, pb.ROLE_ADMINISTRATOR] if event.administrator else [pb.ROLE_USER]))
        mail(out, Template.EMAIL_TEMPLATE_USER_WELCOME, account, params={
            "identifier": event.identifier, "cofor_root": event.cofor_root, "legal_name": event.legal_name,
            "administrator_name": event.administrator_name})
    mail(out, Template.EMAIL_TEMPLATE_TEMPORARY_PASSWORD, account, secrets={"temporary_password": event.password},
         params={"expire_time": event.expires_at.isoformat(), "context": "new_account"})
    out.audit("ACCOUNT_CREATED", event)


@emit.register(ev.EmailChanged)
def _(event: ev.EmailChanged, out: Outlet, account: Account | None) -> None:
    assert account is not None
    mail(out, Template.EMAIL_TEMPLATE_EMAIL_CHANGED_NOTICE, account, address=event.previous_email, params={
        "identifier": event.identifier, "masked_new_email": event.new_email_masked,
        "change_time": event.at.isoformat(), "actor_name": event.actor_name})


@emit.register(ev.AccountDisabled)
def _(event: ev.AccountDisabled, out: Outlet, account: Account | None) -> None:
    if event.announced:
        out.publish("identity.account.disabled", pe.AccountDisabled(
            identifier=event.identifier, cofor_root=event.cofor_root, actor=event.actor,
            cause=_DISABLED_CAUSES[event.cause]))
    out.audit("ACCOUNT_DISABLED", event)


@emit.register(ev.AccountEnabled)
def _(event: ev.AccountEnabled, out: Outlet, account: Account | None) -> None:
    out.publish("identity.account.enabled", pe.AccountEnabled(
        identifier=event.identifier, cofor_root=event.cofor_root, actor=event.actor,
        cause=_ENABLED_CAUSES[event.cause]))
    out.audit("ACCOUNT_ENABLED", event)


@emit.register(ev.AdministratorGranted)
def _(event: ev.AdministratorGranted, out: Outlet, account: Account | None) -> None:
    out.publish("identity.administrator.granted", pe.AdministratorGranted(
        identifier=event.identifier, cofor_root=event.cofor_root, display_name=event.display_name, actor=event.actor))
    out.audit("ADMINISTRATOR_GRANTED", event)


@emit.register(ev.AdministratorRevoked)
def _(event: ev.AdministratorRevoked, out: Outlet, account: Account | None) -> None:
    out.publish("identity.administrator.revoked", pe.AdministratorRevoked(
        identifier=event.identifier, cofor_root=event.cofor_root, display_name=event.display_name, actor=event.actor))
    out.audit("ADMINISTRATOR_REVOKED", event)


@emit.register(ev.Notice)
def _(event: ev.Notice, out: Outlet, account: Account | None) -> None:
    request_email(out, template=event.template, to=[(event.to_email, event.to_name)],
                  language=event.language, params=event.params, seal_key=out.seal_key, reply_to=event.reply_to)
