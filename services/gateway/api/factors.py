"""Second factors (IdentityService, ARCHITECTURE §15): the login's second step, the holder's own app and recovery
codes, and the ASL's reset and policy. New sessions go into the HttpOnly cookie only, as at login."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.api.common import ApiRoute, errors
from gateway.api.login import opened
from gateway.dependencies import SessionToken, Svc
from gateway.factor_forms import KINDS, CodeBody, FactorPolicyBody, ResetFactorsBody, VerifyFactorBody
from gateway.replies import Empty, as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["second factor"], responses=errors(401, 403))


@router.post("/session:verify-second-factor", summary="The login's second step (IdentityService.VerifySecondFactor)",
             response_model=reply(identity.VerifySecondFactorResponse, without="session_token"))
async def verify(body: VerifyFactorBody, token: SessionToken, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.VerifySecondFactor(identity.VerifySecondFactorRequest(
        kind=KINDS[body.kind], code=body.code), **svc.call(token)))


@router.get("/second-factors", summary="My second factors (IdentityService.GetSecondFactors)",
            response_model=reply(identity.GetSecondFactorsResponse))
async def factors(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.GetSecondFactors(identity.GetSecondFactorsRequest(), **svc.call(token)))


@router.post("/second-factors/totp:begin", summary="Start setting up an app (IdentityService.BeginTotpEnrolment)",
             response_model=reply(identity.BeginTotpEnrolmentResponse))
async def begin_totp(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.BeginTotpEnrolment(identity.BeginTotpEnrolmentRequest(), **svc.call(token)))


@router.post("/second-factors/totp:confirm", summary="Confirm the app with a code (IdentityService."
             "ConfirmTotpEnrolment); the recovery codes are in the reply, once",
             response_model=reply(identity.ConfirmTotpEnrolmentResponse, without="session_token"))
async def confirm_totp(body: CodeBody, token: SessionToken, response: Response, svc: Svc) -> dict[str, Any]:
    return opened(response, await svc.identity.ConfirmTotpEnrolment(identity.ConfirmTotpEnrolmentRequest(
        code=body.code), **svc.call(token)))


@router.post("/second-factors/recovery-codes:regenerate", summary="New recovery codes (IdentityService."
             "RegenerateRecoveryCodes)", response_model=reply(identity.RegenerateRecoveryCodesResponse))
async def regenerate(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.RegenerateRecoveryCodes(identity.RegenerateRecoveryCodesRequest(),
                                                              **svc.call(token)))


@router.post("/second-factors/totp:remove", summary="Remove my app and recovery codes (IdentityService."
             "RemoveSecondFactor)", response_model=Empty)
async def remove_totp(token: SessionToken, svc: Svc) -> dict[str, Any]:
    await svc.identity.RemoveSecondFactor(identity.RemoveSecondFactorRequest(
        kind=identity_pb.SECOND_FACTOR_KIND_TOTP), **svc.call(token))
    return {}


@router.post("/users/{identifier}:reset-second-factors", tags=["console"], responses=errors(404),
             summary="Reset an account's second factors (IdentityService.ResetSecondFactors)",
             response_model=reply(identity.ResetSecondFactorsResponse))
async def reset_factors(identifier: str, token: SessionToken, svc: Svc,
                        body: ResetFactorsBody | None = None) -> dict[str, Any]:
    return as_json(await svc.identity.ResetSecondFactors(identity.ResetSecondFactorsRequest(
        identifier=identifier, reason=body.reason if body else ""), **svc.call(token)))


@router.put("/second-factor-policy", tags=["console"], summary="Require a second factor of every user of my "
            "company (IdentityService.SetSecondFactorPolicy)",
            response_model=reply(identity.SetSecondFactorPolicyResponse))
async def set_policy(body: FactorPolicyBody, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.SetSecondFactorPolicy(identity.SetSecondFactorPolicyRequest(
        required=body.required), **svc.call(token)))
