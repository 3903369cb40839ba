"""Long-lived gRPC channels to the services, and the metadata every call carries."""
from __future__ import annotations

from typing import Literal

import grpc
from fastapi import Request, Response
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.identity.v1 import account_pb2, identity_service_pb2_grpc, oidc_pb2_grpc
from portal.support.v1 import support_service_pb2_grpc

from kit.auth import (
    AUTHORIZATION_KEY,
    CLIENT_ADDRESS_KEY,
    PRINCIPAL_COFOR_ROOT_KEY,
    PRINCIPAL_IDENTIFIER_KEY,
    SERVICE_TOKEN_KEY,
    USER_AGENT_KEY,
    clean_user_agent,
)
from kit.grpc_server import CORRELATION_ID_KEY

from gateway.settings import GatewaySettings

SESSION_COOKIE = "__Host-portal_session"
PRESENTER_COOKIE = "__Host-portal_presenter"
SESSION_SECONDS = 12 * 3600  # the cookie outlives no session (identity ends them at 12 h at the latest)


def set_private_cookie(response: Response, name: str, value: str, max_age: int,
                       samesite: Literal["strict", "lax"] = "strict") -> None:
    """A ``__Host-`` cookie scripts cannot read, sent only to this site over HTTPS (browsers accept it on
    http://localhost too)."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite=samesite)


def clear_private_cookie(response: Response, name: str, samesite: Literal["strict", "lax"] = "strict") -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite=samesite)


class Backends:
    """Stubs over long-lived channels, opened in the server's event loop (``open``) and shared by every request."""

    cofor: cofor_service_pb2_grpc.CoforServiceAsyncStub
    identity: identity_service_pb2_grpc.IdentityServiceAsyncStub
    oidc: oidc_pb2_grpc.OidcProviderServiceAsyncStub  # on identity's channel
    support: support_service_pb2_grpc.SupportServiceAsyncStub

    def __init__(self, settings: GatewaySettings) -> None:
        self._targets = (settings.cofor_target, settings.identity_target, settings.support_target)
        self.channels: list[grpc.aio.Channel] = []

    def open(self) -> None:
        options = [("grpc.max_send_message_length", 8 * 1024 * 1024), ("grpc.keepalive_time_ms", 30_000)]
        self.channels = [grpc.aio.insecure_channel(target, options=options) for target in self._targets]
        self.cofor = cofor_service_pb2_grpc.CoforServiceStub(self.channels[0])
        self.identity = identity_service_pb2_grpc.IdentityServiceStub(self.channels[1])
        self.oidc = oidc_pb2_grpc.OidcProviderServiceStub(self.channels[1])
        self.support = support_service_pb2_grpc.SupportServiceStub(self.channels[2])

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        self.channels = []


def client_address(request: Request, trusted_proxies: int) -> str:
    """The visitor's address: the socket peer, or the right entry of X-Forwarded-For behind known proxies."""
    if trusted_proxies:
        # Every X-Forwarded-For line, in order: a proxy may add its own line rather than append to the client's
        # (RFC 9110 §5.3), and reading only the first would hand the choice of address to the client.
        lines = request.headers.getlist("x-forwarded-for")
        hops = [h.strip() for line in lines for h in line.split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            hop = hops[-trusted_proxies][:100]
            # It goes into gRPC metadata: printable ASCII only (an address never needs more).
            return hop if hop.isascii() and hop.isprintable() else ""
    return request.client.host if request.client else ""


def user_agent(request: Request) -> str:
    """What the browser says it is, for the sessions page and the new-device mail (never for a decision): at most
    200 characters of printable ASCII, as gRPC metadata must be."""
    return clean_user_agent(request.headers.get("user-agent", ""))


def call_metadata(request: Request, settings: GatewaySettings, *, bearer: str | None = None) -> list[tuple[str, str]]:
    metadata = [(SERVICE_TOKEN_KEY, settings.service_token.get_secret_value()),
                (CLIENT_ADDRESS_KEY, client_address(request, settings.trusted_proxies)),
                (USER_AGENT_KEY, user_agent(request))]
    if correlation := getattr(request.state, "request_id", None):
        metadata.append((CORRELATION_ID_KEY, correlation))
    # gRPC metadata values must be printable ASCII: a token that is not cannot be valid, so it counts as absent
    # (sending it would fail the call inside grpc, a 500).
    if bearer and bearer.isascii() and bearer.isprintable():
        metadata.append((AUTHORIZATION_KEY, f"Bearer {bearer}"))
    return metadata


def principal_metadata(principal: account_pb2.Principal | None) -> list[tuple[str, str]]:
    """The metadata that vouches for ``principal`` (nothing for an anonymous visitor)."""
    if principal is None or not principal.identifier:
        return []
    values = (principal.identifier, principal.cofor_root)
    if not all(v.isascii() and v.isprintable() for v in values):
        return []
    return [(PRINCIPAL_IDENTIFIER_KEY, values[0]), (PRINCIPAL_COFOR_ROOT_KEY, values[1])]
