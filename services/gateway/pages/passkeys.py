"""Passkey pages (ARCHITECTURE §15): signing in with a passkey alone, the login's second step with one, adding one
and removing one. The browser's part is static/portal-passkeys.js: it asks the JSON API for the ceremony's options,
lets the device answer, and posts the answer here in a plain form, so sessions, cookies, recovery codes and errors
are handled as every other page's. Without a browser that can, the passkey buttons stay hidden."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from portal.identity.v1 import passkeys_pb2 as pk

from kit.client import failure_of

from gateway.clients import SESSION_COOKIE, SESSION_SECONDS, set_private_cookie
from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.factor_forms import PasskeyAnswerForm, PasskeyEnrolmentForm
from gateway.pages.factors import SETUP, after_login, factors_page, second_step_page, signed_in
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, render

router = APIRouter()
BOTH = ("passkey", "totp")  # a passkey failed: the app may still answer (the account's factors are not known here)


def _failed(lang: str, error: grpc.aio.AioRpcError) -> FormState:
    return failure_form(lang, error, {}, set())


@router.post("/{lang}/login/passkey")
async def login(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                typed: Annotated[PasskeyAnswerForm, Form()]) -> Response:
    if not csrf:
        return await render(request, lang, "login.html", status=403, title_key="login.title",
                            form=csrf_failed(lang, {}))
    try:
        reply = await svc.identity.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=typed.credential_json),
                                                **svc.call())
    except grpc.aio.AioRpcError as error:
        return await render(request, lang, "login.html", status=401, title_key="login.title",
                            form=_failed(lang, error))
    return signed_in(after_login(lang, reply.principal), reply.session_token)


@router.post("/{lang}/login/second-factor/passkey")
async def verify(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                 typed: Annotated[PasskeyAnswerForm, Form()]) -> Response:
    if not (token := request.cookies.get(SESSION_COOKIE)):
        return redirect(f"/{lang}/login")
    if not csrf:
        return await second_step_page(request, lang, form=csrf_failed(lang, {}), kind="passkey", factors=BOTH,
                                      status=403)
    try:
        reply = await svc.identity.VerifyPasskey(pk.VerifyPasskeyRequest(credential_json=typed.credential_json),
                                                 **svc.call(token))
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason.startswith("SESSION"):  # the five minutes passed: log in again
            return redirect(f"/{lang}/login?done=expired")
        return await second_step_page(request, lang, form=_failed(lang, error), kind="passkey", factors=BOTH,
                                      status=401)
    return signed_in(after_login(lang, reply.principal), reply.session_token)


@router.post(f"/{{lang}}{SETUP}/passkeys")
async def enrol(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                typed: Annotated[PasskeyEnrolmentForm, Form()]) -> Response:
    if not csrf:
        return redirect(f"/{lang}{SETUP}")
    try:
        reply = await svc.identity.FinishPasskeyEnrolment(pk.FinishPasskeyEnrolmentRequest(
            credential_json=typed.credential_json, name=typed.name), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason in ("SESSION_INVALID", "SESSION_REQUIRED"):
            return redirect(f"/{lang}/login")
        return await factors_page(request, lang, svc, form=_failed(lang, error), status=400)
    response: Response
    if reply.recovery_codes:  # the first factor: its recovery codes, shown once
        response = await render(request, lang, "recovery_codes.html", title_key="factor.codes_title",
                                codes=list(reply.recovery_codes), next_url=after_login(lang, reply.principal))
    else:
        response = redirect(f"/{lang}{SETUP}?done=passkey-added")
    set_private_cookie(response, SESSION_COOKIE, reply.session_token, SESSION_SECONDS)
    return response


@router.post(f"/{{lang}}{SETUP}/passkeys/remove")
async def remove(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                 credential_id: Annotated[str, Form()] = "") -> Response:  # identity checks it
    if not csrf:
        return redirect(f"/{lang}{SETUP}")
    try:
        await svc.identity.RemovePasskey(pk.RemovePasskeyRequest(credential_id=credential_id), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await factors_page(request, lang, svc, form=_failed(lang, error), status=400)
    return redirect(f"/{lang}{SETUP}?done=passkey-removed")
