"""V-identifiers and the account's states, causes and refusals. Pure Python."""
from __future__ import annotations

import enum
import hmac
import re
import secrets

_IDENTIFIER = re.compile(r"^V[0-9]{6}$")


class MalformedIdentifier(ValueError):
    pass


class AccountClosed(Exception):
    """The account was closed for good by a reset of the company's portal access: it is never enabled again."""


class AccountIsDisabled(Exception):
    """The change needs an account that is not disabled."""


class AlreadyActivated(Exception):
    """The holder has chosen a password already: there is nothing to activate."""


class LastActiveAdministrator(Exception):
    """The change would leave the company without an active ASL."""


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


def parse_cofor_root(text: str) -> str | None:
    """``abc123``, ``ABC123 01`` → ``ABC123`` (a COFOR's root, optionally followed by a site code); None if
    malformed."""
    value = text.strip().upper()
    root = value[:6]
    if len(root) == 6 and root.isalnum() and (len(value) == 6 or value[6:].strip().isalnum()):
        return root
    return None


def same_text(a: str, b: str) -> bool:
    """Exact, case-sensitive comparison in constant time (recovery forms)."""
    return hmac.compare_digest(a.encode(), b.encode())
