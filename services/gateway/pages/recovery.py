"""Lost identifier, lost password (an ASL's, reset by mail; a user's, asked of the company's ASL)."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import ContactAdministratorForm, PageForm, RecoverIdentifierForm, ResetAdministratorForm
from gateway.i18n import language_or_default, translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()


async def _accepted(request: Request, lang: str, switch_path: str) -> HTMLResponse:
    """One answer whether or not anything matched: the page must not tell who has an account."""
    return await message(request, lang, "recover.accepted_title", translate(lang, "recover.accepted"),
                         switch_path=switch_path, status_role=True)


@router.get("/{lang}/recover/identifier")
async def recover_identifier_form(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "recover_identifier.html", title_key="recover.identifier_title")


@router.post("/{lang}/recover/identifier")
async def recover_identifier(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                             typed: Annotated[RecoverIdentifierForm, Form()]) -> Response:
    if not csrf:
        return await render(request, lang, "recover_identifier.html", status=403,
                            title_key="recover.identifier_title", form=csrf_failed(lang, typed.values()))
    try:
        await svc.identity.RecoverIdentifier(identity.RecoverIdentifierRequest(
            email=typed.email, cofor=typed.cofor), **svc.call())
    except grpc.aio.AioRpcError as error:
        return await render(request, lang, "recover_identifier.html", status=400,
                            title_key="recover.identifier_title",
                            form=failure_form(lang, error, typed.values(), {"email", "cofor"}))
    return await _accepted(request, lang, request.url.path[3:])


@router.get("/{lang}/recover/password")
async def recover_password_form(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "recover_password.html", title_key="recover.password_title",
                        asl_form=FormState(), user_form=FormState())


@router.get("/{lang}/recover/password/{who}")
async def recover_password_get(lang: str, who: str) -> Response:
    return redirect(f"/{language_or_default(lang)}/recover/password")


async def _password_page(request: Request, lang: str, status: int, **forms: FormState) -> HTMLResponse:
    both = {"asl_form": FormState(), "user_form": FormState(), **forms}
    return await render(request, lang, "recover_password.html", status=status, title_key="recover.password_title",
                        switch_path="/recover/password", **both)


@router.post("/{lang}/recover/password/administrator")
async def reset_administrator_password(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                                       typed: Annotated[ResetAdministratorForm, Form()]) -> Response:
    if not csrf:
        return await _password_page(request, lang, 403, asl_form=csrf_failed(lang, typed.values()))
    try:
        await svc.identity.ResetAdministratorPassword(identity.ResetAdministratorPasswordRequest(
            identifier=typed.identifier, cofor=typed.cofor, email=typed.email), **svc.call())
    except grpc.aio.AioRpcError as error:
        return await _password_page(request, lang, 400, asl_form=_refused(lang, error, typed))
    return await _accepted(request, lang, "/recover/password")


@router.post("/{lang}/recover/password/user")
async def contact_administrator(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                                typed: Annotated[ContactAdministratorForm, Form()]) -> Response:
    if not csrf:
        return await _password_page(request, lang, 403, user_form=csrf_failed(lang, typed.values()))
    try:
        await svc.identity.ContactAdministrator(identity.ContactAdministratorRequest(
            identifier=typed.identifier, cofor=typed.cofor, email=typed.email, message=typed.message),
            **svc.call())
    except grpc.aio.AioRpcError as error:
        return await _password_page(request, lang, 400, user_form=_refused(lang, error, typed))
    return await _accepted(request, lang, "/recover/password")


def _refused(lang: str, error: grpc.aio.AioRpcError, typed: PageForm) -> FormState:
    return failure_form(lang, error, typed.values(), set(typed.values()))


@router.post("/{lang}/recover/password/{who}")
async def recover_password_unknown(request: Request, lang: Lang, who: str) -> Response:
    return await message(request, lang, "error.title", translate(lang, "error.not_found"), status=404)
