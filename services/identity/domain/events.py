"""What happened to accounts, as the domain tells it. The unit of work turns each event into its outbox messages,
audit row and mails in one place (identity/adapters/messages.py). Never a password or token in an event, except
the one-time temporary passwords, which only ever leave sealed to the mailer."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from identity.domain.devices import Device
from identity.domain.states import DisabledCause, LockCause

if TYPE_CHECKING:  # only its type: the domain never runs the mail contract's code
    from notify import Mail

_order = itertools.count()


@dataclass(frozen=True, kw_only=True)
class Event:
    identifier: str  # the account it is about (the subject of its audit row)
    cofor_root: str
    at: dt.datetime
    actor: str = ""  # who acted; empty: the holder themself
    detail: str = ""  # the audit note: never a secret
    seq: int = field(default_factory=lambda: next(_order), compare=False, repr=False)  # one order across accounts
    ends_sessions: ClassVar[bool] = False


# ---- logins and sessions ------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class LoginFailed(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class LoginRefused(Event):
    reason: str


@dataclass(frozen=True, kw_only=True)
class LoggedIn(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class LoggedOut(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class NewDeviceLogin(Event):
    """A login from a browser, system and address the account had not used lately: its holder is told."""
    device: Device


@dataclass(frozen=True, kw_only=True)
class SessionEnded(Event):
    """The holder ended one of their sessions from another (``detail``: which, never its token or id)."""


@dataclass(frozen=True, kw_only=True)
class SessionsEnded(Event):
    """Every session of the account ended by an ASL or support (``actor``, the reason in ``detail``), or every other
    one by the holder (the caller's spared)."""
    count: int
    ends_sessions: ClassVar[bool] = True


# ---- lockout ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AccountLocked(Event):
    cause: LockCause
    failed_attempts: int
    ends_sessions: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class AccountUnlocked(Event):
    method: str  # SELF_SERVICE_RESET, ADMINISTRATOR or SUPPORT
    audited: bool = True  # False when the change that unlocked it has its own audit row


# ---- passwords ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class PasswordChanged(Event):
    was_temporary: bool
    ends_sessions: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class PasswordChangeRefused(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class PasswordReset(Event):
    """A temporary password (BY_ADMINISTRATOR) or an ASL's self-service reset password (SELF_SERVICE)."""
    kind: str
    expires_at: dt.datetime
    password: str = field(repr=False)  # mailed sealed, never stored nor published
    ends_sessions: ClassVar[bool] = True

    @property
    def by_administrator(self) -> bool:
        return self.kind == "BY_ADMINISTRATOR"


@dataclass(frozen=True, kw_only=True)
class SelfServiceResetOffered(PasswordReset):
    """An ASL's lost-password form: the current password keeps working, and so do its sessions (anyone who knows
    the form's details may send it)."""
    ends_sessions: ClassVar[bool] = False


# ---- the account's life -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AccountCreated(Event):
    administrator: bool
    password: str = field(repr=False)  # the first ASL's temporary password, mailed sealed ("" with a link)
    expires_at: dt.datetime
    legal_name: str
    administrator_name: str = ""  # the ASL who created it; empty for the first ASL
    access_request_id: str = ""  # set for the first ASL, made when its company's terms were accepted
    activation_token: str = field(default="", repr=False)  # an ASL's new user: the link's token, mailed sealed


@dataclass(frozen=True, kw_only=True)
class ActivationSent(Event):
    """An ASL sent a new activation link; the earlier one no longer works."""
    activation_token: str = field(repr=False)  # mailed sealed
    expires_at: dt.datetime
    legal_name: str
    administrator_name: str


@dataclass(frozen=True, kw_only=True)
class AccountActivated(Event):
    """The holder chose the first password through the link."""


@dataclass(frozen=True, kw_only=True)
class AccountUpdated(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class EmailChanged(Event):
    """Whoever redirects an account's mail must not take it over silently: sessions end, the old address is told."""
    previous_email: str
    new_email_masked: str
    actor_name: str
    ends_sessions: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class AccountDisabled(Event):
    cause: DisabledCause
    announced: bool = True  # False: it was disabled already (an access reset closes it for good all the same)
    ends_sessions: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class AccountEnabled(Event):
    cause: DisabledCause  # the cause that was lifted


@dataclass(frozen=True, kw_only=True)
class AdministratorGranted(Event):
    display_name: str
    ends_sessions: ClassVar[bool] = True  # they were opened without the factor an ASL must give


@dataclass(frozen=True, kw_only=True)
class AdministratorRevoked(Event):
    display_name: str
    ends_sessions: ClassVar[bool] = True  # its sessions carried the role


@dataclass(frozen=True, kw_only=True)
class AdministratorsChanged(Event):
    """The company's set of active ASLs may have changed: a new snapshot is published (once per company)."""


# ---- recovery forms -----------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RecoveryRequested(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """A plain informational mail (recovery forms), built by the service layer with notify.mails: never a secret."""
    mail: Mail
    to_email: str
    to_name: str
    language: str
    reply_to: tuple[str, str] | None = None


# ---- second factors (ARCHITECTURE §15) --------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class SecondFactorChallenged(Event):
    """The password was right; the session waits for a factor."""


@dataclass(frozen=True, kw_only=True)
class SecondFactorFailed(Event):
    kind: str  # FactorKind's value
    attempt: int


@dataclass(frozen=True, kw_only=True)
class SecondFactorLocked(Event):
    kind: str


@dataclass(frozen=True, kw_only=True)
class SecondFactorEnrolled(Event):
    kind: str
    ends_sessions: ClassVar[bool] = True  # sessions opened before it had no factor


@dataclass(frozen=True, kw_only=True)
class SecondFactorRemoved(Event):
    kind: str
    ends_sessions: ClassVar[bool] = True  # but the remover's (SessionRepository.spare): a lost phone's end


@dataclass(frozen=True, kw_only=True)
class PasskeyCopySuspected(Event):
    """A passkey answered with a signature counter behind the portal's: a copy of it (or an old answer) was used."""
    kind: str = "PASSKEY"


@dataclass(frozen=True, kw_only=True)
class RecoveryCodeUsed(Event):
    left: int


@dataclass(frozen=True, kw_only=True)
class RecoveryCodesRegenerated(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class SecondFactorsReset(Event):
    """An ASL or support removed every factor of the account (actor set; the reason in ``detail``)."""
    actor_name: str
    ends_sessions: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class SecondFactorPolicyChanged(Event):
    """About the company: ``identifier`` is the ASL who changed it."""
    required: bool


# ---- applications (OpenID Connect, ARCHITECTURE §14) ------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ApplicationGranted(Event):
    """An application received tokens for the person (``detail``: the client and the scopes)."""


@dataclass(frozen=True, kw_only=True)
class TokenReuseDetected(Event):
    """A used code or refresh token came back: its chain was ended."""


@dataclass(frozen=True, kw_only=True)
class ApplicationLogoutSent(Event):
    """An application was told the person's portal session ended (back-channel logout)."""
