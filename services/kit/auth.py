"""Who is calling: internal callers present a service credential, end users a session token.

Service credentials (development: shared tokens; production: mTLS at the mesh plus these tokens) are
configured as ``name:role+role:secret`` entries. The secret is either ``sha256=<hex digest>`` (production:
the configuration holds no usable token) or the token itself (development). Comparison is constant-time.
"""
from __future__ import annotations

import hmac
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import quote, unquote

import grpc

from kit.digests import token_digest
from kit.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated

SERVICE_TOKEN_KEY = "x-portal-service-token"
CLIENT_ADDRESS_KEY = "x-portal-client-address"
# What the end user's browser sent as its User-Agent (printable ASCII, at most 200 characters), forwarded by the
# gateway beside the client address and honoured from it alone: a hint shown to people, never a proof of anything.
USER_AGENT_KEY = "x-portal-user-agent"
USER_AGENT_MAX = 200  # characters of printable ASCII kept of what a browser says it is
AGENT_KEY = "x-portal-agent"  # the person behind an operator's call (purchasing, support), for the record
# A signed-in visitor's identity, vouched for by the gateway once it validated the session: honoured only from a
# ``public`` caller (the gateway), as the forwarded client address is. Support records such a ticket as proven.
PRINCIPAL_IDENTIFIER_KEY = "x-portal-principal-identifier"
PRINCIPAL_COFOR_ROOT_KEY = "x-portal-principal-cofor-root"
AUTHORIZATION_KEY = "authorization"

# The context a grpc.aio servicer method receives; request and response types are the method's own.
Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class ServiceCaller:
    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class _Credential:
    caller: ServiceCaller
    digest: bytes


class ServiceCredentials:
    def __init__(self, spec: str) -> None:
        self._credentials: list[_Credential] = []
        for entry in filter(None, (e.strip() for e in spec.split(","))):
            try:
                name, roles, secret = entry.split(":", 2)
            except ValueError:
                raise ValueError("service credential entry must be name:roles:secret, "
                                 f"got {entry.split(':')[0]!r}") from None
            digest = bytes.fromhex(secret[7:]) if secret.startswith("sha256=") else token_digest(secret)
            self._credentials.append(_Credential(ServiceCaller(name, frozenset(filter(None, roles.split("+")))),
                                                 digest))

    def identify(self, token: str | None) -> ServiceCaller | None:
        if not token:
            return None
        presented = token_digest(token)
        found = None
        for credential in self._credentials:  # no early exit: time does not depend on which entry matched
            if hmac.compare_digest(presented, credential.digest):
                found = credential.caller
        return found


def metadata_of(context: Ctx) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def require_service(credentials: ServiceCredentials, context: Ctx,
                    roles: Iterable[str]) -> ServiceCaller:
    """The calling service, which must hold one of ``roles``."""
    caller = credentials.identify(metadata_of(context).get(SERVICE_TOKEN_KEY))
    if caller is None:
        raise Unauthenticated("CALLER_UNAUTHENTICATED", "this call needs a valid service credential")
    wanted = set(roles)
    if wanted and not (caller.roles & wanted):
        raise PermissionDenied("CALLER_NOT_ALLOWED", "the calling service may not use this call",
                               metadata={"roles": "+".join(sorted(wanted))})
    return caller


def bearer_token(context: Ctx) -> str | None:
    value = metadata_of(context).get(AUTHORIZATION_KEY, "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def client_address(context: Ctx) -> str:
    """The end user's address as forwarded by the gateway, else the peer's."""
    forwarded = metadata_of(context).get(CLIENT_ADDRESS_KEY)
    return forwarded or (context.peer() or "")


def user_agent(context: Ctx) -> str:
    """The end user's User-Agent as forwarded by the gateway ("" when none was)."""
    return metadata_of(context).get(USER_AGENT_KEY, "")


def agent_name(context: Ctx) -> str:
    """The operator person named by an internal caller (``x-portal-agent``, percent-encoded UTF-8 since gRPC
    metadata is ASCII: "H%C3%A9l%C3%A8ne Roy"); "" when none. The caller's use case validates the text."""
    try:
        return unquote(metadata_of(context).get(AGENT_KEY, ""), errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument([FieldViolation(AGENT_KEY, "must be percent-encoded UTF-8")]) from None


def agent_metadata(name: str) -> tuple[str, str]:
    """The metadata entry naming the person behind an operator's call."""
    return AGENT_KEY, quote(name, safe=" ")


def clean_user_agent(text: str) -> str:
    """At most ``USER_AGENT_MAX`` characters of printable ASCII (anything else dropped, and nothing read past them):
    what a browser sent is forwarded, stored and shown, never interpreted."""
    return "".join(itertools.islice((c for c in text if " " <= c <= "~"), USER_AGENT_MAX))
