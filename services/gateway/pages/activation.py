"""The activation link of a new account's welcome mail: its holder chooses the first password, then logs in."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of

from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import ActivateAccountForm
from gateway.i18n import translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()


async def _form(request: Request, lang: str, token: str, form: FormState | None = None,
                status: int = 200) -> HTMLResponse:
    # The token is posted with the form; the switch link carries it too (same origin, never sent as a Referer: the
    # site's Referrer-Policy is no-referrer), so the page can be read in the other language.
    return await render(request, lang, "activate.html", status=status, title_key="activate.title", token=token,
                        form=form, switch_path="/activate?" + urlencode({"token": token}))


@router.get("/{lang}/activate")
async def activate_form(request: Request, lang: Lang, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _form(request, lang, token)


@router.post("/{lang}/activate")
async def activate(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                   typed: Annotated[ActivateAccountForm, Form()]) -> Response:
    if not csrf:
        return await _form(request, lang, typed.activation_token, csrf_failed(lang, {}), status=403)
    if typed.new_password != typed.confirm_password:
        form = FormState()
        form.add(lang, "confirm_password", translate(lang, "password.mismatch"))
        return await _form(request, lang, typed.activation_token, form, status=400)
    try:
        done = await svc.identity.ActivateAccount(identity.ActivateAccountRequest(
            activation_token=typed.activation_token, new_password=typed.new_password), **svc.call())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason == "ACTIVATION_INVALID":
            return await message(request, lang, "activate.title", translate(lang, "activate.invalid"), status=400)
        return await _form(request, lang, typed.activation_token,
                           failure_form(lang, error, {}, {"new_password"}), status=400)
    return redirect(f"/{lang}/login?" + urlencode({"done": "activated", "identifier": done.identifier}))
