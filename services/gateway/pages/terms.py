"""The General Terms of Use: the signatory's acceptance page (the mailed link) and the public pages where anyone
reads the version in force and every earlier one (gateway/gtu.py)."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from portal.cofor.v1 import cofor_service_pb2 as cofor

from kit.client import failure_of

from gateway import gtu
from gateway.dependencies import Lang, Svc
from gateway.forms import AcceptTermsForm
from gateway.i18n import format_date, format_datetime, has, translate
from gateway.pages.rendering import (
    CsrfChecked,
    FormState,
    csrf_failed,
    failure_form,
    field_id,
    message,
    not_found_page,
    render,
)

router = APIRouter()


def version_line(lang: str, version: gtu.Version) -> str:
    """"Version 2026-12 of December 1, 2026": what the pages (and a printed copy) say of a text."""
    return translate(lang, "terms.version_of", version=version.id, date=format_date(version.noon, lang))


@router.get("/{lang}/terms")
async def terms_in_force(request: Request, lang: Lang) -> Response:
    return await _public_page(request, lang, gtu.in_force().id)


@router.get("/{lang}/terms/{version_id}")
async def terms_version(request: Request, lang: Lang, version_id: str) -> Response:
    return await _public_page(request, lang, version_id[:40])


async def _public_page(request: Request, lang: str, version_id: str) -> Response:
    text = gtu.text(version_id, lang)
    if text is None:
        return await not_found_page(request, lang)
    listed = [(v, version_line(lang, v)) for v in reversed(gtu.versions())]
    return await render(request, lang, "terms_public.html", title_key="terms.public_title", gtu=text,
                        version_line=version_line(lang, text.version), listed=listed)


@router.get("/{lang}/access/terms")
async def terms(request: Request, lang: Lang, svc: Svc, token: str = "") -> Response:
    return await _acceptance_page(request, lang, svc, token[:200])


async def _acceptance_page(request: Request, lang: str, svc: Svc, token: str, form: FormState | None = None,
                           status: int = 200) -> HTMLResponse:
    """The page of a valid link: the company, the nominee, the text of the version cofor has in force. Any other
    link gets a page that names nobody (a used, voided or expired link tells no one who was nominated)."""
    described = None
    if token:
        try:
            described = await svc.cofor.DescribeTermsAcceptance(cofor.DescribeTermsAcceptanceRequest(
                acceptance_token=token), **svc.call())
        except grpc.aio.AioRpcError as error:
            if failure_of(error).code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                                              grpc.StatusCode.UNAUTHENTICATED):
                raise
    if described is None or not described.link_valid:
        state = cofor.TermsLinkState.Name(described.link_state).removeprefix("TERMS_LINK_STATE_") \
            if described is not None else "UNKNOWN"
        key = f"terms.link.{state}" if has(f"terms.link.{state}") else "terms.link.UNKNOWN"
        return await render(request, lang, "terms_invalid.html", status=410 if described else 404,
                            title_key="terms.invalid_title", reason=translate(lang, key))
    text = gtu.text(described.terms_version, lang)
    if text is None:  # never ask anyone to accept terms they cannot read in full
        return await message(request, lang, "terms.title", translate(lang, "terms.unavailable"), status=503)
    admin = described.administrator
    return await render(request, lang, "terms.html", status=status, title_key="terms.title", described=described,
                        token=token, expires=format_datetime(described.expire_time, lang), form=form, gtu=text,
                        version_line=version_line(lang, text.version), nominee=f"{admin.given_name} "
                        f"{admin.family_name}".strip(), requested_at=format_datetime(described.request_time, lang))


def _refused(lang: str, key: str, name: str = "") -> FormState:
    """The page's one refusal, next to the input ``name`` (and in the summary, linked to it)."""
    said = translate(lang, key)
    form = FormState(summary=[(field_id(name) if name else "", said)])
    if name:
        form.errors[name] = [said]
    return form


@router.post("/{lang}/access/terms")
async def terms_accept(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                       typed: Annotated[AcceptTermsForm, Form()]) -> Response:
    token = typed.acceptance_token
    if not csrf:
        return await _acceptance_page(request, lang, svc, token, csrf_failed(lang, {}), status=403)
    if not typed.accept:  # the box says what accepting means: unticked, nothing is accepted
        return await _acceptance_page(request, lang, svc, token, _refused(lang, "terms.accept_required", "accept"),
                                      status=400)
    try:
        accepted = await svc.cofor.AcceptTerms(cofor.AcceptTermsRequest(
            acceptance_token=token, terms_version=typed.terms_version), **svc.call())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason == "TERMS_VERSION_MISMATCH":  # the text changed since the page was shown
            return await _acceptance_page(request, lang, svc, token, _refused(lang, "terms.changed"), status=409)
        return await _acceptance_page(request, lang, svc, token, failure_form(lang, error, {}, set()), status=400)
    done = translate(lang, "terms.done", company=accepted.legal_name)
    return await message(request, lang, "terms.done_title", done, switch_path="/access")
