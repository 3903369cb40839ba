"""The ASL console, one account: its edit form, and the actions on it — those that take something away (the
password, the access, the ASL role, the second factors) or give the ASL role are confirmed on a page of their own
that says what will happen, so that one stray click changes nothing."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from google.protobuf.field_mask_pb2 import FieldMask
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.api.console import CONSOLE_ACTIONS
from gateway.dependencies import Lang, Svc
from gateway.errors import Respond, redirect
from gateway.forms import ContactBody, PageForm
from gateway.i18n import translate
from gateway.pages.console import Administrator, console_page
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()
CONFIRMED_ACTIONS = frozenset({"reset-password", "disable", "revoke-administrator", "grant-administrator",
                               "reset-second-factors", "end-sessions"})
EDITABLE = ("given_name", "family_name", "email", "phone", "job_title", "language")


class ActionForm(PageForm):
    """A console action: its CSRF token, and ``confirmed`` once the ASL said yes on the confirmation page."""
    confirmed: bool = False


class EditUserForm(PageForm, ContactBody):
    pass


def console_action(action: str) -> str:
    """A one-click action the console knows; any other is a page that does not exist."""
    if action not in CONSOLE_ACTIONS:
        raise Respond(HTMLResponse("Not found", status_code=404))
    return action


Action = Annotated[str, Depends(console_action)]


async def _account(svc: Svc, identifier: str) -> identity_pb.Account | None:
    """The account, or None when it is not one of the company's (identity says NOT_FOUND or PERMISSION_DENIED)."""
    try:
        return (await svc.identity.GetUser(identity.GetUserRequest(identifier=identifier[:20]),
                                           **svc.as_session())).account
    except grpc.aio.AioRpcError as error:
        if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                            grpc.StatusCode.INVALID_ARGUMENT):
            return None
        raise


async def _edit_page(request: Request, lang: str, account: identity_pb.Account, form: FormState,
                     status: int = 200) -> HTMLResponse:
    return await render(request, lang, "admin_edit.html", status=status, title_key="admin.edit_title",
                        account=account, form=form, switch_path=f"/admin/users/{account.identifier}/edit")


async def _not_found(request: Request, lang: str) -> HTMLResponse:
    """Not an account of the ASL's company: the same page whether it exists elsewhere or nowhere."""
    return await message(request, lang, "admin.title", translate(lang, "admin.not_found"), status=404)


@router.get("/{lang}/admin/users/{identifier}/edit")
async def edit_user(request: Request, lang: Lang, svc: Svc, identifier: str, principal: Administrator) -> Response:
    account = await _account(svc, identifier)
    if account is None:
        return await _not_found(request, lang)
    return await _edit_page(request, lang, account, FormState(values={k: getattr(account, k) for k in EDITABLE}))


@router.post("/{lang}/admin/users/{identifier}/edit")
async def save_user(request: Request, lang: Lang, svc: Svc, identifier: str, principal: Administrator,
                    csrf: CsrfChecked, typed: Annotated[EditUserForm, Form()]) -> Response:
    account = await _account(svc, identifier)
    if account is None:
        return await _not_found(request, lang)
    values = {k: str(getattr(typed, k)) for k in EDITABLE}
    edited = identity_pb.Account(identifier=account.identifier)
    for name, value in values.items():
        setattr(edited, name, value)
    if not csrf:
        return await _edit_page(request, lang, account, csrf_failed(lang, values), status=403)
    changed = [k for k in EDITABLE if values[k] != getattr(account, k)]
    if changed:
        try:
            await svc.identity.UpdateUser(identity.UpdateUserRequest(
                account=edited,
                update_mask=FieldMask(paths=changed)), **svc.as_session())
        except grpc.aio.AioRpcError as error:
            return await _edit_page(request, lang, account, failure_form(lang, error, values, set(values)),
                                    status=400)
    done = "edit-email" if "email" in changed else "edit" if changed else "edit-none"
    return redirect(f"/{lang}/admin?" + urlencode({"done": done, "user": account.identifier}))


@router.post("/{lang}/admin/users/{identifier}/{action}")
async def admin_action(request: Request, lang: Lang, svc: Svc, identifier: str, action: Action,
                       principal: Administrator, csrf: CsrfChecked, typed: Annotated[ActionForm, Form()]) -> Response:
    if not csrf:
        return await console_page(request, lang, svc, principal, form=csrf_failed(lang, {}), status=403)
    if action in CONFIRMED_ACTIONS and not typed.confirmed:
        account = await _account(svc, identifier)
        if account is None:
            return await _not_found(request, lang)
        return await render(request, lang, "admin_confirm.html", title_key=f"admin.action.{action}",
                            account=account, action=action, switch_path="/admin")
    method, request_type = CONSOLE_ACTIONS[action]
    try:
        await getattr(svc.identity, method)(request_type(identifier=identifier[:20]), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await console_page(request, lang, svc, principal, form=failure_form(lang, error, {}, set()),
                                  status=400)
    return redirect(f"/{lang}/admin?" + urlencode({"done": action, "user": identifier[:20]}))

