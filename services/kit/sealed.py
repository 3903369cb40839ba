"""Sealed secrets: values only the mailer can read (a temporary password, an acceptance-link token).

A producer encrypts them to the mailer's public key (libsodium sealed box: X25519 + XSalsa20-Poly1305)
before they enter the outbox, so no database row, stream message or log line holds them in clear.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox


class SealError(Exception):
    pass


@dataclass(frozen=True)
class SealKeyPair:
    private_key: str  # base64, for the mailer only
    public_key: str  # base64, for every producer

    @classmethod
    def generate(cls) -> SealKeyPair:
        key = PrivateKey.generate()
        return cls(base64.b64encode(bytes(key)).decode(), base64.b64encode(bytes(key.public_key)).decode())


def seal(public_key_b64: str, secrets: dict[str, str]) -> bytes:
    if not public_key_b64:
        raise SealError("no mail seal public key configured (MAIL_SEAL_PUBLIC_KEY)")
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return bytes(box.encrypt(json.dumps(secrets, separators=(",", ":")).encode()))


def unseal(private_key_b64: str, sealed: bytes) -> dict[str, str]:
    if not sealed:
        return {}
    try:
        plain = SealedBox(PrivateKey(base64.b64decode(private_key_b64))).decrypt(sealed)
    except (CryptoError, ValueError) as exc:
        raise SealError("sealed secrets cannot be opened with this key") from exc
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise SealError("sealed secrets are not an object")
    return {str(k): str(v) for k, v in value.items()}
