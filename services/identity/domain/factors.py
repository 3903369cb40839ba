"""Second factors (ARCHITECTURE §15): who must have one, what a session still needs, each factor's own failure
count, a TOTP code accepted once, recovery codes, and how a session was opened (amr/acr). Pure Python; the
repository applies ``may_try`` atomically, as it does for the password."""
from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from identity.domain.accounts import Account, State

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 letters, no look-alikes: 25 of them ≈ 124 bits
_RECOVERY_GROUPS, _RECOVERY_GROUP = 5, 5


class FactorKind(enum.StrEnum):
    TOTP = "TOTP"
    RECOVERY_CODE = "RECOVERY_CODE"
    PASSKEY = "PASSKEY"  # one row for all the account's passkeys (domain/passkeys.py)


class Step(enum.StrEnum):
    """What a session still needs before it opens anything."""

    NONE = ""
    VERIFY = "VERIFY"  # the password was right; a factor must be given
    ENROL = "ENROL"  # a factor is required of the account and none is enrolled


AMR = {FactorKind.TOTP: "otp", FactorKind.RECOVERY_CODE: "rcode", FactorKind.PASSKEY: "hwk user"}
PRIMARY = frozenset({FactorKind.TOTP, FactorKind.PASSKEY})  # factors that stand alone (recovery codes back them up)


@dataclass
class Factor:
    """One factor of an account: a TOTP app (its encrypted secret), the account's set of recovery codes, or its
    passkeys (the credentials themselves are in domain/passkeys.py)."""

    identifier: str
    kind: FactorKind
    secret_sealed: bytes | None
    confirmed_at: dt.datetime | None
    failed_attempts: int
    last_step: int
    created_at: dt.datetime

    def __post_init__(self) -> None:
        self.kind = FactorKind(self.kind)

    @property
    def enrolled(self) -> bool:
        return self.confirmed_at is not None

    def may_try(self, threshold: int) -> bool:
        """Whether a code may still be checked: at the threshold this factor is locked (the others are not)."""
        return self.failed_attempts < threshold

    def accepts_step(self, step: int) -> bool:
        """A TOTP code is accepted once: only a step later than the last accepted one (a replay, even within the
        same 30 seconds, is refused)."""
        return step > self.last_step


@dataclass(frozen=True)
class FactorStatus:
    """What an account has, for the session rules and for GetSecondFactors."""

    enrolled: frozenset[FactorKind]
    locked: frozenset[FactorKind]
    recovery_codes_left: int

    @classmethod
    def of(cls, factors: list[Factor], threshold: int, recovery_codes_left: int | None = None) -> FactorStatus:
        """``recovery_codes_left``: None when not counted (the login's path: a spent code set is told on use)."""
        enrolled = {f.kind for f in factors if f.enrolled}
        if recovery_codes_left == 0:
            enrolled.discard(FactorKind.RECOVERY_CODE)
        locked = {f.kind for f in factors if f.enrolled and not f.may_try(threshold)}
        return cls(frozenset(enrolled), frozenset(locked), recovery_codes_left or 0)

    @property
    def has_factor(self) -> bool:
        return bool(self.enrolled & PRIMARY)

    @property
    def usable(self) -> list[FactorKind]:
        return [k for k in FactorKind if k in self.enrolled and k not in self.locked]


def required_of(account: Account, *, company_requires: bool) -> bool:
    """Every ASL keeps a second factor; a user does when the company's ASL requires it of everyone."""
    return account.is_administrator or company_requires


def step_after_password(account: Account, status: FactorStatus, *, company_requires: bool) -> Step:
    """What a session opened by the right password still needs. A self-service reset password or a temporary one
    never skips the factor: the password is only ever the first step."""
    if status.has_factor:
        return Step.VERIFY
    if required_of(account, company_requires=company_requires) and account.state == State.ACTIVE:
        return Step.ENROL
    return Step.NONE


def outlived_by_factor(amr: str, step: Step, *, has_factor: bool) -> bool:
    """A complete session opened by the password alone ends once the account has a factor (enrolling ends the
    others; this catches a login that raced the enrolment)."""
    return has_factor and step == Step.NONE and acr_of(amr) != "mfa"


FRESH_FACTOR_MINUTES = 10


def factor_is_fresh(acr: str, opened_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a session may change the factors of an account that has one: opened with a factor, minutes ago. A
    stolen session cookie alone then cannot add its thief's passkey or app, nor take new recovery codes."""
    return acr == "mfa" and opened_at is not None and now - opened_at <= dt.timedelta(minutes=FRESH_FACTOR_MINUTES)


def merged_amr(amr: str, *methods: str) -> str:
    """How a session was opened, once ``methods`` were also given in it (each once, in order)."""
    return " ".join(dict.fromkeys([*amr.split(), *methods]))


def amr_of(*methods: str) -> str:
    return " ".join(["pwd", *methods])


def acr_of(amr: str) -> str:
    return "mfa" if len(amr.split()) > 1 else "pwd"


def new_recovery_codes() -> list[str]:
    """Ten codes of 25 random letters and digits in groups of five (``xxxxx-xxxxx-...``): ≈ 124 bits each, so a
    plain digest is enough at rest (NIST SP 800-63B look-up secrets)."""
    def one() -> str:
        letters = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP))
        return "-".join(letters[i:i + _RECOVERY_GROUP] for i in range(0, len(letters), _RECOVERY_GROUP))
    return [one() for _ in range(RECOVERY_CODE_COUNT)]


def normalize_recovery_code(text: str) -> str:
    """As typed: dashes, blanks and case ignored; the stored digest is of this form."""
    return "".join(c for c in text.lower() if c.isalnum())


def normalize_totp_code(text: str) -> str | None:
    """Six digits, blanks ignored; None for anything else (never checked, but still counted as a failure)."""
    digits = "".join(text.split())
    return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else None
