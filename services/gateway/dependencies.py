"""What the routes take as ``Annotated`` parameters: the services as this request calls them, the page's language,
the visitor's session and principal, and the console's guard."""
from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import Depends, HTTPException, Request
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of
from kit.errors import Unauthenticated

from gateway.clients import SESSION_COOKIE, Backends, call_metadata
from gateway.errors import Respond, redirect
from gateway.i18n import LANGUAGES
from gateway.settings import GatewaySettings


class Services:
    """The gRPC stubs, with the metadata and deadline of this request: ``await s.cofor.X(msg, **s.call())``."""

    def __init__(self, request: Request) -> None:
        backends: Backends = request.app.state.backends
        self.request = request
        self.settings: GatewaySettings = request.app.state.settings
        self.cofor, self.identity, self.support = backends.cofor, backends.identity, backends.support
        self.oidc = backends.oidc

    def metadata(self, bearer: str | None = None) -> list[tuple[str, str]]:
        return call_metadata(self.request, self.settings, bearer=bearer)

    def call(self, bearer: str | None = None, vouched: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """The keyword arguments of a call: metadata (with ``bearer`` and ``vouched``) and the timeout."""
        return {"metadata": self.metadata(bearer) + (vouched or []), "timeout": self.settings.rpc_timeout_seconds}

    def as_session(self) -> dict[str, Any]:
        """A call on behalf of the visitor's session cookie (none: the call is anonymous)."""
        return self.call(self.request.cookies.get(SESSION_COOKIE))


Svc = Annotated[Services, Depends(Services)]


def page_language(lang: str) -> str:
    """The language segment of a page URL; anything but fr/en is a page that does not exist."""
    if lang not in LANGUAGES:
        raise HTTPException(status_code=404)
    return lang


Lang = Annotated[str, Depends(page_language)]


def session_token(request: Request) -> str:
    """The API's session cookie; without it the call is refused (401 SESSION_REQUIRED)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("SESSION_REQUIRED", "log in first")
    return token


SessionToken = Annotated[str, Depends(session_token)]


async def principal_of(request: Request) -> identity_pb.Principal | None:
    """The principal of the visitor's live session, asked once per request; None when anonymous (no cookie,
    expired or revoked, identity unreachable), never an error."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    principal, request.state.unfinished = None, ""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services = Services(request)
        try:
            principal = (await services.identity.ValidateSession(identity.ValidateSessionRequest(
                session_token=token), **services.call())).principal
        except grpc.aio.AioRpcError as error:
            principal, request.state.unfinished = None, _UNFINISHED.get(failure_of(error).reason, "")
    request.state.principal = principal
    return principal


# A half-done login (ARCHITECTURE §15): identity refuses to name its person; the pages send it to its next step.
_UNFINISHED = {"SECOND_FACTOR_REQUIRED": "verify", "SECOND_FACTOR_ENROLMENT_REQUIRED": "enrol"}
_NEXT_STEP = {"verify": "/login/second-factor", "enrol": "/account/second-factor"}


def unfinished_step(request: Request) -> str:
    """"verify" or "enrol" when the visitor's session waits for its second factor (after ``principal_of``)."""
    return str(getattr(request.state, "unfinished", ""))


def sign_in_path(request: Request, lang: str) -> str:
    """Where a page that needs a signed-in person sends a visitor who is not (yet): the login's next step."""
    step = _NEXT_STEP.get(unfinished_step(request))
    return f"/{lang}{step}" if step else f"/{lang}/login"


Visitor = Annotated[identity_pb.Principal | None, Depends(principal_of)]


async def signed_in(request: Request, lang: Lang, principal: Visitor) -> identity_pb.Principal:
    """The signed-in person; anyone else is sent to log in, or to change the password first."""
    if principal is None:
        raise Respond(redirect(sign_in_path(request, lang)))
    if principal.must_change_password:
        raise Respond(redirect(f"/{lang}/password/change"))
    return principal


SignedIn = Annotated[identity_pb.Principal, Depends(signed_in)]
