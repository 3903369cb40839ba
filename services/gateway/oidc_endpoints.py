"""The OpenID Connect endpoints applications' servers call (ARCHITECTURE §14): discovery, keys, token, userinfo,
introspection and revocation. Identity decides; this reads the HTTP request as the RFCs say (form bodies, HTTP
Basic, bearer tokens, no parameter twice) and words identity's answers as they say (JSON errors, no-store)."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from portal.identity.v1 import oidc_pb2 as pb

from gateway.dependencies import Svc

router = APIRouter(include_in_schema=False)  # described by the discovery document, not by /openapi.json
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FIELD = 8192


class ProtocolError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}


def oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={**NO_STORE, **(headers or {})})


def answer_failure(failure: pb.OAuthFailure, basic: bool) -> Response:
    if failure.error == "invalid_client":  # RFC 6749 §5.2: 401, and a challenge for HTTP Basic
        return oauth_error(failure.error, failure.error_description, 401,
                           {"WWW-Authenticate": 'Basic realm="portal"'} if basic else None)
    return oauth_error(failure.error, failure.error_description)


async def form_of(request: Request) -> dict[str, str]:
    """The form body: url-encoded, each parameter at most once (RFC 6749 §3.1), none oversized."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise ProtocolError("invalid_request", "send the parameters as application/x-www-form-urlencoded")
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or name in values or len(value) > _MAX_FIELD:
            raise ProtocolError("invalid_request", f"parameter {name[:40]!r} is repeated, a file or too long")
        values[name] = value
    return values


def client_of(request: Request, form: dict[str, str]) -> pb.ClientAuthentication:
    """How the client authenticated: HTTP Basic (RFC 6749 §2.3.1: each part form-encoded), a private_key_jwt
    assertion, or only its id (a public client). A secret in the body is not accepted."""
    if "client_secret" in form:
        raise ProtocolError("invalid_client", "send the client secret with HTTP Basic (client_secret_basic)", 401)
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ProtocolError("invalid_client", "malformed HTTP Basic credentials", 401,
                                {"WWW-Authenticate": 'Basic realm="portal"'}) from None
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if form.get("client_id", client_id) != client_id:
            raise ProtocolError("invalid_request", "client_id differs from the authenticated client")
        return pb.ClientAuthentication(client_id=client_id, client_secret=secret, basic=True)
    return pb.ClientAuthentication(client_id=form.get("client_id", ""),
                                   client_assertion_type=form.get("client_assertion_type", ""),
                                   client_assertion=form.get("client_assertion", ""))


def json_answer(body: str | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body if isinstance(body, str) else json.dumps(body), media_type="application/json",
                    headers=headers or NO_STORE)


@router.get("/.well-known/openid-configuration")
async def discovery(svc: Svc) -> Response:
    answer = await svc.oidc.GetProviderMetadata(pb.GetProviderMetadataRequest(), **svc.call())
    return json_answer(answer.metadata_json, {"Cache-Control": "public, max-age=300"})


@router.get("/oidc/jwks")
async def jwks(svc: Svc) -> Response:
    answer = await svc.oidc.GetJwks(pb.GetJwksRequest(), **svc.call())
    return json_answer(answer.jwks_json, {"Cache-Control": "public, max-age=300"})


async def refused(_: Request, error: Exception) -> Response:
    assert isinstance(error, ProtocolError)
    return oauth_error(error.error, error.description, error.status, error.headers)


def install(app: FastAPI) -> None:
    """The endpoints, and their refusals worded as RFC 6749 §5.2 says (not as the JSON API's ErrorBody)."""
    app.include_router(router)
    app.add_exception_handler(ProtocolError, refused)


async def client_request(request: Request) -> tuple[dict[str, str], pb.ClientAuthentication]:
    """The form of a call that authenticates its client, and how it did."""
    form = await form_of(request)
    return form, client_of(request, form)


@router.post("/oidc/token")
async def token(request: Request, svc: Svc) -> Response:
    form, client = await client_request(request)
    answer = await svc.oidc.ExchangeToken(pb.ExchangeTokenRequest(
        client=client, grant_type=form.get("grant_type", ""), code=form.get("code", ""),
        redirect_uri=form.get("redirect_uri", ""), code_verifier=form.get("code_verifier", ""),
        refresh_token=form.get("refresh_token", ""), scope=form.get("scope", "")), **svc.call())
    if answer.HasField("failure"):
        return answer_failure(answer.failure, client.basic)
    return json_answer({"access_token": answer.access_token, "token_type": "Bearer", "expires_in": answer.expires_in,
                        "id_token": answer.id_token, "refresh_token": answer.refresh_token, "scope": answer.scope})


@router.api_route("/oidc/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, svc: Svc) -> Response:
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not bearer:
        return Response(status_code=401, headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="portal"'})
    answer = await svc.oidc.GetUserInfo(pb.GetUserInfoRequest(access_token=bearer[:_MAX_FIELD]), **svc.call())
    if not answer.claims_json:
        return Response(status_code=401, headers={**NO_STORE, "WWW-Authenticate": (
            'Bearer realm="portal", error="invalid_token", error_description="invalid, expired or revoked"')})
    return json_answer(answer.claims_json)


@router.post("/oidc/introspect")
async def introspect(request: Request, svc: Svc) -> Response:
    form, client = await client_request(request)
    answer = await svc.oidc.IntrospectToken(pb.IntrospectTokenRequest(client=client, token=form.get("token", "")),
                                            **svc.call())
    if answer.HasField("failure"):
        return answer_failure(answer.failure, client.basic)
    return json_answer(answer.introspection_json)


@router.post("/oidc/revoke")
async def revoke(request: Request, svc: Svc) -> Response:
    form, client = await client_request(request)
    answer = await svc.oidc.RevokeToken(pb.RevokeTokenRequest(client=client, token=form.get("token", "")),
                                        **svc.call())
    if answer.HasField("failure"):
        return answer_failure(answer.failure, client.basic)
    return Response(status_code=200, headers=NO_STORE)
