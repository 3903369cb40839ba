""""Ask my company's ASL for an account": a newcomer without a V-identifier writes to the ASLs of their company
(IdentityService.RequestAccount). Reached from the access analysis when the access is open, and from the login and
recovery pages. The page answers the same whatever the COFOR is: it never says whether it exists or has an ASL."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.account_request_forms import AccountRequestForm
from gateway.dependencies import Lang, Svc
from gateway.i18n import translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()
PAGE, TITLE = "account_request.html", "account_request.title"


@router.get("/{lang}/account-request")
async def account_request_form(request: Request, lang: Lang, cofor: str = "") -> Response:
    """The form, its COFOR filled in from the analysis page's link (a value to check, never an action)."""
    return await render(request, lang, PAGE, title_key=TITLE, form=FormState(values={"cofor": cofor.strip()[:40]}))


@router.post("/{lang}/account-request")
async def request_account(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                          typed: Annotated[AccountRequestForm, Form()]) -> Response:
    values = typed.values()
    if not csrf:
        return await render(request, lang, PAGE, status=403, title_key=TITLE, form=csrf_failed(lang, values))
    try:
        await svc.identity.RequestAccount(identity.RequestAccountRequest(
            cofor=typed.cofor, given_name=typed.given_name, family_name=typed.family_name, email=typed.email,
            job_title=typed.job_title, message=typed.message, language=lang), **svc.call())
    except grpc.aio.AioRpcError as error:
        return await render(request, lang, PAGE, status=400, title_key=TITLE,
                            form=failure_form(lang, error, values, set(values) - {"language"}))
    # One answer whatever the COFOR matched: nobody learns here whether a company or an ASL exists.
    return await message(request, lang, "account_request.accepted_title", translate(lang, "account_request.accepted"),
                         switch_path="/account-request", status_role=True)
