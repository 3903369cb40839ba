"""Log in, log out and change the password."""
from __future__ import annotations

import re
from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of

from gateway.clients import SESSION_COOKIE, SESSION_SECONDS, clear_private_cookie, set_private_cookie
from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import EmptyForm, LoginForm, PasswordForm
from gateway.i18n import language_or_default, translate
from gateway.pages.factors import after_login, signed_in
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, render

router = APIRouter()


@router.get("/{lang}/login")
async def login_form(request: Request, lang: Lang, done: str = "", identifier: str = "") -> Response:
    """``identifier``: filled in for the person (an application's ``login_hint``), when it is one."""
    known = identifier.strip().upper()
    form = FormState(values={"identifier": known}) if re.fullmatch(r"V\d{6}", known) else None
    return await render(request, lang, "login.html", title_key="login.title", done=done == "logout",
                        expired=done == "expired", activated=done == "activated", form=form)


@router.post("/{lang}/login")
async def login(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                typed: Annotated[LoginForm, Form()]) -> Response:
    if not csrf:
        return await render(request, lang, "login.html", status=403, title_key="login.title",
                            form=csrf_failed(lang, typed.values()))
    try:
        reply = await svc.identity.Login(identity.LoginRequest(identifier=typed.identifier, password=typed.password),
                                         **svc.call())
    except grpc.aio.AioRpcError as error:
        form = failure_form(lang, error, typed.values(), {"identifier", "password"})
        return await render(request, lang, "login.html", status=401 if not form.errors else 400,
                            title_key="login.title", form=form)
    return signed_in(after_login(lang, reply.principal, reply.available_factors), reply.session_token)


@router.get("/{lang}/logout")
async def logout_get(lang: str) -> Response:
    return redirect(f"/{language_or_default(lang)}/")


@router.post("/{lang}/logout")
async def logout(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                 _: Annotated[EmptyForm, Form()]) -> Response:
    if not csrf:
        return redirect(f"/{lang}/account")
    if token := request.cookies.get(SESSION_COOKIE):
        try:
            await svc.identity.Logout(identity.LogoutRequest(), **svc.call(token))
        except grpc.aio.AioRpcError:
            pass
    response = redirect(f"/{lang}/login?done=logout")
    clear_private_cookie(response, SESSION_COOKIE)
    return response


@router.get("/{lang}/password/change")
async def password_form(request: Request, lang: Lang, done: str = "") -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return redirect(f"/{lang}/login")
    return await render(request, lang, "password.html", title_key="password.title")


@router.post("/{lang}/password/change")
async def password_change(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                          typed: Annotated[PasswordForm, Form()]) -> Response:
    if not (token := request.cookies.get(SESSION_COOKIE)):
        return redirect(f"/{lang}/login")
    if not csrf:
        return await render(request, lang, "password.html", status=403, title_key="password.title",
                            form=csrf_failed(lang, {}))
    if typed.new_password != typed.confirm_password:
        form = FormState()
        form.add(lang, "confirm_password", translate(lang, "password.mismatch"))
        return await render(request, lang, "password.html", status=400, title_key="password.title", form=form)
    try:
        reply = await svc.identity.ChangePassword(identity.ChangePasswordRequest(
            current_password=typed.current_password, new_password=typed.new_password), **svc.call(token))
    except grpc.aio.AioRpcError as error:
        failure = failure_of(error)
        if failure.code == grpc.StatusCode.UNAUTHENTICATED and failure.reason.startswith("SESSION"):
            return redirect(f"/{lang}/login")
        form = failure_form(lang, error, {}, {"current_password", "new_password"})
        return await render(request, lang, "password.html", status=400, title_key="password.title", form=form)
    enrol = reply.principal.second_factor_step == identity_pb.SECOND_FACTOR_STEP_ENROL
    response = redirect(f"/{lang}/account/second-factor" if enrol else f"/{lang}/account?done=password")
    set_private_cookie(response, SESSION_COOKIE, reply.session_token, SESSION_SECONDS)
    return response
