"""The CSRF token, the session (log in, who am I, log out) and the password (IdentityService)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.api.common import ApiRoute, errors
from gateway.clients import SESSION_COOKIE, SESSION_SECONDS, clear_private_cookie, set_private_cookie
from gateway.dependencies import SessionToken, Svc
from gateway.forms import ChangePasswordBody, LoginBody
from gateway.replies import CsrfToken, Empty, as_json, reply
from gateway.security import CSRF_COOKIE, new_csrf_token

router = APIRouter(route_class=ApiRoute, tags=["session"])


def opened(response: Response, answer: Any) -> dict[str, Any]:
    """A new session: its token goes into the HttpOnly cookie only, never into the body."""
    set_private_cookie(response, SESSION_COOKIE, answer.session_token, SESSION_SECONDS)
    body = as_json(answer)
    body.pop("session_token", None)
    return body


@router.get("/csrf", summary="Issue the CSRF token to send in the X-CSRF-Token header", response_model=CsrfToken)
async def csrf(request: Request, response: Response) -> dict[str, str]:
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    # __Host- cookies must be Secure; browsers accept them on http://localhost too.
    response.set_cookie(CSRF_COOKIE, token, path="/", secure=True, httponly=False, samesite="strict")
    return {"csrf_token": token}


@router.post("/session:login", summary="Log in (IdentityService.Login)", responses=errors(401),
             response_model=reply(identity.LoginResponse, without="session_token"))
async def login(body: LoginBody, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.Login(identity.LoginRequest(
        identifier=body.identifier, password=body.password), **svc.call()))


@router.get("/session", summary="The logged-in person (IdentityService.ValidateSession)", responses=errors(401),
            response_model=reply(identity.ValidateSessionResponse))
async def current_session(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ValidateSession(identity.ValidateSessionRequest(session_token=token),
                                                      **svc.call()))


@router.post("/session:logout", summary="Log out (IdentityService.Logout)", response_model=Empty)
async def logout(request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    if token := request.cookies.get(SESSION_COOKIE):
        await svc.identity.Logout(identity.LogoutRequest(), **svc.call(token))
    clear_private_cookie(response, SESSION_COOKIE)
    return {}


@router.post("/password:change", summary="Change the password (IdentityService.ChangePassword)",
             responses=errors(401), response_model=reply(identity.ChangePasswordResponse, without="session_token"))
async def change_password(body: ChangePasswordBody, token: SessionToken, response: Response,
                          svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.ChangePassword(identity.ChangePasswordRequest(
        current_password=body.current_password, new_password=body.new_password), **svc.call(token)))
