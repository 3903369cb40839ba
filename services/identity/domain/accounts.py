"""V-identifiers, the account's states and roles, and its rules: lockout, unlock, disable, enable, password change
and reset (with the history). Each change records a domain event (identity/domain/events.py). Pure Python."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from identity.domain import events as ev
from identity.domain.devices import Device, seen_from
from identity.domain.states import (
    AccountClosed,
    AccountIsDisabled,
    AlreadyActivated,
    DisabledCause,
    LastActiveAdministrator,
    LockCause,
    MalformedIdentifier,
    State,
    mask_email,
    parse_identifier,
    random_identifier,
)

__all__ = ["Account", "AccountClosed", "AccountIsDisabled", "AlreadyActivated", "DisabledCause",
           "LastActiveAdministrator", "LockCause", "MalformedIdentifier", "State", "mask_email", "parse_identifier",
           "random_identifier"]


@dataclass
class Account:
    identifier: str
    cofor_root: str
    given_name: str
    family_name: str
    email: str
    phone: str
    job_title: str
    language: str
    is_administrator: bool
    state: State
    disabled_cause: DisabledCause
    lock_cause: LockCause
    failed_attempts: int
    password_hash: str
    must_change_password: bool
    password_expires_at: dt.datetime | None
    password_changed_at: dt.datetime | None
    password_history: list[str]
    reset_hash: str | None
    reset_expires_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    last_login_at: dt.datetime | None = None
    locked_at: dt.datetime | None = None
    origin_access_request_id: str | None = None
    activation_digest: bytes | None = None  # until the holder chooses a password: the link's token digest
    activation_expires_at: dt.datetime | None = None
    known_devices: dict[str, str] = field(default_factory=dict)  # the pairs it logged in from lately (devices.py)
    roles: list[str] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)  # recorded, not yet sent

    def __post_init__(self) -> None:
        self.state = State(self.state)
        self.disabled_cause = DisabledCause(self.disabled_cause)
        self.lock_cause = LockCause(self.lock_cause)
        self.roles = ["USER", "ADMINISTRATOR"] if self.is_administrator else ["USER"]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_active_administrator(self) -> bool:
        """Counts for "at least one active ASL": an ASL not disabled (a blocked ASL can reset itself)."""
        return self.is_administrator and self.state != State.DISABLED

    def is_last_active_administrator(self, company: list[Account]) -> bool:
        """True when removing this account (disable, revoke) would leave its company without an active ASL.
        ``company``: every account of the company, read while the company is locked (CompanyRepository.lock)."""
        others = [a for a in company if a.is_active_administrator and a.identifier != self.identifier]
        return self.is_active_administrator and not others

    def record(self, event_type: type[ev.Event], now: dt.datetime, /, **values: Any) -> None:
        self.events.append(event_type(identifier=self.identifier, cofor_root=self.cofor_root, at=now, **values))

    def signed_in_from(self, device: Device, now: dt.datetime) -> None:
        """A completed login from ``device``: remembered, and told to the holder when it is news (devices.py)."""
        self.known_devices, news = seen_from(self.known_devices, device, now)
        if news:
            self.record(ev.NewDeviceLogin, now, device=device)

    # ---- lockout: the whole rule (the repository's attempt reservation applies may_try atomically) ----------

    def may_try(self, threshold: int) -> bool:
        """Whether a password may still be checked: past the threshold none is, not even the right one."""
        return self.failed_attempts < threshold

    def register_failure(self, now: dt.datetime, *, threshold: int, replayed_previous: bool = False) -> bool:
        """A wrong password, its attempt already counted: BLOCKED at the threshold, or at once when the password in
        use before the last change was presented (treated as identity theft). True when it locked the account."""
        if self.state != State.ACTIVE:
            return False
        if replayed_previous:
            self.lock(LockCause.PREVIOUS_PASSWORD, now)
        elif not self.may_try(threshold):
            self.lock(LockCause.FAILED_ATTEMPTS, now)
        else:
            return False
        return True

    def login_refusal(self, now: dt.datetime, *, company_open: bool) -> str | None:
        """Why a login with the right password is refused (None: it is not). Told only once the password is right.
        An account closed with its company (supplier deactivated, access reset) is told so: its ASL cannot help."""
        if self.state == State.DISABLED:
            closed_with_company = self.disabled_cause in (DisabledCause.SUPPLIER_DEACTIVATED,
                                                          DisabledCause.ACCESS_RESET)
            return "COMPANY_ACCESS_CLOSED" if closed_with_company else "ACCOUNT_DISABLED"
        if self.state == State.BLOCKED:
            return "ACCOUNT_BLOCKED"
        if self.temporary_password_expired(now):
            return "TEMPORARY_PASSWORD_EXPIRED"
        return None if company_open else "COMPANY_ACCESS_CLOSED"

    def honours_session(self, *, must_change_password: bool, company_open: bool) -> bool:
        """Whether a session still opens the portal: a login that raced a disable, a lock or the company's closing
        may have opened one after its sessions were ended. A BLOCKED account keeps only a session that may do
        nothing but change the password (an ASL's self-service reset)."""
        active = self.state == State.ACTIVE or (self.state == State.BLOCKED and must_change_password)
        return active and company_open

    def lock(self, cause: LockCause, now: dt.datetime) -> None:
        self.state, self.lock_cause, self.locked_at = State.BLOCKED, cause, now
        self.record(ev.AccountLocked, now, cause=cause, failed_attempts=self.failed_attempts, actor="system",
                    detail=cause.value.lower())

    def unlock(self, now: dt.datetime, *, actor: str, method: str, detail: str = "") -> bool:
        """BLOCKED → ACTIVE (False when it was not blocked). Raises AccountIsDisabled."""
        if self.state == State.DISABLED:
            raise AccountIsDisabled(self.identifier)
        if self.state != State.BLOCKED:
            return False
        self.state, self.lock_cause, self.failed_attempts = State.ACTIVE, LockCause.NONE, 0
        self.record(ev.AccountUnlocked, now, actor=actor, method=method, detail=detail)
        return True

    # ---- passwords --------------------------------------------------------------------------------------------

    def recent_password_hashes(self, history: int) -> list[str]:
        """The hashes a new password must not match: the current one and the earlier chosen ones, ``history`` in
        all."""
        return [self.password_hash, *self.password_history][:history]

    def _retire_password(self, history: int) -> bool:
        """A chosen password joins the history when replaced (no reuse, the previous-password check); a temporary
        one is just dropped. True when it was a chosen one."""
        if self.must_change_password:
            return False
        self.password_history = [self.password_hash, *self.password_history][: history - 1]
        return True

    def change_password(self, new_hash: str, now: dt.datetime, *, history: int, via_reset: bool) -> None:
        """The holder's own change; with an ASL's self-service reset password it also lifts a block."""
        was_temporary = not self._retire_password(history)
        self.password_hash, self.password_changed_at = new_hash, now
        self.must_change_password, self.password_expires_at = False, None
        self.reset_hash, self.reset_expires_at, self.failed_attempts = None, None, 0
        self.activation_digest, self.activation_expires_at = None, None
        self.record(ev.PasswordChanged, now, was_temporary=was_temporary)
        if via_reset and self.state == State.BLOCKED:
            self.state, self.lock_cause = State.ACTIVE, LockCause.NONE
            self.record(ev.AccountUnlocked, now, method="SELF_SERVICE_RESET", detail="self-service reset")

    def reset_password(self, new_hash: str, password: str, now: dt.datetime, *, history: int,
                       expires_at: dt.datetime, actor: str) -> None:
        """A temporary password from an ASL: the account is usable again (a block lifted), sessions end."""
        if self.state == State.DISABLED:
            raise AccountIsDisabled(self.identifier)
        if self._retire_password(history):
            self.password_changed_at = now  # the previous-password window starts now
        self.password_hash, self.must_change_password, self.password_expires_at = new_hash, True, expires_at
        self.failed_attempts, self.reset_hash, self.reset_expires_at = 0, None, None
        self.activation_digest, self.activation_expires_at = None, None  # the temporary password replaces the link
        self.record(ev.PasswordReset, now, actor=actor, kind="BY_ADMINISTRATOR", expires_at=expires_at,
                    password=password, detail="by administrator")
        if self.state == State.BLOCKED:  # the PASSWORD_RESET audit row tells it already
            self.record(ev.AccountUnlocked, now, actor=actor, method="ADMINISTRATOR", audited=False)
        self.state, self.lock_cause = State.ACTIVE, LockCause.NONE

    def offer_self_service_reset(self, reset_hash: str, password: str, now: dt.datetime,
                                 expires_at: dt.datetime) -> None:
        """An ASL's lost-password form: a one-time password beside the current one (which keeps working)."""
        self.reset_hash, self.reset_expires_at = reset_hash, expires_at
        self.record(ev.SelfServiceResetOffered, now, kind="SELF_SERVICE", expires_at=expires_at, password=password,
                    detail="self-service reset")

    # ---- activation: the holder of a new account chooses the first password through a one-time link ------------

    def send_activation(self, digest: bytes, expires_at: dt.datetime) -> None:
        """A (new) link: the earlier one stops working. Raises AccountIsDisabled, AlreadyActivated."""
        if self.state == State.DISABLED:
            raise AccountIsDisabled(self.identifier)
        if self.activation_digest is None and self.password_changed_at is not None:
            raise AlreadyActivated(self.identifier)
        self.activation_digest, self.activation_expires_at = digest, expires_at

    def activate(self, new_hash: str, now: dt.datetime) -> bool:
        """The first password, from a live link (False: none, expired, or the account disabled). The link proves
        the mailbox as a reset does: a block by someone guessing at the new account is lifted."""
        if (self.activation_expires_at is None or now >= self.activation_expires_at
                or self.state == State.DISABLED):
            return False
        self.password_hash, self.password_changed_at = new_hash, now
        self.must_change_password, self.password_expires_at, self.failed_attempts = False, None, 0
        self.activation_digest, self.activation_expires_at = None, None
        if self.state == State.BLOCKED:
            self.state, self.lock_cause = State.ACTIVE, LockCause.NONE
            self.record(ev.AccountUnlocked, now, method="SELF_SERVICE_RESET", detail="activation link")
        self.record(ev.AccountActivated, now)
        return True

    # ---- the account's life -----------------------------------------------------------------------------------

    def disable(self, now: dt.datetime, *, actor: str, cause: DisabledCause, detail: str = "",
                company: list[Account] | None = None) -> bool:
        """→ DISABLED (False when it was already). With ``company`` (an ASL acts), refuses to remove its last
        active ASL (LastActiveAdministrator); support staff and cofor's events may."""
        if self.state == State.DISABLED:
            return False
        if company is not None and self.is_last_active_administrator(company):
            raise LastActiveAdministrator(self.identifier)
        self.state, self.disabled_cause = State.DISABLED, cause
        self.activation_digest = None  # a link that went astray stays dead once enabled again: the ASL sends one
        self.record(ev.AccountDisabled, now, actor=actor, cause=cause, detail=detail)
        return True

    def revoke_administrator(self, now: dt.datetime, *, actor: str, detail: str = "",
                             company: list[Account] | None = None) -> bool:
        if not self.is_administrator:
            return False
        if company is not None and self.is_last_active_administrator(company):
            raise LastActiveAdministrator(self.identifier)
        self.is_administrator, self.roles = False, ["USER"]
        self.record(ev.AdministratorRevoked, now, actor=actor, display_name=self.display_name, detail=detail)
        return True

    def grant_administrator(self, now: dt.datetime, *, actor: str) -> bool:
        if self.state == State.DISABLED:
            raise AccountIsDisabled(self.identifier)
        if self.is_administrator:
            return False
        self.is_administrator, self.roles = True, ["USER", "ADMINISTRATOR"]
        self.record(ev.AdministratorGranted, now, actor=actor, display_name=self.display_name)
        return True

    def update_contact(self, changes: dict[str, str], now: dt.datetime, *, actor: str, actor_name: str) -> None:
        previous = self.change_contact(changes)
        detail = ",".join(sorted(changes))
        if previous is not None:
            detail += (f"; e-mail {mask_email(previous)} -> {mask_email(self.email)}: previous address told, "
                       "sessions ended")
            self.record(ev.EmailChanged, now, actor=actor, previous_email=previous,
                        new_email_masked=mask_email(self.email), actor_name=actor_name)
        self.record(ev.AccountUpdated, now, actor=actor, detail=detail)

    def change_contact(self, changes: dict[str, str]) -> str | None:
        """Apply contact fields; returns the previous e-mail when it changed (compared exactly, as recovery does).
        A new address voids a pending self-service reset: it was sent to the previous address."""
        previous = self.email
        for name, value in changes.items():
            setattr(self, name, value)
        if self.email == previous:
            return None
        self.reset_hash, self.reset_expires_at = None, None
        self.activation_digest = None  # the link went to the previous address (a typo, say): it stops working
        return previous

    def enable(self, now: dt.datetime | None = None, *, actor: str = "system",
               cause: DisabledCause = DisabledCause.ADMINISTRATOR, detail: str = "") -> bool:
        """DISABLED → ACTIVE (False when it was not disabled). Raises AccountClosed after an access reset.
        ``cause``: who lifts it (an administrator, or the supplier's reactivation)."""
        if self.state != State.DISABLED:
            return False
        if self.disabled_cause == DisabledCause.ACCESS_RESET:
            raise AccountClosed(self.identifier)
        self.state, self.disabled_cause, self.failed_attempts, self.lock_cause = \
            State.ACTIVE, DisabledCause.NONE, 0, LockCause.NONE
        self.record(ev.AccountEnabled, now or self.updated_at, actor=actor, cause=cause, detail=detail)
        return True

    def close(self, now: dt.datetime | None = None, *, detail: str = "") -> bool:
        """Closed for good by an access reset, whatever its state; its pending reset voided. True when it was not
        disabled before (a state change to announce)."""
        was_open = self.state != State.DISABLED
        self.state, self.disabled_cause = State.DISABLED, DisabledCause.ACCESS_RESET
        self.reset_hash, self.reset_expires_at = None, None
        self.record(ev.AccountDisabled, now or self.updated_at, actor="system", cause=DisabledCause.ACCESS_RESET,
                    announced=was_open, detail=detail)
        return was_open

    def temporary_password_expired(self, now: dt.datetime) -> bool:
        return self.password_expires_at is not None and now >= self.password_expires_at

    def password_expired(self, now: dt.datetime, max_age_days: int) -> bool:
        if max_age_days <= 0 or self.password_changed_at is None:
            return False
        return now - self.password_changed_at > dt.timedelta(days=max_age_days)

    def reset_valid(self, now: dt.datetime) -> bool:
        return self.reset_hash is not None and self.reset_expires_at is not None and now < self.reset_expires_at

    def previous_password_hash(self, now: dt.datetime, window_days: int) -> str | None:
        """The password in use before the last change, while presenting it still counts as identity theft."""
        if window_days <= 0 or not self.password_history or self.password_changed_at is None:
            return None
        if now - self.password_changed_at > dt.timedelta(days=window_days):
            return None
        return self.password_history[0]
