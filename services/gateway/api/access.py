"""Get access: the COFOR analysis, the portal access request and the GTU (CoforService)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from gateway.api.common import ApiRoute, errors
from gateway.dependencies import Svc
from gateway.forms import AcceptTermsBody, AccessRequestBody, AnalyzeBody, CoforBody, ContactBody
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["access"])


def contact(c: ContactBody) -> cofor_pb.Contact:
    return cofor_pb.Contact(given_name=c.given_name, family_name=c.family_name, email=c.email, phone=c.phone,
                            job_title=c.job_title, language=c.language)


@router.post("/access:analyze", summary="Get-access analysis (CoforService.AnalyzeAccess)",
             response_model=reply(cofor.AnalyzeAccessResponse))
async def analyze(body: AnalyzeBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.cofor.AnalyzeAccess(cofor.AnalyzeAccessRequest(
        cofor=body.cofor, site_code=body.site_code), **svc.call()))


@router.post("/access-requests", summary="Request portal access (CoforService.RequestPortalAccess)",
             response_model=reply(cofor.RequestPortalAccessResponse))
async def request_access(body: AccessRequestBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.cofor.RequestPortalAccess(cofor.RequestPortalAccessRequest(
        cofor=body.cofor, signatory=contact(body.signatory), administrator=contact(body.administrator)),
        **svc.call()))


@router.post("/access-requests:resend", summary="Resend the GTU link (CoforService.ResendTermsAcceptance)",
             response_model=reply(cofor.ResendTermsAcceptanceResponse))
async def resend_terms(body: CoforBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.cofor.ResendTermsAcceptance(cofor.ResendTermsAcceptanceRequest(cofor=body.cofor),
                                                         **svc.call()))


@router.get("/terms", summary="What the terms page shows (CoforService.DescribeTermsAcceptance)",
            response_model=reply(cofor.DescribeTermsAcceptanceResponse), responses=errors(401, 404))
async def describe_terms(svc: Svc, token: Annotated[str, Query(max_length=200)]) -> dict[str, Any]:
    return as_json(await svc.cofor.DescribeTermsAcceptance(cofor.DescribeTermsAcceptanceRequest(
        acceptance_token=token), **svc.call()))


@router.post("/terms:accept", summary="Accept the GTU (CoforService.AcceptTerms)",
             response_model=reply(cofor.AcceptTermsResponse), responses=errors(401, 404))
async def accept_terms(body: AcceptTermsBody, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.cofor.AcceptTerms(cofor.AcceptTermsRequest(
        acceptance_token=body.acceptance_token, terms_version=body.terms_version), **svc.call()))
