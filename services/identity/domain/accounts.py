"""V-identifiers and the account's states and roles. Pure Python."""
from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from dataclasses import dataclass, field

_IDENTIFIER = re.compile(r"^V[0-9]{6}$")


class MalformedIdentifier(ValueError):
    pass


class AccountClosed(Exception):
    """The account was closed for good by a reset of the company's portal access: it is never enabled again."""


def parse_identifier(text: str) -> str:
    """``v123456`` / `` V123456 `` → ``V123456``. Raises MalformedIdentifier."""
    value = text.strip().upper()
    if not _IDENTIFIER.match(value):
        raise MalformedIdentifier("a V-identifier is the letter V followed by 6 digits, e.g. V123456")
    return value


def mask_email(address: str) -> str:
    """``jean.dupont@example.com`` → ``j***@example.com``: enough for the holder to recognise, not to reuse."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


def random_identifier() -> str:
    """Drawn at random, never sequential: identifiers do not reveal how many accounts exist."""
    return f"V{secrets.randbelow(1_000_000):06d}"


class State(enum.StrEnum):
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"
    DISABLED = "DISABLED"


class LockCause(enum.StrEnum):
    NONE = ""
    FAILED_ATTEMPTS = "FAILED_ATTEMPTS"
    PREVIOUS_PASSWORD = "PREVIOUS_PASSWORD"


class DisabledCause(enum.StrEnum):
    NONE = ""
    ADMINISTRATOR = "ADMINISTRATOR"
    SUPPLIER_DEACTIVATED = "SUPPLIER_DEACTIVATED"
    ACCESS_RESET = "ACCESS_RESET"  # for good: the company starts again from a new access request


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
    roles: list[str] = field(default_factory=list)

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
        ``company``: every account of the company, read while the company is locked (see lock_company)."""
        others = [a for a in company if a.is_active_administrator and a.identifier != self.identifier]
        return self.is_active_administrator and not others

    def change_contact(self, changes: dict[str, str]) -> str | None:
        """Apply contact fields; returns the previous e-mail when it changed (compared exactly, as recovery does).
        A new address voids a pending self-service reset: it was sent to the previous address."""
        previous = self.email
        for name, value in changes.items():
            setattr(self, name, value)
        if self.email == previous:
            return None
        self.reset_hash, self.reset_expires_at = None, None
        return previous

    def enable(self) -> bool:
        """DISABLED → ACTIVE (False when it was not disabled). Raises AccountClosed after an access reset."""
        if self.state != State.DISABLED:
            return False
        if self.disabled_cause == DisabledCause.ACCESS_RESET:
            raise AccountClosed(self.identifier)
        self.state, self.disabled_cause, self.failed_attempts, self.lock_cause = \
            State.ACTIVE, DisabledCause.NONE, 0, LockCause.NONE
        return True

    def close(self) -> bool:
        """Closed for good by an access reset, whatever its state; its pending reset voided. True when it was not
        disabled before (a state change to announce)."""
        was_open = self.state != State.DISABLED
        self.state, self.disabled_cause = State.DISABLED, DisabledCause.ACCESS_RESET
        self.reset_hash, self.reset_expires_at = None, None
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
