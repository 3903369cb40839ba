"""A software passkey for tests, the demo and the hardening suites: soft-webauthn's key, made to verify its user
(the UV flag a phone's PIN or fingerprint sets), speaking the JSON the portal's pages speak (the options from
``Begin…``, the answer as ``PublicKeyCredential.toJSON()``). One key holds one credential."""
from __future__ import annotations

import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from soft_webauthn import SoftWebauthnDevice

_UV = 0x04


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftPasskey(SoftWebauthnDevice):  # type: ignore[misc]  # soft-webauthn has no type hints: its class is Any
    def __init__(self, *, verifies_user: bool = True) -> None:
        super().__init__()
        self.verifies_user = verifies_user

    def create_json(self, options_json: str, origin: str) -> str:
        """Registers a new credential for these options; the browser's answer as JSON."""
        options = json.loads(options_json)
        options["challenge"], options["user"]["id"] = unb64(options["challenge"]), unb64(options["user"]["id"])
        made = self.create({"publicKey": options}, origin)
        attestation = cbor.decode(made["response"]["attestationObject"])
        if self.verifies_user:
            attestation["authData"] = _flagged(attestation["authData"])
        return json.dumps({"id": b64(made["rawId"]), "rawId": b64(made["rawId"]), "type": "public-key",
                           "response": {"clientDataJSON": b64(made["response"]["clientDataJSON"]),
                                        "attestationObject": b64(cbor.encode(attestation)), "transports": []},
                           "clientExtensionResults": {}})

    def get_json(self, options_json: str, origin: str) -> str:
        """Signs these options' challenge; the browser's answer as JSON."""
        options = json.loads(options_json)
        options["challenge"] = unb64(options["challenge"])
        made: dict[str, Any] = self.get({"publicKey": options}, origin)
        response = made["response"]
        if self.verifies_user:  # the flag is signed: sign again over the flagged data
            response["authenticatorData"] = _flagged(response["authenticatorData"])
            response["signature"] = self.private_key.sign(
                response["authenticatorData"] + sha256(response["clientDataJSON"]).digest(),
                ec.ECDSA(hashes.SHA256()))
        return json.dumps({"id": b64(made["rawId"]), "rawId": b64(made["rawId"]), "type": "public-key",
                           "response": {"clientDataJSON": b64(response["clientDataJSON"]),
                                        "authenticatorData": b64(response["authenticatorData"]),
                                        "signature": b64(response["signature"]),
                                        "userHandle": b64(response["userHandle"])},
                           "clientExtensionResults": {}})

    @property
    def credential_id_text(self) -> str:
        return b64(self.credential_id)


def _flagged(auth_data: bytes) -> bytes:
    return auth_data[:32] + bytes([auth_data[32] | _UV]) + auth_data[33:]
