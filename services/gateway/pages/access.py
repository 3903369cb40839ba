"""Get access: the COFOR analysis, the portal access request and the resent GTU link (the GTU acceptance page:
pages/terms.py)."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from gateway.dependencies import Lang, Svc
from gateway.errors import redirect
from gateway.forms import AccessRequestBody, AccessRequestForm, CoforForm, nested
from gateway.i18n import language_or_default, translate
from gateway.pages.progress import access_stage
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()


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
