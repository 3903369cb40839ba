"""Passkeys (ARCHITECTURE §15): WebAuthn credentials kept by the holder's phone, computer or security key. Pure
Python: what a stored passkey is, what one ceremony's challenge is for, how a session opened with one is described.
The ceremony itself (CBOR, COSE, signatures) is py_webauthn's, in adapters/webauthn_ceremony.py."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

MAX_PASSKEYS = 10  # per account: enough for a phone, a laptop and spare keys; bounds what a session can add
MAX_NAME = 60
MAX_CREDENTIAL_INPUT = 16_384  # the browser's JSON of one ceremony; real ones are 1–2 KiB
CHALLENGE_MINUTES = 5

# RFC 8176: a key held by the person ("hwk") that verified them itself ("user": PIN or biometrics). Two factors in
# one gesture: "hwk user" alone is acr mfa, as ARCHITECTURE §15 says a passkey may sign in on its own.
PASSKEY_AMR = ("hwk", "user")


class Ceremony(enum.StrEnum):
    """What a challenge was issued for: a response made for one ceremony is refused by the others."""

    ENROL = "ENROL"  # add a passkey to the session's account
    VERIFY = "VERIFY"  # the login's second step, after the password
    LOGIN = "LOGIN"  # sign in with the passkey alone (the account is found from the credential)


@dataclass(frozen=True)
class Passkey:
    credential_id: bytes
    identifier: str
    public_key: bytes  # COSE key, as registered
    sign_count: int
    name: str
    user_handle: bytes
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def clean_name(text: str, fallback: str) -> str:
    """A label the holder chose ("Mon téléphone"), one line, bounded; the fallback when blank."""
    name = " ".join("".join(c for c in text if c.isprintable()).split())[:MAX_NAME]
    return name or fallback
