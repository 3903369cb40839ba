"""RFC 6238 codes (pyotp): 6 digits, 30-second steps, SHA-1 (what every authenticator app reads from a QR code).
Which step a code belongs to is returned, so the use case can accept each code once (domain/factors.py)."""
from __future__ import annotations

import datetime as dt
import hmac

import pyotp

DIGITS, STEP_SECONDS, DRIFT_STEPS = 6, 30, 1


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account_name,
                                                                                    issuer_name=issuer)


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The step (30-second period since the epoch) whose code ``code`` is, within ±1 step of ``now``; None if
    none. Every candidate is compared in constant time."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(now)
    found = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            found = current + offset
    return found


def code_at(secret: str, moment: dt.datetime) -> str:
    """The code an app shows at ``moment`` (tests and the demo's software authenticator)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(moment)
