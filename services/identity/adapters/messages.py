"""Domain events → what leaves identity: outbox messages, audit rows and mail requests, all in one place. Called by
the unit of work at commit (unit_of_work.py), so a use case only says what happened."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as pe

from kit.clock import to_timestamp
from notify import Mail, mails, send_mail

from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.domain.states import DisabledCause, LockCause

if TYPE_CHECKING:  # it calls emit at commit
    from identity.service_layer.unit_of_work import IdentityUnitOfWork as Outlet

_LOCK_CAUSES = {LockCause.FAILED_ATTEMPTS: pe.LOCK_CAUSE_FAILED_ATTEMPTS,
                LockCause.PREVIOUS_PASSWORD: pe.LOCK_CAUSE_PREVIOUS_PASSWORD}
_UNLOCK_METHODS = {"SELF_SERVICE_RESET": pe.UNLOCK_METHOD_SELF_SERVICE_RESET,
                   "ADMINISTRATOR": pe.UNLOCK_METHOD_ADMINISTRATOR, "SUPPORT": pe.UNLOCK_METHOD_SUPPORT}
_MAILED_LOCK_CAUSES = {LockCause.FAILED_ATTEMPTS: mails.LockCause.CAUSE_FAILED_ATTEMPTS,
                       LockCause.PREVIOUS_PASSWORD: mails.LockCause.CAUSE_PREVIOUS_PASSWORD}
_DISABLED_CAUSES = {DisabledCause.ADMINISTRATOR: pe.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR,
                    DisabledCause.SUPPLIER_DEACTIVATED: pe.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_DEACTIVATED,
                    DisabledCause.ACCESS_RESET: pe.ACCOUNT_STATE_CHANGE_CAUSE_ACCESS_RESET}
_ENABLED_CAUSES = {DisabledCause.ADMINISTRATOR: pe.ACCOUNT_STATE_CHANGE_CAUSE_ADMINISTRATOR,  # who lifted it
                   DisabledCause.SUPPLIER_DEACTIVATED: pe.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_REACTIVATED}


def mail(out: Outlet, mail: Mail, account: Account, *, address: str | None = None,
         reply_to: tuple[str, str] | None = None) -> None:
    """To the account's holder, at its registered address unless ``address`` is given; its secrets sealed."""
    send_mail(out, mail, to=[(address or account.email, account.display_name)], language=account.language,
              seal_key=out.seal_key, reply_to=reply_to)


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
    "ACCOUNT_UPDATED": (ev.AccountUpdated,), "SECOND_FACTOR_CHALLENGED": (ev.SecondFactorChallenged,),
    "SECOND_FACTOR_FAILED": (ev.SecondFactorFailed,), "SECOND_FACTOR_POLICY_CHANGED": (ev.SecondFactorPolicyChanged,),
    "OIDC_GRANT": (ev.ApplicationGranted,), "OIDC_TOKEN_REUSED": (ev.TokenReuseDetected,),
    "OIDC_LOGOUT_SENT": (ev.ApplicationLogoutSent,), "ACCOUNT_ACTIVATED": (ev.AccountActivated,),
    "SESSION_ENDED": (ev.SessionEnded,)}
_MAILED_FACTORS = {"TOTP": mails.Factor.FACTOR_TOTP, "RECOVERY_CODE": mails.Factor.FACTOR_RECOVERY_CODES,
                   "PASSKEY": mails.Factor.FACTOR_PASSKEY}
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
    mail(out, mails.account_locked_notice(identifier=event.identifier, lock_time=event.at,
                                          cause=_MAILED_LOCK_CAUSES[event.cause]), account)


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
    mail(out, mails.password_changed_notice(identifier=event.identifier, change_time=event.at), account)


@emit.register(ev.PasswordReset)
@emit.register(ev.SelfServiceResetOffered)  # the same messages; its difference (sessions kept) is on the event
def _(event: ev.PasswordReset, out: Outlet, account: Account | None) -> None:
    assert account is not None
    if event.by_administrator:
        mail(out, mails.temporary_password(expire_time=event.expires_at, context=mails.PasswordContext.CONTEXT_RESET,
                                           temporary_password=event.password), account)
    else:
        mail(out, mails.administrator_reset_password(expire_time=event.expires_at,
                                                     temporary_password=event.password), account)
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
        mail(out, mails.administrator_welcome(identifier=event.identifier, legal_name=event.legal_name,
                                              cofor_root=event.cofor_root), account)
    else:
        out.publish("identity.account.created", pe.AccountCreated(
            identifier=event.identifier, cofor_root=event.cofor_root, display_name=account.display_name,
            actor=event.actor, roles=[pb.ROLE_USER, pb.ROLE_ADMINISTRATOR] if event.administrator else [pb.ROLE_USER]))
    if event.activation_token:  # an ASL's new user: one mail, the identifier and the link
        mail(out, mails.account_activation(
            identifier=event.identifier, legal_name=event.legal_name, cofor_root=event.cofor_root,
            administrator_name=event.administrator_name, expire_time=event.expires_at, resent=False,
            activation_token=event.activation_token), account)
    else:  # the company's first ASL: its identifier came in the welcome above, the password apart
        mail(out, mails.temporary_password(expire_time=event.expires_at, temporary_password=event.password,
                                           context=mails.PasswordContext.CONTEXT_NEW_ACCOUNT), account)
    out.audit("ACCOUNT_CREATED", event)


@emit.register(ev.ActivationSent)
def _(event: ev.ActivationSent, out: Outlet, account: Account | None) -> None:
    assert account is not None
    mail(out, mails.account_activation(
        identifier=event.identifier, legal_name=event.legal_name, cofor_root=event.cofor_root,
        administrator_name=event.administrator_name, expire_time=event.expires_at, resent=True,
        activation_token=event.activation_token), account)
    out.audit("ACTIVATION_SENT", event)


@emit.register(ev.NewDeviceLogin)
def _(event: ev.NewDeviceLogin, out: Outlet, account: Account | None) -> None:
    assert account is not None
    d = event.device
    mail(out, mails.new_device_login(identifier=event.identifier, browser=d.browser, login_time=event.at,
                                     operating_system=d.operating_system, client_address=d.client_address), account)


@emit.register(ev.SessionsEnded)
def _(event: ev.SessionsEnded, out: Outlet, account: Account | None) -> None:
    out.publish("identity.account.sessions_ended", pe.AccountSessionsEnded(
        identifier=event.identifier, cofor_root=event.cofor_root, actor=event.actor or event.identifier,
        ended_count=event.count))
    out.audit("SESSIONS_ENDED", event)


@emit.register(ev.EmailChanged)
def _(event: ev.EmailChanged, out: Outlet, account: Account | None) -> None:
    assert account is not None
    mail(out, mails.email_changed_notice(identifier=event.identifier, masked_new_email=event.new_email_masked,
                                         change_time=event.at, actor_name=event.actor_name),
         account, address=event.previous_email)


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
    send_mail(out, event.mail, to=[(event.to_email, event.to_name)], language=event.language,
              seal_key=out.seal_key, reply_to=event.reply_to)


# ---- second factors: audited, and the holder told of every change (a stranger's change is noticed) -------------

_FACTOR_CHANGES: dict[type[ev.Event], tuple[str, mails.FactorChange.ValueType]] = {
    ev.SecondFactorLocked: ("SECOND_FACTOR_LOCKED", mails.FactorChange.CHANGE_LOCKED),
    ev.PasskeyCopySuspected: ("SECOND_FACTOR_FAILED", mails.FactorChange.CHANGE_COPY_SUSPECTED),
    ev.SecondFactorEnrolled: ("SECOND_FACTOR_ENROLLED", mails.FactorChange.CHANGE_ENROLLED),
    ev.SecondFactorRemoved: ("SECOND_FACTOR_REMOVED", mails.FactorChange.CHANGE_REMOVED),
    ev.RecoveryCodeUsed: ("RECOVERY_CODE_USED", mails.FactorChange.CHANGE_RECOVERY_CODE_USED),
    ev.RecoveryCodesRegenerated: ("RECOVERY_CODES_REGENERATED", mails.FactorChange.CHANGE_RECOVERY_CODES_REGENERATED),
    ev.SecondFactorsReset: ("SECOND_FACTORS_RESET", mails.FactorChange.CHANGE_RESET),
}


def _factor_changed(event: ev.Event, out: Outlet, account: Account | None) -> None:
    assert account is not None
    action, change = _FACTOR_CHANGES[type(event)]
    out.audit(action, event)
    kind = getattr(event, "kind", "RECOVERY_CODE" if "RECOVERY_CODE" in action else "")  # a reset: every factor
    mail(out, mails.second_factor_notice(
        identifier=event.identifier, change=change, factor=_MAILED_FACTORS[kind] if kind else mails.Factor.FACTOR_ALL,
        change_time=event.at, actor_name=getattr(event, "actor_name", ""),
        recovery_codes_left=getattr(event, "left", 0)), account)


for _kind in _FACTOR_CHANGES:
    emit.register(_kind, _factor_changed)
