"""Second-factor secrets at rest: a TOTP secret must be read back to check codes, so it is encrypted (XSalsa20-
Poly1305, libsodium's secretbox through PyNaCl) with identity's FACTOR_SECRET_KEY, never stored in the clear. The
key stays in the process; a database dump alone opens nothing."""
from __future__ import annotations

import base64
import hashlib

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

# The development and test key (settings' default): production refuses it (IdentitySettings.production_problems).
DEVELOPMENT_KEY = base64.b64encode(hashlib.sha256(b"development-only second factor key").digest()).decode()


class FactorBox:
    def __init__(self, key_b64: str) -> None:
        key = base64.b64decode(key_b64, validate=True)
        if len(key) != SecretBox.KEY_SIZE:
            raise ValueError(f"FACTOR_SECRET_KEY must be {SecretBox.KEY_SIZE} bytes, base64")
        self._box = SecretBox(key)

    def seal(self, secret: str) -> bytes:
        return bytes(self._box.encrypt(secret.encode()))  # a fresh random nonce each time, stored with it

    def open(self, sealed: bytes) -> str | None:
        """None when the stored value was not sealed with this key (a key changed without re-enrolment)."""
        try:
            return self._box.decrypt(sealed).decode()
        except CryptoError:
            return None


def key_problem(key_b64: str) -> str | None:
    """Why FACTOR_SECRET_KEY cannot be used in production (None: it can). Never quotes the key."""
    if key_b64.strip() == DEVELOPMENT_KEY:
        return "FACTOR_SECRET_KEY: the development key; production needs its own 32 random bytes, base64"
    try:
        FactorBox(key_b64)
    except ValueError:
        return "FACTOR_SECRET_KEY: not 32 bytes in base64"
    return None
