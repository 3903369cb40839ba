"""How the secrets suite (hardening/secrets.py) looks for a secret: every encoding that would betray it, and the
encodings the planted controls are logged in."""
from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from google.protobuf.text_encoding import CEscape

# How a control is written into the log, one control per encoding the scanner must see through.
CONTROLS: dict[str, Callable[[str], str]] = {
    "as typed": lambda s: s,
    "JSON-escaped": lambda s: json.dumps(s),
    "URL-encoded": lambda s: quote(s, safe=""),
    "base64 off the 3-byte grid": lambda s: base64.b64encode(b"x" + s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "bytes repr": lambda s: repr(s.encode()),
}


def needles(secret: str, kind: str) -> dict[bytes, str]:
    """The byte strings that would betray ``secret``, each with the name of its encoding."""
    raw = secret.encode()
    forms = {"as typed": raw, "UTF-16-LE": secret.encode("utf-16-le"),
             "NFKC": unicodedata.normalize("NFKC", secret).encode(), "URL-encoded": quote(secret, safe="").encode(),
             "URL-encoded (+)": quote_plus(secret).encode(), "JSON-escaped": json.dumps(secret)[1:-1].encode(),
             "bytes repr": repr(raw)[2:-1].encode(), "octal escapes (protobuf text)": CEscape(raw, False).encode(),
             "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for shift in range(3):  # the characters that depend on the secret's bytes alone, at each alignment
            encoded = encode(b"\0" * shift + raw)
            forms[f"{name}@{shift}"] = encoded[-(-8 * shift // 6):8 * (shift + len(raw)) // 6]
    if kind.endswith("password"):
        for algorithm in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algorithm, raw).digest()
            forms[f"unsalted {algorithm}"], forms[f"unsalted {algorithm} hex"] = digest, digest.hex().encode()
    found: dict[bytes, str] = {}
    for name, needle in forms.items():
        found.setdefault(needle, name)
    return found


def scan(places: dict[str, bytes], kinds: dict[str, str]) -> list[tuple[str, str]]:
    """Where each secret turns up: (secret, ``kind (encoding) in place``)."""
    findings = []
    for secret, kind in kinds.items():
        for needle, encoding in needles(secret, kind).items():
            findings += [(secret, f"{kind} ({encoding}) in {place}") for place, hay in places.items() if needle in hay]
    return findings
