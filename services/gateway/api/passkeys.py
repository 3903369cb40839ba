"""Passkeys (IdentityService, ARCHITECTURE §15): each ceremony is two calls, the options for the browser's
``navigator.credentials`` then its answer (``PublicKeyCredential.toJSON()``). New sessions go into the HttpOnly
cookie only, as at login. The portal's pages use the ``…:options`` routes from portal-passkeys.js."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from portal.identity.v1 import passkeys_pb2 as pk

from gateway.api.common import ApiRoute, errors
from gateway.api.login import opened
from gateway.dependencies import SessionToken, Svc
from gateway.factor_forms import PasskeyAnswerBody, PasskeyEnrolmentBody
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["passkeys"], responses=errors(401, 403))


@router.post("/passkeys/login:options", summary="Options to sign in with a passkey alone (IdentityService."
             "BeginPasskeyLogin)", response_model=reply(pk.BeginPasskeyLoginResponse))
async def login_options(svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.BeginPasskeyLogin(pk.BeginPasskeyLoginRequest(), **svc.call()))


@router.post("/passkeys/login", summary="Sign in with a passkey alone (IdentityService.PasskeyLogin)",
             response_model=reply(pk.PasskeyLoginResponse, without="session_token"))
async def login(body: PasskeyAnswerBody, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.PasskeyLogin(pk.PasskeyLoginRequest(
        credential_json=body.credential_json), **svc.call()))


@router.post("/session:verify-passkey:options", summary="Options for the login's second step with a passkey "
             "(IdentityService.BeginPasskeyVerification)", response_model=reply(pk.BeginPasskeyVerificationResponse))
async def verify_options(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.BeginPasskeyVerification(pk.BeginPasskeyVerificationRequest(),
                                                               **svc.call(token)))


@router.post("/session:verify-passkey", summary="The login's second step with a passkey (IdentityService."
             "VerifyPasskey)", response_model=reply(pk.VerifyPasskeyResponse, without="session_token"))
async def verify(body: PasskeyAnswerBody, token: SessionToken, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.VerifyPasskey(pk.VerifyPasskeyRequest(
        credential_json=body.credential_json), **svc.call(token)))


@router.post("/second-factors/passkeys:options", summary="Options to add a passkey (IdentityService."
             "BeginPasskeyEnrolment)", response_model=reply(pk.BeginPasskeyEnrolmentResponse))
async def enrolment_options(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.BeginPasskeyEnrolment(pk.BeginPasskeyEnrolmentRequest(), **svc.call(token)))


@router.post("/second-factors/passkeys", summary="Add a passkey (IdentityService.FinishPasskeyEnrolment); the "
             "recovery codes, when it is the first factor, are in the reply, once",
             response_model=reply(pk.FinishPasskeyEnrolmentResponse, without="session_token"))
async def enrol(body: PasskeyEnrolmentBody, token: SessionToken, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.FinishPasskeyEnrolment(pk.FinishPasskeyEnrolmentRequest(
        credential_json=body.credential_json, name=body.name), **svc.call(token)))


@router.post("/second-factors/passkeys/{credential_id}:remove", responses=errors(404),
             summary="Remove one of my passkeys (IdentityService.RemovePasskey)",
             response_model=reply(pk.RemovePasskeyResponse))
async def remove(credential_id: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.RemovePasskey(pk.RemovePasskeyRequest(credential_id=credential_id),
                                                    **svc.call(token)))
