"""Present your company: start a file, open the mailed link, fill the file in and send it to purchasing."""
from __future__ import annotations

import hmac
import re
import uuid
from typing import Annotated
from urllib.parse import quote

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from google.protobuf.field_mask_pb2 import FieldMask
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from kit.client import failure_of

from gateway.clients import PRESENTER_COOKIE, set_private_cookie
from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import CompanyForm, OpenFileForm, StartPresentationForm
from gateway.i18n import translate
from gateway.pages.progress import file_stage
from gateway.pages.rendering import (
    CsrfChecked,
    FormState,
    csrf_failed,
    failure_form,
    field_name,
    message,
    render,
)

router = APIRouter()
REPRESENTATIVE_FIELDS = tuple(f"legal_representative.{name}" for name in ("given_name", "family_name", "email",
                                                                        "phone", "job_title"))
COMPANY_FIELDS = ("legal_name", "national_registration_number", "tax_number", "country_code",
                  "legal_existence_proof_ref", "head_office_address.lines", "head_office_address.postal_code",
                  "head_office_address.city", "head_office_address.country_code", *REPRESENTATIVE_FIELDS)
ADDRESS = {"head_office_address": "head_office_address.lines"}
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")  # the shape of every link token (URL-safe base64)


@router.get("/{lang}/company")
async def company_start_form(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "company_start.html", title_key="company.title")


@router.post("/{lang}/company")
async def company_start(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                        typed: Annotated[StartPresentationForm, Form()]) -> Response:
    values = typed.values()
    if not csrf:
        return await render(request, lang, "company_start.html", status=403, title_key="company.title",
                            form=csrf_failed(lang, values))
    try:
        await svc.cofor.StartPresentation(cofor.StartPresentationRequest(
            duns=typed.duns, email=typed.email, legal_name=typed.legal_name, language=lang,
            request_id=str(uuid.uuid4())), **svc.call())
    except grpc.aio.AioRpcError as error:
        form = failure_form(lang, error, values, {"duns", "email", "legal_name"})
        if failure_of(error).reason == "DUNS_ALREADY_PRESENTED":
            form = FormState(values=values)
            form.add(lang, "duns", translate(lang, "error.DUNS_ALREADY_PRESENTED"))
        return await render(request, lang, "company_start.html", status=400, title_key="company.title", form=form)
    # The token is only mailed: whoever opens the file has proven the address.
    return await message(request, lang, "company.check_mail_title",
                         translate(lang, "company.check_mail", email=typed.email), status_role=True)


def _values(p: cofor_pb.Presentation) -> dict[str, str]:
    a = p.head_office_address
    return {"legal_name": p.legal_name, "national_registration_number": p.national_registration_number,
            "tax_number": p.tax_number, "country_code": p.country_code,
            "legal_existence_proof_ref": p.legal_existence_proof_ref,
            "head_office_address.lines": "\n".join(a.lines), "head_office_address.postal_code": a.postal_code,
            "head_office_address.city": a.city, "head_office_address.country_code": a.country_code,
            **{name: getattr(p.legal_representative, name.split(".", 1)[1]) for name in REPRESENTATIVE_FIELDS}}


async def _company_page(request: Request, lang: str, svc: Svc, presentation_id: str,
                        form: FormState | None = None, status: int = 200, done: str = "") -> HTMLResponse:
    try:
        p = (await svc.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                             **svc.call(request.cookies.get(PRESENTER_COOKIE)))).presentation
    except grpc.aio.AioRpcError as error:
        return await _file_refused(request, lang, error)
    state = cofor_pb.PresentationState.Name(p.state).removeprefix("PRESENTATION_STATE_")
    missing = [translate(lang, "f." + (field_name(m, set(COMPANY_FIELDS), ADDRESS) or m)) for m in p.missing_fields]
    return await render(request, lang, "company.html", status=status, title_key="company.title", presentation=p,
                        state=state, stage=file_stage(state), form=form or FormState(values=_values(p)), done=done,
                        fields=COMPANY_FIELDS, missing=missing)


@router.get("/{lang}/company/{presentation_id}")
async def company_file(request: Request, lang: Lang, svc: Svc, presentation_id: str, token: str = "",
                       done: str = "") -> Response:
    if token:
        return await _file_to_open(request, lang, svc, presentation_id[:64], token)
    return await _company_page(request, lang, svc, presentation_id[:64],
                               done=done if done in ("saved", "submitted") else "")


async def _file_to_open(request: Request, lang: str, svc: Svc, presentation_id: str, token: str,
                        form: FormState | None = None) -> HTMLResponse:
    """The mailed link: a page that names the file (company, D-U-N-S, the presenter's address) and asks before
    keeping its token in this browser. A GET never sets the cookie: a crafted link clicked anywhere (where the
    SameSite cookie of the visitor's own file is not even sent) could otherwise swap the visitor's file."""
    if not TOKEN.fullmatch(token):
        return await message(request, lang, "company.title", translate(lang, "company.no_access"), status=403)
    try:
        p = (await svc.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                             **svc.call(token))).presentation
    except grpc.aio.AioRpcError as error:
        return await _file_refused(request, lang, error)
    current = request.cookies.get(PRESENTER_COOKIE, "")
    replacing = bool(current) and not hmac.compare_digest(current.encode(), token.encode())
    return await render(request, lang, "company_open.html", title_key="company.open_title", presentation=p,
                        token=token, replacing=replacing, form=form, status=403 if form else 200)


async def _file_refused(request: Request, lang: str, error: grpc.aio.AioRpcError) -> HTMLResponse:
    failure = failure_of(error)
    if failure.reason in ("PRESENTATION_EXPIRED", "DUNS_ALREADY_PRESENTED"):  # lapsed, or lost the race
        return await message(request, lang, "company.title", translate(lang, f"error.{failure.reason}"), status=410)
    if failure.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND,
                        grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT):
        return await message(request, lang, "company.title", translate(lang, "company.no_access"), status=403)
    raise error


@router.post("/{lang}/company/{presentation_id}/open")
async def company_open(request: Request, lang: Lang, svc: Svc, presentation_id: str, csrf: CsrfChecked,
                       typed: Annotated[OpenFileForm, Form()]) -> Response:
    """The visitor chose to work on this file here: the token goes into the cookie (a same-site POST)."""
    if not csrf:
        return await _file_to_open(request, lang, svc, presentation_id[:64], typed.token, csrf_failed(lang, {}))
    if not TOKEN.fullmatch(typed.token):
        return await message(request, lang, "company.title", translate(lang, "company.no_access"), status=403)
    response = redirect(f"/{lang}/company/{quote(presentation_id[:64])}")
    set_private_cookie(response, PRESENTER_COOKIE, typed.token, 30 * 24 * 3600)
    return response


def _presentation(presentation_id: str, values: dict[str, str]) -> cofor_pb.Presentation:
    lines = [line.strip() for line in values["head_office_address.lines"].splitlines() if line.strip()]
    return cofor_pb.Presentation(
        presentation_id=presentation_id, legal_name=values["legal_name"],
        national_registration_number=values["national_registration_number"], tax_number=values["tax_number"],
        country_code=values["country_code"], legal_existence_proof_ref=values["legal_existence_proof_ref"],
        head_office_address=cofor_pb.Address(
            lines=lines[:8], postal_code=values["head_office_address.postal_code"],
            city=values["head_office_address.city"], country_code=values["head_office_address.country_code"]),
        legal_representative=cofor_pb.Contact(**{name.split(".", 1)[1]: values[name]
                                                 for name in REPRESENTATIVE_FIELDS}))


@router.post("/{lang}/company/{presentation_id}")
async def company_update(request: Request, lang: Lang, svc: Svc, presentation_id: str, csrf: CsrfChecked,
                         typed: Annotated[CompanyForm, Form()]) -> Response:
    presentation_id, values, known = presentation_id[:64], typed.values(), set(COMPANY_FIELDS)
    if not csrf:
        return await _company_page(request, lang, svc, presentation_id, csrf_failed(lang, values), 403)
    bearer = svc.call(request.cookies.get(PRESENTER_COOKIE))
    try:
        if mask := [name for name in COMPANY_FIELDS if values.get(name)]:
            await svc.cofor.UpdatePresentation(cofor.UpdatePresentationRequest(
                presentation=_presentation(presentation_id, values), update_mask=FieldMask(paths=mask)), **bearer)
    except grpc.aio.AioRpcError as error:
        return await _company_page(request, lang, svc, presentation_id, failure_form(lang, error, values, known), 400)
    if values.get("action") != "submit":
        return redirect(f"/{lang}/company/{quote(presentation_id)}?done=saved")
    try:
        await svc.cofor.SubmitPresentation(cofor.SubmitPresentationRequest(presentation_id=presentation_id), **bearer)
    except grpc.aio.AioRpcError as error:
        failure, form = failure_of(error), failure_form(lang, error, values, known)
        if failure.code == grpc.StatusCode.FAILED_PRECONDITION and failure.precondition_subjects:
            form = FormState(values=values)
            for subject in failure.precondition_subjects:
                form.add(lang, field_name(subject, known, ADDRESS), translate(lang, "form.required"))
        return await _company_page(request, lang, svc, presentation_id, form, 400)
    return redirect(f"/{lang}/company/{quote(presentation_id)}?done=submitted")
