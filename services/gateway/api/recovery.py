"""Lost identifier and lost passwords (IdentityService). Every answer is the same whether anything matched."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.api.common import ApiRoute
from gateway.dependencies import Svc
from gateway.forms import ContactAdministratorBody, RecoverIdentifierBody, ResetAdministratorBody
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["recovery"])


@router.post("/recovery/identifier", summary="Lost identifier (IdentityService.RecoverIdentifier)",
             response_model=reply(identity.RecoverIdentifierResponse))
async def recover_identifier(body: RecoverIdentifierBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.RecoverIdentifier(identity.RecoverIdentifierRequest(
        email=body.email, cofor=body.cofor), **svc.call()))


@router.post("/recovery/administrator-password",
             summary="Lost password of an ASL (IdentityService.ResetAdministratorPassword)",
             response_model=reply(identity.ResetAdministratorPasswordResponse))
async def reset_administrator(body: ResetAdministratorBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ResetAdministratorPassword(identity.ResetAdministratorPasswordRequest(
        identifier=body.identifier, cofor=body.cofor, email=body.email), **svc.call()))


@router.post("/recovery/contact-administrator",
             summary="Lost password of a user (IdentityService.ContactAdministrator)",
             response_model=reply(identity.ContactAdministratorResponse))
async def contact_administrator(body: ContactAdministratorBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ContactAdministrator(identity.ContactAdministratorRequest(
        identifier=body.identifier, cofor=body.cofor, email=body.email, message=body.message), **svc.call()))
