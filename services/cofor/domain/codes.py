"""COFOR and D-U-N-S formats (ARCHITECTURE §2). Pure functions, no I/O."""
from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

ALPHABET = string.digits + string.ascii_uppercase
_ROOT = re.compile(r"^[0-9A-Z]{6}$")
_SITE = re.compile(r"^[0-9A-Z]{2}$")
# Accepted inputs: root alone, root+site, root + spaces + site; surrounding blanks are stripped first.
_INPUT = re.compile(r"^([0-9A-Z]{6})(?: *([0-9A-Z]{2}))?$")
HEAD_OFFICE_SITE = "01"


class MalformedCofor(ValueError):
    pass


@dataclass(frozen=True)
class CoforInput:
    root: str
    site: str | None  # None: the head office is meant

    def canonical(self, head_office_site: str) -> str:
        return canonical(self.root, self.site or head_office_site)


def canonical(root: str, site: str) -> str:
    return f"{root}  {site}"


def parse_cofor(text: str) -> CoforInput:
    """Any accepted COFOR form → root and optional site, upper case. Raises MalformedCofor."""
    value = text.strip().upper()
    match = _INPUT.match(value)
    if not match:
        raise MalformedCofor("a COFOR is 6 letters or digits, optionally followed by a 2-character site code")
    return CoforInput(match.group(1), match.group(2))


def parse_site_code(text: str) -> str:
    value = text.strip().upper()
    if not _SITE.match(value):
        raise MalformedCofor("a site code is 2 letters or digits")
    return value


def is_root(text: str) -> bool:
    return bool(_ROOT.match(text))


def random_root() -> str:
    """A new COFOR root drawn at random (never sequential); the caller retries on collision."""
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


def site_codes() -> list[str]:
    """Site codes in allocation order: 02..99, then 0A..ZZ (01 is the head office)."""
    numeric = [f"{n:02d}" for n in range(2, 100)]
    others = [a + b for a in ALPHABET for b in ALPHABET if not (a.isdigit() and b.isdigit())]
    return numeric + others


def normalize_duns(text: str) -> str:
    """9 digits; dashes and spaces accepted. Raises ValueError."""
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise ValueError("a D-U-N-S number is 9 digits (dashes allowed, e.g. 12-345-6789)")
    return digits
