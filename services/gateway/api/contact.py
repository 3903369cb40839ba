"""Help & Contact: open a support ticket (SupportService), multipart with an optional screenshot."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import ticket_pb2 as ticket_pb

from gateway.api.common import ApiRoute
from gateway.clients import principal_metadata
from gateway.dependencies import Svc, Visitor
from gateway.forms import TicketForm
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["contact"])
SCREENSHOT_LIMIT = 5 * 1024 * 1024


@router.post("/tickets", summary="Help & Contact (SupportService.CreateTicket); multipart with the screenshot",
             response_model=reply(support.CreateTicketResponse))
async def create_ticket(form: Annotated[TicketForm, Form(media_type="multipart/form-data")], svc: Svc,
                        principal: Visitor) -> dict[str, Any]:
    name = f"TICKET_CATEGORY_{form.category.upper()}"
    ticket = support.CreateTicketRequest(
        category=ticket_pb.TicketCategory.Value(name) if name in ticket_pb.TicketCategory.keys()
        else ticket_pb.TICKET_CATEGORY_UNSPECIFIED,
        subject=form.subject, text=form.text, contact=ticket_pb.TicketContact(
            name=form.name, email=form.email, phone=form.phone, company=form.company, identifier=form.identifier,
            cofor=form.cofor, language=form.language))
    if (shot := form.screenshot) is not None and shot.filename:
        ticket.screenshot.CopyFrom(ticket_pb.Screenshot(filename=shot.filename[:200], data=await shot.read(
            SCREENSHOT_LIMIT + 1), content_type=(shot.content_type or "")[:100]))
    # Signed in: the ticket is recorded as sent by this session (proven), never by what the form claims.
    return as_json(await svc.support.CreateTicket(ticket, **svc.call(vouched=principal_metadata(principal))))
