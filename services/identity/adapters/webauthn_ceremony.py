"""The WebAuthn ceremonies (py_webauthn): options for the browser, and checks of what it sends back — challenge,
origin, relying party, user verification, signature, signature counter. No CBOR, COSE or signature code here.
Whatever a client sends that the library cannot read or verify is one refusal (PasskeyRefused), never an error."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, parse_client_data_json
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from identity.domain.passkeys import CHALLENGE_MINUTES

MAX_CREDENTIAL_ID = 1023
MAX_FIELD = 16_384  # characters of one base64url field (the whole answer is bounded the same)
_REQUIRED = UserVerificationRequirement.REQUIRED  # a PIN or biometrics on the device: the passkey is two factors
_TIMEOUT_MS = CHALLENGE_MINUTES * 60_000


class PasskeyRefused(Exception):
    """What the browser sent is not a valid answer to our challenge (malformed, wrong origin, bad signature…)."""


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str  # the portal's domain ("suppliers.b2b-portal.example"); passkeys are bound to it
    name: str
    origins: tuple[str, ...]  # the pages' exact origins ("https://suppliers.b2b-portal.example")


@dataclass(frozen=True)
class Registered:
    credential_id: bytes
    public_key: bytes
    sign_count: int


def registration_options(rp: RelyingParty, *, user_name: str, display_name: str, user_handle: bytes,
                         exclude: list[bytes]) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.create`` (JSON) and their challenge: a discoverable credential, the
    user verified, no attestation asked (any authenticator; ARCHITECTURE §15 sets no attestation policy)."""
    options = generate_registration_options(
        rp_id=rp.rp_id, rp_name=rp.name, user_name=user_name, user_id=user_handle, user_display_name=display_name,
        timeout=_TIMEOUT_MS, attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                               user_verification=_REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude])
    return options_to_json(options), options.challenge


def authentication_options(rp: RelyingParty, allow: list[bytes]) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.get``: ``allow`` empty lets the person pick any passkey of the portal."""
    options = generate_authentication_options(
        rp_id=rp.rp_id, timeout=_TIMEOUT_MS, user_verification=_REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow])
    return options_to_json(options), options.challenge


def _field(credential: dict[str, Any], name: str, *, in_response: bool = True) -> bytes | None:
    """A base64url field of the browser's answer; None when absent, b"" when present but unreadable."""
    holder = credential.get("response") if in_response else credential
    text = holder.get(name) if isinstance(holder, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64url_to_bytes(text) if len(text) <= MAX_FIELD else b""
    except Exception:  # noqa: BLE001 - a client's bytes: unreadable is simply "not that"
        return b""


def challenge_of(credential: dict[str, Any]) -> bytes | None:
    """The challenge the browser signed (from clientDataJSON), to find the ceremony it answers; None if unreadable."""
    data = _field(credential, "clientDataJSON")
    try:
        return parse_client_data_json(data).challenge if data else None
    except Exception:  # noqa: BLE001 - as above
        return None


def credential_id_of(credential: dict[str, Any]) -> bytes | None:
    """The credential's id as the browser gives it (``rawId``); None if unreadable or longer than WebAuthn allows."""
    value = _field(credential, "rawId", in_response=False)
    return value if value and len(value) <= MAX_CREDENTIAL_ID else None


def user_handle_of(credential: dict[str, Any]) -> bytes | None:
    """The user handle a discoverable passkey returned (None when it sent none, as on a second step; b"" when it
    is unreadable, which matches no account)."""
    return _field(credential, "userHandle")


def verify_registration(rp: RelyingParty, credential: dict[str, Any], challenge: bytes) -> Registered:
    try:
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=rp.rp_id, expected_origin=list(rp.origins),
                                                require_user_verification=True)
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds (and ValueError…) on a client's bytes
        raise PasskeyRefused(str(exc)) from exc
    # WebAuthn caps credential ids at 1,023 bytes, and the id the browser shows must be the one the key signed.
    if len(verified.credential_id) > MAX_CREDENTIAL_ID or credential_id_of(credential) != verified.credential_id:
        raise PasskeyRefused("credential id too long, or not the one in the authenticator data")
    return Registered(verified.credential_id, verified.credential_public_key, verified.sign_count)


def verify_assertion(rp: RelyingParty, credential: dict[str, Any], challenge: bytes, public_key: bytes,
                     sign_count: int) -> int:
    """The new signature counter. A counter that did not grow (a cloned key, or a replay) is refused by the library;
    keys that always send 0 (most synced passkeys) rely on the single-use challenge alone."""
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins), credential_public_key=public_key,
            credential_current_sign_count=sign_count, require_user_verification=True)
    except Exception as exc:  # noqa: BLE001 - as above
        raise PasskeyRefused(str(exc)) from exc
    return verified.new_sign_count

