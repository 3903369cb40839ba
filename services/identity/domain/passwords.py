"""Password policy (ARCHITECTURE.md §5, NIST SP 800-63B rev. 4, password as the only factor).

Pure domain code: no I/O, no hashing, no database. The rule that a new password must not equal one of the
last five (``PASSWORD_RECENTLY_USED``) needs the stored hashes and is checked by the service layer.

Every rule works on the NFKC-normalised password (the form that is hashed); lengths are counted in Unicode
code points. There are no composition rules: any Unicode character, spaces included, is allowed.
"""
from __future__ import annotations

import functools
import threading
import unicodedata
from dataclasses import dataclass

import zxcvbn as _zxcvbn_package
from zxcvbn.frequency_lists import FREQUENCY_LISTS

__all__ = [
    "MAX_LENGTH",
    "PASSWORD_CONTAINS_COFOR",
    "PASSWORD_CONTAINS_EMAIL",
    "PASSWORD_CONTAINS_IDENTIFIER",
    "PASSWORD_TOO_COMMON",
    "PASSWORD_TOO_LONG",
    "PASSWORD_TOO_SHORT",
    "PolicyViolation",
    "check_policy",
    "normalize",
]

MAX_LENGTH = 128

# Reasons (the `reason` of a google.rpc.BadRequest field violation on `new_password`), in check order.
PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
PASSWORD_CONTAINS_IDENTIFIER = "PASSWORD_CONTAINS_IDENTIFIER"
PASSWORD_CONTAINS_COFOR = "PASSWORD_CONTAINS_COFOR"
PASSWORD_CONTAINS_EMAIL = "PASSWORD_CONTAINS_EMAIL"
PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"

# zxcvbn refuses longer inputs; only this many leading characters are scored.
_ZXCVBN_MAX_LENGTH = 72
# zxcvbn score (0..4) a password must reach.
_MIN_ZXCVBN_SCORE = 3
# The e-mail local part counts from this length; its pieces (split on . _ - +) from the next one.
_MIN_EMAIL_LOCAL_LENGTH = 3
_MIN_EMAIL_PIECE_LENGTH = 4
_EMAIL_SEPARATORS = str.maketrans({".": " ", "_": " ", "-": " ", "+": " "})

# zxcvbn stores the user inputs of a call in a module-global dictionary before matching, so two concurrent
# calls from different threads could see each other's inputs: serialise them (each call takes a few ms).
_zxcvbn_lock = threading.Lock()


@dataclass(frozen=True)
class PolicyViolation:
    reason: str
    description: str


def normalize(password: str) -> str:
    """The NFKC form of the password: what is hashed and what length counts. No trimming, no case change."""
    return unicodedata.normalize("NFKC", password)


def check_policy(
    password: str, *, identifier: str, cofor_root: str, email: str, min_length: int = 15
) -> list[PolicyViolation]:
    """Every rule the password fails, in the order of the reasons above, at most one per reason.

    Returns ``[]`` when the password is acceptable. ``identifier`` is the account's V-identifier, ``cofor_root``
    its company's 6-character COFOR root, ``email`` its registered e-mail address.
    """
    if not 1 <= min_length <= MAX_LENGTH:
        raise ValueError(f"min_length must be between 1 and {MAX_LENGTH}, got {min_length}")

    normalized = normalize(password)
    folded = normalized.casefold()
    violations: list[PolicyViolation] = []

    too_long = len(normalized) > MAX_LENGTH
    if len(normalized) < min_length:
        violations.append(PolicyViolation(PASSWORD_TOO_SHORT, f"must be at least {min_length} characters"))
    if too_long:
        violations.append(PolicyViolation(PASSWORD_TOO_LONG, f"must be at most {MAX_LENGTH} characters"))

    identifier_folded = _fold(identifier)
    if identifier_folded and identifier_folded in folded:
        violations.append(PolicyViolation(PASSWORD_CONTAINS_IDENTIFIER, "must not contain your V-identifier"))

    cofor_folded = _fold(cofor_root)
    if cofor_folded and cofor_folded in folded:
        violations.append(PolicyViolation(PASSWORD_CONTAINS_COFOR, "must not contain your company's COFOR code"))

    local_part = _email_local_part(email)
    if any(fragment in folded for fragment in _email_fragments(local_part)):
        violations.append(
            PolicyViolation(PASSWORD_CONTAINS_EMAIL, "must not contain your e-mail address or a part of it")
        )

    # A password over the maximum is refused anyway: skip the costly guessability check.
    if not too_long and _is_common_or_guessable(
        normalized, user_inputs=[normalize(identifier).strip(), normalize(cofor_root).strip(), local_part]
    ):
        violations.append(PolicyViolation(PASSWORD_TOO_COMMON, "is too common or too easy to guess"))

    return violations


def _fold(value: str) -> str:
    """Normalised, trimmed, case-folded form used for case-insensitive "contains" checks."""
    return normalize(value).strip().casefold()


def _email_local_part(email: str) -> str:
    """The part of the address before its last ``@`` (the whole value when there is none), NFKC, trimmed."""
    address = normalize(email).strip()
    local, at, _domain = address.rpartition("@")
    return local if at else address


def _email_fragments(local_part: str) -> list[str]:
    """Case-folded fragments of the e-mail local part that a password must not contain."""
    local = local_part.casefold()
    if len(local) < _MIN_EMAIL_LOCAL_LENGTH:
        return []
    pieces = [piece for piece in local.translate(_EMAIL_SEPARATORS).split() if len(piece) >= _MIN_EMAIL_PIECE_LENGTH]
    return [local, *pieces]


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 common passwords shipped with zxcvbn (lower case), built once on first use."""
    return frozenset(entry.lower() for entry in FREQUENCY_LISTS["passwords"])


def _is_common_or_guessable(normalized: str, *, user_inputs: list[str]) -> bool:
    if _is_common(normalized):
        return True
    if len(normalized) > _ZXCVBN_MAX_LENGTH:
        # zxcvbn cannot score the whole password; score its first 72 characters.
        normalized = normalized[:_ZXCVBN_MAX_LENGTH]
    with _zxcvbn_lock:
        result = _zxcvbn_package.zxcvbn(normalized, user_inputs=user_inputs)
    return result["score"] < _MIN_ZXCVBN_SCORE


def _is_common(normalized: str) -> bool:
    """Whether the password, lower-cased without whitespace, is a common password or one repeated."""
    compact = "".join(normalized.lower().split())
    if not compact:
        return False
    common = _common_passwords()
    length = len(compact)
    for unit in range(1, length + 1):
        if length % unit == 0:
            head = compact[:unit]
            if head in common and head * (length // unit) == compact:
                return True
    return False
