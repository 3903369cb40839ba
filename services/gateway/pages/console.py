"""The ASL console: the company's accounts, creating one, and the one-click actions on an account."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.api.console import CONSOLE_ACTIONS
from gateway.dependencies import Lang, Svc, Visitor, sign_in_path
from gateway.errors import Respond, redirect
from gateway.factor_forms import FactorPolicyForm
from gateway.forms import CreateUserForm, EmptyForm
from gateway.i18n import has, translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()


def console_action(action: str) -> str:
    """A one-click action the console knows; any other is a page that does not exist."""
    if action not in CONSOLE_ACTIONS:
        raise Respond(HTMLResponse("Not found", status_code=404))
    return action


async def administrator(request: Request, lang: Lang, principal: Visitor) -> identity_pb.Principal:
    """The signed-in ASL; anyone else is sent to log in, to change the password, or refused (403)."""
    if principal is None:
        raise Respond(redirect(sign_in_path(request, lang)))
    if principal.must_change_password:
        raise Respond(redirect(f"/{lang}/password/change"))
    if identity_pb.ROLE_ADMINISTRATOR not in principal.roles:
        raise Respond(await message(request, lang, "admin.title", translate(lang, "error.generic"), status=403))
    return principal


Action = Annotated[str, Depends(console_action)]
Administrator = Annotated[identity_pb.Principal, Depends(administrator)]


def _row(account: identity_pb.Account, me: str, sole_asl: str) -> dict[str, object]:
    """An account's row: the actions offered are those identity would take (the company's only active ASL keeps
    its account and role until it names another: disabling or demoting it is refused, so not offered)."""
    state = identity_pb.AccountState.Name(account.state)
    roles = [identity_pb.Role.Name(r) for r in account.roles]
    sole = account.identifier == sole_asl
    actions = ["reset-password"]
    actions += ["unlock"] if state == "ACCOUNT_STATE_BLOCKED" else []
    actions += ["enable"] if state == "ACCOUNT_STATE_DISABLED" else [] if sole else ["disable"]
    actions += ([] if sole else ["revoke-administrator"]) if "ROLE_ADMINISTRATOR" in roles else ["grant-administrator"]
    actions += ["reset-second-factors"] if account.identifier != me else []  # one's own: another ASL or support
    return {"account": account, "state": state, "roles": roles, "actions": actions, "sole_asl": sole}


def _sole_asl(accounts: Sequence[identity_pb.Account]) -> str:
    """The identifier of the company's only active ASL, if it has only one."""
    active = [a.identifier for a in accounts if identity_pb.ROLE_ADMINISTRATOR in a.roles
              and a.state == identity_pb.ACCOUNT_STATE_ACTIVE]
    return active[0] if len(active) == 1 else ""


async def _console(request: Request, lang: str, svc: Svc, principal: identity_pb.Principal,
                   form: FormState | None = None, create_form: FormState | None = None, done: str = "",
                   status: int = 200) -> HTMLResponse:
    listed = await svc.identity.ListUsers(identity.ListUsersRequest(page_size=200), **svc.as_session())
    accounts = listed.accounts
    policy = await svc.identity.GetSecondFactors(identity.GetSecondFactorsRequest(), **svc.as_session())
    return await render(request, lang, "admin.html", status=status, title_key="admin.title",
                        rows=[_row(a, principal.identifier, _sole_asl(accounts)) for a in accounts], form=form,
                        company_requires_factor=policy.company_requires,
                        create_form=create_form or FormState(values={"language": lang}), done=done,
                        cofor_root=principal.cofor_root, company_name=listed.company_name, switch_path="/admin")


@router.get("/{lang}/admin")
async def admin(request: Request, lang: Lang, svc: Svc, principal: Administrator, done: str = "",
                user: str = "") -> Response:
    text = translate(lang, f"admin.done.{done}", user=user[:20]) if has(f"admin.done.{done}") else ""
    return await _console(request, lang, svc, principal, done=text)


@router.post("/{lang}/admin/users")
async def admin_create(request: Request, lang: Lang, svc: Svc, principal: Administrator, csrf: CsrfChecked,
                       typed: Annotated[CreateUserForm, Form()]) -> Response:
    values = {k: v for k, v in typed.values().items() if k != "request_id"}
    if not csrf:
        return await _console(request, lang, svc, principal, create_form=csrf_failed(lang, values), status=403)
    try:
        created = await svc.identity.CreateUser(identity.CreateUserRequest(
            given_name=typed.given_name, family_name=typed.family_name, email=typed.email, phone=typed.phone,
            job_title=typed.job_title, language=typed.language or lang, request_id=str(uuid.uuid4()),
            role=identity_pb.ROLE_ADMINISTRATOR if typed.administrator else identity_pb.ROLE_USER),
            **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await _console(request, lang, svc, principal, status=400,
                              create_form=failure_form(lang, error, values, set(values)))
    return redirect(f"/{lang}/admin?" + urlencode({"done": "create", "user": created.account.identifier}))


@router.post("/{lang}/admin/users/{identifier}/{action}")
async def admin_action(request: Request, lang: Lang, svc: Svc, identifier: str, action: Action,
                       principal: Administrator, csrf: CsrfChecked, _: Annotated[EmptyForm, Form()]) -> Response:
    if not csrf:
        return await _console(request, lang, svc, principal, form=csrf_failed(lang, {}), status=403)
    method, request_type = CONSOLE_ACTIONS[action]
    try:
        await getattr(svc.identity, method)(request_type(identifier=identifier[:20]), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await _console(request, lang, svc, principal, form=failure_form(lang, error, {}, set()), status=400)
    return redirect(f"/{lang}/admin?" + urlencode({"done": action, "user": identifier[:20]}))


@router.post("/{lang}/admin/second-factor-policy")
async def admin_policy(request: Request, lang: Lang, svc: Svc, principal: Administrator, csrf: CsrfChecked,
                       typed: Annotated[FactorPolicyForm, Form()]) -> Response:
    if not csrf:
        return await _console(request, lang, svc, principal, form=csrf_failed(lang, {}), status=403)
    try:
        await svc.identity.SetSecondFactorPolicy(identity.SetSecondFactorPolicyRequest(required=typed.required),
                                                 **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await _console(request, lang, svc, principal, form=failure_form(lang, error, {}, set()), status=400)
    return redirect(f"/{lang}/admin?" + urlencode({"done": "policy-on" if typed.required else "policy-off"}))
