"""The portal as an OpenID Connect provider (ARCHITECTURE §14): who may ask for what, and what a token says.

The rules, in one place: a client's redirect URIs match exactly; every authorization uses PKCE S256; a code is good
once, for a minute, to the client and redirect URI it was given for; a refresh token is good once (its successor
replaces it) and a second use ends its whole chain; the portal session is the SSO session, so every token dies
with it."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

if TYPE_CHECKING:
    from identity.domain.accounts import Account

# Where the gateway serves the protocol (relative to the issuer).
PATHS = {"authorization_endpoint": "/oidc/authorize", "token_endpoint": "/oidc/token",
         "userinfo_endpoint": "/oidc/userinfo", "jwks_uri": "/oidc/jwks", "revocation_endpoint": "/oidc/revoke",
         "introspection_endpoint": "/oidc/introspect", "end_session_endpoint": "/oidc/logout"}
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SCOPES = ("openid", "profile", "email")
# Always in the ID token and userinfo with `openid`: who the person is at the portal. `profile` adds the name,
# `email` the address.
CLAIMS = ("sub", "preferred_username", "cofor", "roles", "name", "email", "auth_time", "amr", "acr", "sid")
CODE_SECONDS = 60
TOKEN_MINUTES = 5  # ID and access tokens (RFC 9068)
MAX_REDIRECT_URIS = 10
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")  # base64url of a SHA-256, no padding
_CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")


class AuthMethod(enum.StrEnum):
    NONE = "none"  # a public client (a single-page or native application): PKCE alone
    CLIENT_SECRET_BASIC = "client_secret_basic"
    PRIVATE_KEY_JWT = "private_key_jwt"


class OAuthError(Exception):
    """An OAuth error answer (RFC 6749 §4.1.2.1, §5.2). ``redirectable``: sent back to the client's redirect URI;
    otherwise shown to the person (an unknown client or redirect URI must never be redirected to)."""

    def __init__(self, error: str, description: str, *, redirectable: bool = True) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.redirectable = error, description, redirectable


def invalid_client() -> OAuthError:
    return OAuthError("invalid_client", "client authentication failed", redirectable=False)


def invalid_grant() -> OAuthError:
    # One answer for an unknown, used, expired or someone else's code or refresh token: no oracle.
    return OAuthError("invalid_grant", "the code or refresh token is invalid, expired or revoked")


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    auth_method: AuthMethod
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    scopes: tuple[str, ...] = SCOPES
    backchannel_logout_uri: str = ""
    jwks: dict[str, object] = field(default_factory=dict)  # private_key_jwt: the client's public keys
    disabled: bool = False

    @property
    def is_public(self) -> bool:
        return self.auth_method == AuthMethod.NONE

    def granted_scopes(self, asked: str) -> str:
        """The scopes of a request this client may have (``openid`` required; unknown ones ignored, RFC 6749 §3.3)."""
        wanted = asked.split()
        if "openid" not in wanted:
            raise OAuthError("invalid_scope", "the openid scope is required")
        return " ".join(s for s in SCOPES if s in wanted and s in self.scopes)


def check_registration(client: Client, *, production: bool) -> list[tuple[str, str]]:
    """What is wrong with a client about to be registered: (field, problem) pairs, empty when it may be saved."""
    problems: list[tuple[str, str]] = []
    if not _CLIENT_ID.fullmatch(client.client_id):
        problems.append(("client_id", "3 to 64 lowercase letters, digits and hyphens"))
    if not client.name.strip() or len(client.name) > 100:
        problems.append(("name", "1 to 100 characters"))
    if not client.redirect_uris or len(client.redirect_uris) > MAX_REDIRECT_URIS:
        problems.append(("redirect_uris", f"1 to {MAX_REDIRECT_URIS} URIs"))
    for name, uris in (("redirect_uris", client.redirect_uris),
                       ("post_logout_redirect_uris", client.post_logout_redirect_uris),
                       ("backchannel_logout_uri", (client.backchannel_logout_uri,) if client.backchannel_logout_uri
                        else ())):
        problems += [(name, problem) for uri in uris if (problem := uri_problem(
            uri, production=production, loopback=name == "redirect_uris"))]
    if client.auth_method == AuthMethod.PRIVATE_KEY_JWT and (problem := jwks_problem(client.jwks)):
        problems.append(("jwks", problem))
    if unknown := set(client.scopes) - set(SCOPES):
        problems.append(("scopes", f"unknown scopes: {' '.join(sorted(unknown))}"))
    return problems


def jwks_problem(jwks: dict[str, object]) -> str | None:
    """What is wrong with the public keys a private_key_jwt client registers (None: they can check assertions)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not 0 < len(keys) <= 10:
        return "private_key_jwt needs the client's public keys: a JWKS of 1 to 10 keys"
    try:
        imported = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        return "not a JWKS joserfc can read"
    if any(key.is_private for key in imported.keys):
        return "a private key: register the public half only"
    return None


def uri_problem(uri: str, *, production: bool, loopback: bool = True) -> str | None:
    """An absolute http(s) URI without fragment; in production https, but for a loopback redirect URI (a native
    application's, RFC 8252) — never a loopback address identity itself would post to (a back-channel logout)."""
    parts = urlsplit(uri)
    if len(uri) > 500 or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        return f"{uri[:60]!r}: an absolute http(s) URI without fragment"
    on_loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if production and on_loopback and not loopback:
        return f"{uri[:60]!r}: not on this host's loopback"
    if production and parts.scheme == "http" and not on_loopback:
        return f"{uri[:60]!r}: https is required"
    return None


def check_pkce(challenge: str, method: str) -> None:
    if not challenge:
        raise OAuthError("invalid_request", "code_challenge is required (PKCE S256)")
    if method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise OAuthError("invalid_request", "code_challenge is not a base64url SHA-256")


def verifier_matches(verifier: str, challenge: str) -> bool:
    return bool(_VERIFIER.fullmatch(verifier)) and create_s256_code_challenge(verifier) == challenge


def login_needed(opened_at: dt.datetime | None, now: dt.datetime, *, prompt: str, max_age: int | None,
                 login_after: int | None) -> bool:
    """Whether the live portal session is not enough for this authorization: ``prompt=login``, an exceeded
    ``max_age``, or a fresh login asked by an earlier redirect (``login_after``, seconds since the epoch)."""
    if "login" in prompt.split():
        return True
    opened = opened_at or now
    if max_age is not None and (now - opened).total_seconds() > max_age:
        return True
    return login_after is not None and opened.timestamp() < login_after


def session_id(session_digest: bytes) -> str:
    """The ``sid`` of a portal session, as applications see it: derived from the session's digest, never the
    token, and not the digest itself."""
    return hashlib.sha256(b"oidc-sid:" + session_digest).hexdigest()[:32]


@dataclass(frozen=True)
class Person:
    """What tokens say about the signed-in person."""
    subject: str
    identifier: str
    cofor_root: str
    roles: tuple[str, ...]
    display_name: str
    email: str

    @classmethod
    def of(cls, account: Account, subject: str) -> Person:
        return cls(subject, account.identifier, account.cofor_root, tuple(account.roles), account.display_name,
                   account.email)


def person_claims(person: Person, scope: str) -> dict[str, object]:
    claims: dict[str, object] = {"sub": person.subject, "preferred_username": person.identifier,
                                 "cofor": person.cofor_root, "roles": list(person.roles)}
    granted = scope.split()
    if "profile" in granted:
        claims["name"] = person.display_name
    if "email" in granted:
        claims["email"] = person.email
    return claims
