"""Help & Contact: the form that opens a support ticket, with an optional screenshot."""
from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import ticket_pb2 as ticket_pb

from gateway.clients import principal_metadata
from gateway.dependencies import Lang, Svc, Visitor
from gateway.forms import ContactForm
from gateway.i18n import translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()
SCREENSHOT_LIMIT = 5 * 1024 * 1024
CATEGORIES = ("UNKNOWN_COFOR", "ACCESS_REQUEST", "LOGIN_PROBLEM", "BLOCKED_ACCOUNT", "COMPANY_PRESENTATION", "OTHER")
FIELDS = ("category", "subject", "text", "name", "email", "phone", "company", "identifier", "cofor")
ALIASES = {f"contact.{n}": n for n in FIELDS} | {"screenshot.data": "screenshot", "screenshot.content_type":
                                                 "screenshot"}


@router.get("/{lang}/contact")
async def contact_form(request: Request, lang: Lang, principal: Visitor, category: str = "") -> Response:
    values = {"category": category.upper() if category.upper() in CATEGORIES else ""}
    if principal is not None:
        values.update(identifier=principal.identifier, cofor=principal.cofor_root, name=principal.display_name)
    return await render(request, lang, "contact.html", title_key="contact.title", categories=CATEGORIES,
                        form=FormState(values=values))


async def _ticket(typed: ContactForm, lang: str) -> support.CreateTicketRequest:
    category = typed.category if typed.category in CATEGORIES else "UNSPECIFIED"
    ticket = support.CreateTicketRequest(
        category=ticket_pb.TicketCategory.Value(f"TICKET_CATEGORY_{category}"), subject=typed.subject,
        text=typed.text, contact=ticket_pb.TicketContact(
            name=typed.name, email=typed.email, phone=typed.phone, company=typed.company,
            identifier=typed.identifier, cofor=typed.cofor, language=lang))
    shot = typed.screenshot
    if shot is not None and shot.filename:
        ticket.screenshot.CopyFrom(ticket_pb.Screenshot(filename=shot.filename[:200], data=await shot.read(
            SCREENSHOT_LIMIT + 1), content_type=(shot.content_type or "")[:100]))
    return ticket


@router.post("/{lang}/contact")
async def contact(request: Request, lang: Lang, svc: Svc, principal: Visitor, csrf: CsrfChecked,
                  typed: Annotated[ContactForm, Form()]) -> Response:
    values = {k: v for k, v in typed.values().items() if k in FIELDS}
    if not csrf:
        return await render(request, lang, "contact.html", status=403, title_key="contact.title",
                            categories=CATEGORIES, form=csrf_failed(lang, values))
    try:
        # Signed in: the ticket is recorded as sent by this session (proven), never by what the form claims.
        reply = await svc.support.CreateTicket(await _ticket(typed, lang),
                                               **svc.call(vouched=principal_metadata(principal)))
    except grpc.aio.AioRpcError as error:
        form = failure_form(lang, error, values, set(FIELDS) | {"screenshot"}, ALIASES)
        return await render(request, lang, "contact.html", status=400, title_key="contact.title",
                            categories=CATEGORIES, form=form)
    reference = reply.ticket.reference
    return await message(request, lang, "contact.done_title", translate(lang, "contact.done", reference=reference),
                         switch_path="/contact", reference=reference, status_role=True)
