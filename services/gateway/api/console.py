"""The ASL console: the company's accounts, one operation per action on an account, and the security trail
(IdentityService, on behalf of the session of an ASL)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from google.protobuf.field_mask_pb2 import FieldMask
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.identity.v1 import sessions_pb2 as sessions_pb

from kit.errors import FieldViolation, InvalidArgument

from gateway.api.common import ApiRoute, errors
from gateway.dependencies import SessionToken, Svc
from gateway.forms import CreateUserBody, UpdateUserBody
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["console"], responses=errors(401, 403))
ACCOUNT = errors(401, 403, 404)

# The one-click actions on an account: URL verb → IdentityService RPC (the pages' console uses them too).
CONSOLE_ACTIONS = {
    "reset-password": ("ResetUserPassword", identity.ResetUserPasswordRequest),
    "unlock": ("UnlockUser", identity.UnlockUserRequest),
    "disable": ("DisableUser", identity.DisableUserRequest),
    "enable": ("EnableUser", identity.EnableUserRequest),
    "grant-administrator": ("GrantAdministrator", identity.GrantAdministratorRequest),
    "revoke-administrator": ("RevokeAdministrator", identity.RevokeAdministratorRequest),
    "reset-second-factors": ("ResetSecondFactors", identity.ResetSecondFactorsRequest),
    "end-sessions": ("EndUserSessions", sessions_pb.EndUserSessionsRequest),
    "resend-activation": ("ResendActivation", identity.ResendActivationRequest),
}


@router.get("/users", summary="The company's accounts (IdentityService.ListUsers)",
            response_model=reply(identity.ListUsersResponse))
async def list_users(token: SessionToken, svc: Svc,
                     state: Annotated[str, Query(max_length=20, description="ACTIVE, BLOCKED or DISABLED "
                                                                            "(any case); empty: all")] = "",
                     role: Annotated[str, Query(max_length=20, description="ADMINISTRATOR (the ASLs) or USER "
                                                                           "(the others), any case; empty: all")] = "",
                     query: Annotated[str, Query(max_length=100, description="words to find in identifier, "
                                                                             "names or e-mail")] = "",
                     page_size: Annotated[int, Query(ge=0, le=200)] = 0,
                     page_token: Annotated[str, Query(max_length=500)] = "") -> dict[str, Any]:
    return as_json(await svc.identity.ListUsers(identity.ListUsersRequest(
        state=account_state(state), role=account_role(role), query=query, page_size=page_size,
        page_token=page_token), **svc.call(token)))


def account_state(state: str) -> identity_pb.AccountState.ValueType:
    """A state filter as typed (ACTIVE, BLOCKED, DISABLED, any case; "" for any), or INVALID_ARGUMENT."""
    if not state:
        return identity_pb.ACCOUNT_STATE_UNSPECIFIED
    if state.upper() not in ("ACTIVE", "BLOCKED", "DISABLED"):
        raise InvalidArgument([FieldViolation("state", "must be ACTIVE, BLOCKED or DISABLED")])
    return identity_pb.AccountState.Value(f"ACCOUNT_STATE_{state.upper()}")


def account_role(role: str) -> identity_pb.Role.ValueType:
    """A role filter as typed (ADMINISTRATOR, USER, any case; "" for any), or INVALID_ARGUMENT."""
    if not role:
        return identity_pb.ROLE_UNSPECIFIED
    if role.upper() not in ("ADMINISTRATOR", "USER"):
        raise InvalidArgument([FieldViolation("role", "must be ADMINISTRATOR or USER")])
    return identity_pb.Role.Value(f"ROLE_{role.upper()}")


@router.post("/users", summary="Create an account (IdentityService.CreateUser)", responses=errors(409),
             response_model=reply(identity.CreateUserResponse))
async def create_user(body: CreateUserBody, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.CreateUser(identity.CreateUserRequest(
        given_name=body.given_name, family_name=body.family_name, email=body.email, phone=body.phone,
        job_title=body.job_title, language=body.language, request_id=body.request_id,
        allow_duplicate_email=body.allow_duplicate_email,
        role=identity_pb.ROLE_ADMINISTRATOR if body.administrator else identity_pb.ROLE_USER), **svc.call(token)))


@router.get("/users/{identifier}", summary="One account (IdentityService.GetUser)", responses=ACCOUNT,
            response_model=reply(identity.GetUserResponse))
async def get_user(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.GetUser(identity.GetUserRequest(identifier=identifier), **svc.call(token)))


@router.patch("/users/{identifier}", summary="Change contact fields (IdentityService.UpdateUser)",
              responses=ACCOUNT, response_model=reply(identity.UpdateUserResponse))
async def update_user(identifier: str, body: UpdateUserBody, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.UpdateUser(identity.UpdateUserRequest(
        account=identity_pb.Account(identifier=identifier, given_name=body.given_name, family_name=body.family_name,
                                    email=body.email, phone=body.phone, job_title=body.job_title,
                                    language=body.language),
        update_mask=FieldMask(paths=body.update_mask)), **svc.call(token)))


@router.post("/users/{identifier}:reset-password", responses=ACCOUNT,
             summary="Reset the password; the user gets a temporary one by mail (IdentityService.ResetUserPassword)",
             response_model=reply(identity.ResetUserPasswordResponse))
async def reset_user_password(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ResetUserPassword(identity.ResetUserPasswordRequest(
        identifier=identifier), **svc.call(token)))


@router.post("/users/{identifier}:unlock", summary="Unlock a blocked account (IdentityService.UnlockUser)",
             responses=ACCOUNT, response_model=reply(identity.UnlockUserResponse))
async def unlock_user(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.UnlockUser(identity.UnlockUserRequest(identifier=identifier),
                                                 **svc.call(token)))


@router.post("/users/{identifier}:disable", summary="Disable an account (IdentityService.DisableUser)",
             responses=ACCOUNT, response_model=reply(identity.DisableUserResponse))
async def disable_user(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.DisableUser(identity.DisableUserRequest(identifier=identifier),
                                                  **svc.call(token)))


@router.post("/users/{identifier}:enable", summary="Enable a disabled account (IdentityService.EnableUser)",
             responses=ACCOUNT, response_model=reply(identity.EnableUserResponse))
async def enable_user(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.EnableUser(identity.EnableUserRequest(identifier=identifier),
                                                 **svc.call(token)))


@router.post("/users/{identifier}:grant-administrator", responses=ACCOUNT,
             summary="Give the account the ASL role (IdentityService.GrantAdministrator)",
             response_model=reply(identity.GrantAdministratorResponse))
async def grant_administrator(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.GrantAdministrator(identity.GrantAdministratorRequest(
        identifier=identifier), **svc.call(token)))


@router.post("/users/{identifier}:revoke-administrator", responses=ACCOUNT,
             summary="Take the ASL role away (IdentityService.RevokeAdministrator)",
             response_model=reply(identity.RevokeAdministratorResponse))
async def revoke_administrator(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.RevokeAdministrator(identity.RevokeAdministratorRequest(
        identifier=identifier), **svc.call(token)))


@router.post("/users/{identifier}:resend-activation", responses=ACCOUNT,
             summary="Send a new activation link to an account not activated yet (IdentityService.ResendActivation)",
             response_model=reply(identity.ResendActivationResponse))
async def resend_activation(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ResendActivation(identity.ResendActivationRequest(
        identifier=identifier), **svc.call(token)))


@router.post("/users/{identifier}:end-sessions", responses=ACCOUNT,
             summary="End every session of the account (IdentityService.EndUserSessions)",
             response_model=reply(sessions_pb.EndUserSessionsResponse))
async def end_user_sessions(identifier: str, token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.EndUserSessions(sessions_pb.EndUserSessionsRequest(
        identifier=identifier), **svc.call(token)))


@router.get("/audit-events", summary="The company's security trail (IdentityService.ListAuditEvents)",
            response_model=reply(identity.ListAuditEventsResponse))
async def audit_events(token: SessionToken, svc: Svc, identifier: Annotated[str, Query(max_length=20)] = "",
                       page_token: Annotated[str, Query(max_length=500)] = "") -> dict[str, Any]:
    session = await svc.identity.ValidateSession(identity.ValidateSessionRequest(session_token=token),
                                                 **svc.call())
    query = identity.ListAuditEventsRequest(page_token=page_token)
    if identifier:
        query.identifier = identifier
    else:
        query.cofor_root = session.principal.cofor_root
    return as_json(await svc.identity.ListAuditEvents(query, **svc.call(token)))
