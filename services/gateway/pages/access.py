"""Get access: the COFOR analysis, the portal access request, the resent GTU link and the GTU acceptance."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from kit.client import failure_of

from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import AcceptTermsForm, AccessRequestBody, AccessRequestForm, CoforForm, nested
from gateway.i18n import format_datetime, has, language_or_default, translate
from gateway.markdown import render_markdown
from gateway.pages.progress import access_stage
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()
TERMS = Path(__file__).parents[1] / "terms"


def terms_text(version: str, lang: str) -> Markup | None:
    """The full GTU of ``version`` in ``lang`` (terms/<version>.<lang>.md), or None when it is not shipped."""
    if not re.fullmatch(r"[0-9A-Za-z.-]{1,40}", version):
        return None
    path = TERMS / f"{version}.{lang}.md"
    return render_markdown(path.read_text(encoding="utf-8")) if path.is_file() else None


@router.get("/{lang}/access")
async def access(request: Request, lang: Lang, svc: Svc, cofor: str = "", site_code: str = "") -> Response:
    typed, site = cofor.strip()[:40], site_code.strip()[:10]
    if not typed:
        return await render(request, lang, "access.html", title_key="access.title")
    try:
        result = await svc.cofor.AnalyzeAccess(_analyze(typed, site), **svc.call())
    except grpc.aio.AioRpcError as error:
        form = failure_form(lang, error, {"cofor": typed, "site_code": site}, {"cofor", "site_code"})
        return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
    return await _analysis_page(request, lang, result, typed)


def _analyze(typed: str, site: str) -> cofor.AnalyzeAccessRequest:
    return cofor.AnalyzeAccessRequest(cofor=typed, site_code=site)


async def _analysis_page(request: Request, lang: str, result: cofor.AnalyzeAccessResponse, typed: str,
                         form: FormState | None = None, status: int = 200) -> HTMLResponse:
    outcome = cofor.AnalysisOutcome.Name(result.outcome).removeprefix("ANALYSIS_OUTCOME_")
    return await render(request, lang, "access_result.html", status=status, title_key="access.result_title",
                        outcome=outcome, stage=access_stage(outcome), result=result, typed=typed, form=form,
                        request_form=form or FormState(values={"signatory.language": lang,
                                                               "administrator.language": lang}))


@router.get("/{lang}/access/request")
@router.get("/{lang}/access/resend")
async def access_get(lang: str) -> Response:
    return redirect(f"/{language_or_default(lang)}/access")


@router.post("/{lang}/access/request")
async def access_request(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                         typed: Annotated[AccessRequestForm, Form()]) -> Response:
    values = typed.values()
    body = AccessRequestBody.model_validate(nested(values))
    form = csrf_failed(lang, values) if not csrf else None
    if form is None:
        try:
            await svc.cofor.RequestPortalAccess(cofor.RequestPortalAccessRequest(
                cofor=body.cofor, signatory=cofor_pb.Contact(**body.signatory.model_dump()),
                administrator=cofor_pb.Contact(**body.administrator.model_dump())), **svc.call())
            # One answer whether or not the request named the signatory of record: the page must not tell a
            # stranger whether the address they typed is that person's.
            return await message(request, lang, "request.sent_title", translate(lang, "request.sent"),
                                 switch_path="/access", status_role=True)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, values, set(values))
    try:
        result = await svc.cofor.AnalyzeAccess(_analyze(body.cofor, ""), **svc.call())
    except grpc.aio.AioRpcError:
        return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
    return await _analysis_page(request, lang, result, body.cofor, form=form, status=400)


@router.post("/{lang}/access/resend")
async def access_resend(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                        typed: Annotated[CoforForm, Form()]) -> Response:
    if not csrf:
        return await render(request, lang, "access.html", status=403, title_key="access.title",
                            form=csrf_failed(lang, typed.values()))
    try:
        await svc.cofor.ResendTermsAcceptance(cofor.ResendTermsAcceptanceRequest(cofor=typed.cofor), **svc.call())
    except grpc.aio.AioRpcError as error:
        form = failure_form(lang, error, typed.values(), {"cofor"})
        return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
    return await message(request, lang, "access.resent_title", translate(lang, "access.resent"),
                         switch_path="/access")


@router.get("/{lang}/access/terms")
async def terms(request: Request, lang: Lang, svc: Svc, token: str = "") -> Response:
    return await _terms_page(request, lang, svc, token[:200])


async def _terms_page(request: Request, lang: str, svc: Svc, token: str,
                      form: FormState | None = None) -> HTMLResponse:
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
    text = terms_text(described.terms_version, lang)
    if text is None:  # never ask anyone to accept terms they cannot read in full
        return await message(request, lang, "terms.title", translate(lang, "terms.unavailable"), status=503)
    return await render(request, lang, "terms.html", title_key="terms.title", described=described, token=token,
                        expires=format_datetime(described.expire_time, lang), form=form, terms=text,
                        requested_at=format_datetime(described.request_time, lang))


@router.post("/{lang}/access/terms")
async def terms_accept(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                       typed: Annotated[AcceptTermsForm, Form()]) -> Response:
    if not csrf:
        return await _terms_page(request, lang, svc, typed.acceptance_token, csrf_failed(lang, {}))
    try:
        accepted = await svc.cofor.AcceptTerms(cofor.AcceptTermsRequest(
            acceptance_token=typed.acceptance_token, terms_version=typed.terms_version), **svc.call())
    except grpc.aio.AioRpcError as error:
        return await _terms_page(request, lang, svc, typed.acceptance_token, failure_form(lang, error, {}, set()))
    done = translate(lang, "terms.done", company=accepted.legal_name)
    return await message(request, lang, "terms.done_title", done, switch_path="/access")
