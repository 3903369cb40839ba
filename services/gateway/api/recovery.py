"""Lost identifier and lost passwords (IdentityService): every answer is the same whether anything matched; and a new
account's activation by its holder."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.account_request_forms import AccountRequestBody
from gateway.api.common import ApiRoute
from gateway.dependencies import Svc
from gateway.forms import ActivateAccountBody, ContactAdministratorBody, RecoverIdentifierBody, ResetAdministratorBody
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


@router.post("/account-requests", summary="Ask my company's ASL for an account, without a V-identifier "
             "(IdentityService.RequestAccount): the same answer whether the COFOR exists, has an ASL or is closed",
             response_model=reply(identity.RequestAccountResponse))
async def request_account(body: AccountRequestBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.RequestAccount(identity.RequestAccountRequest(
        cofor=body.cofor, given_name=body.given_name, family_name=body.family_name, email=body.email,
        job_title=body.job_title, message=body.message, language=body.language), **svc.call()))


@router.post("/account:activate", summary="The first password of a new account, with the token of the activation "
             "link (IdentityService.ActivateAccount)", response_model=reply(identity.ActivateAccountResponse))
async def activate_account(body: ActivateAccountBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ActivateAccount(identity.ActivateAccountRequest(
        activation_token=body.activation_token, new_password=body.new_password), **svc.call()))
