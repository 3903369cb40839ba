"""Present your company: the company file (CoforService). The presenter's token comes from the mailed link."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from google.protobuf.field_mask_pb2 import FieldMask
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from gateway.api.access import contact
from gateway.api.common import ApiRoute, errors
from gateway.clients import PRESENTER_COOKIE
from gateway.dependencies import Svc
from gateway.forms import StartPresentationBody, UpdatePresentationBody
from gateway.replies import as_json, wrapped

router = APIRouter(route_class=ApiRoute, tags=["company"])
PRESENTER_HEADER = "x-presenter-token"
Presentation = wrapped("presentation", cofor_pb.Presentation)
PRESENTER = errors(401, 403, 404)


def presenter(request: Request, token: str | None = None) -> str | None:
    # The token comes from the mailed link: a page sets it in the cookie (after asking, if it replaces another
    # file's); an API client sends it in ``x-presenter-token``. The API never sets the cookie itself.
    return token or request.headers.get(PRESENTER_HEADER) or request.cookies.get(PRESENTER_COOKIE)


@router.post("/presentations", summary="Start a company file (CoforService.StartPresentation); the link that "
                                       "opens it is mailed to the presenter", response_model=Presentation,
             responses=errors(409))
async def start_presentation(body: StartPresentationBody, svc: Svc) -> dict[str, Any]:
    reply = await svc.cofor.StartPresentation(cofor.StartPresentationRequest(
        duns=body.duns, email=body.email, legal_name=body.legal_name, language=body.language), **svc.call())
    return {"presentation": as_json(reply.presentation)}


@router.get("/presentations/{presentation_id}", summary="Read the company file (CoforService.GetPresentation)",
            response_model=Presentation, responses=PRESENTER)
async def get_presentation(presentation_id: str, request: Request, svc: Svc,
                           token: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    reply = await svc.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                            **svc.call(presenter(request, token)))
    return {"presentation": as_json(reply.presentation)}


@router.patch("/presentations/{presentation_id}", summary="Fill in the file (CoforService.UpdatePresentation)",
              response_model=Presentation, responses=PRESENTER)
async def update_presentation(presentation_id: str, body: UpdatePresentationBody, request: Request,
                              svc: Svc) -> dict[str, Any]:
    values = cofor_pb.Presentation(
        presentation_id=presentation_id, legal_name=body.legal_name,
        national_registration_number=body.national_registration_number, tax_number=body.tax_number,
        country_code=body.country_code, legal_existence_proof_ref=body.legal_existence_proof_ref)
    if (address := body.head_office_address) is not None:
        values.head_office_address.CopyFrom(cofor_pb.Address(
            lines=address.lines, postal_code=address.postal_code, city=address.city,
            country_code=address.country_code))
    if body.legal_representative is not None:
        values.legal_representative.CopyFrom(contact(body.legal_representative))
    reply = await svc.cofor.UpdatePresentation(cofor.UpdatePresentationRequest(
        presentation=values, update_mask=FieldMask(paths=body.update_mask)), **svc.call(presenter(request)))
    return {"presentation": as_json(reply.presentation)}


@router.post("/presentations/{presentation_id}:submit", summary="Send the file (CoforService.SubmitPresentation)",
             response_model=Presentation, responses=PRESENTER)
async def submit_presentation(presentation_id: str, request: Request, svc: Svc) -> dict[str, Any]:
    reply = await svc.cofor.SubmitPresentation(cofor.SubmitPresentationRequest(
        presentation_id=presentation_id), **svc.call(presenter(request)))
    return {"presentation": as_json(reply.presentation)}
