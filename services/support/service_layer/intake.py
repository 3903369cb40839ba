"""Opening a ticket (CreateTicket), cheapest refusal first (ARCHITECTURE §8): every field but the screenshot's
content, then the requester's limits (counted and committed), then the screenshot (decoded off the event loop),
then the ticket and its mails in one transaction. A request that fails early never pays for the later steps.

Limits: per requester 20 tickets an hour (RATE_LIMITED) and a few open tickets (TOO_MANY_OPEN_TICKETS). A proven
requester (a live session the gateway vouched for) is counted by V-identifier, never by client address or e-mail, so
that strangers cannot use up a signed-in person's limits; an anonymous one by client address, and by e-mail among
anonymous tickets only.
"""
from __future__ import annotations

from dataclasses import dataclass

from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb

from kit import ratelimit, validation
from kit.errors import FieldViolation, InvalidArgument, Violations
from notify import mails, send_mail

from support.domain.screenshots import MAX_BYTES, CleanScreenshot, ScreenshotRejected
from support.domain.tickets import (
    Category,
    Contact,
    Requester,
    Screenshot,
    Ticket,
    flood_key,
    reference,
    refuse_if_too_many_open,
)
from support.service_layer.screenshots import ScreenshotDecoder
from support.service_layer.tickets import Tickets
from support.service_layer.unit_of_work import SupportUnitOfWork

CREATE_LIMIT = ratelimit.Limit("create-ticket", 20, 3600)


@dataclass(frozen=True)
class NewTicket:
    category: str
    subject: str
    text: str
    contact: Contact
    screenshot: tuple[str, str, bytes] | None  # filename, declared content type, bytes
    request_id: str = ""


class TicketIntake:
    def __init__(self, tickets: Tickets, decoder: ScreenshotDecoder, *, max_open_per_email: int = 5,
                 max_open_per_identifier: int = 5) -> None:
        self.tickets = tickets
        self.decoder = decoder
        self.max_open = {False: max_open_per_email, True: max_open_per_identifier}

    async def create(self, new: NewTicket, requester: Requester = Requester()) -> Ticket:
        subject, text, contact = _checked(new, requester)
        key, owner = flood_key(contact.email, requester), contact.email.lower()
        shot = None
        if new.screenshot is not None:
            async with self.tickets.uow() as uow:
                if done := await uow.remembered("CreateTicket", new.request_id, owner=owner):
                    return await uow.tickets.require(done)
                await self._admit(uow, key, requester)
                await uow.commit()  # counted even if the screenshot turns out bad: decoding is what costs
            shot = await self._screenshot(new.screenshot, requester)
        async with self.tickets.uow() as uow:
            if done := await uow.remembered("CreateTicket", new.request_id, owner=owner):
                return await uow.tickets.require(done)
            if shot is None:
                await self._admit(uow, key, requester)
            else:  # again: other tickets may have been opened during the decode
                await self._refuse_if_too_many_open(uow, key, requester)
            ticket = await self._open(uow, Category(new.category), subject, text, contact, requester, shot)
            uow.remember("CreateTicket", new.request_id, ticket.reference, owner=owner)
            await uow.commit()
            return ticket

    async def _admit(self, uow: SupportUnitOfWork, key: str, requester: Requester) -> None:
        if requester.proven:
            await uow.rate_limits.enforce(CREATE_LIMIT, f"id:{requester.identifier}")
        elif requester.client:
            await uow.rate_limits.enforce(CREATE_LIMIT, requester.client)
        await self._refuse_if_too_many_open(uow, key, requester)

    async def _refuse_if_too_many_open(self, uow: SupportUnitOfWork, key: str, requester: Requester) -> None:
        refuse_if_too_many_open(await uow.tickets.open_count(key), self.max_open[requester.proven], requester)

    async def _screenshot(self, screenshot: tuple[str, str, bytes], requester: Requester) -> CleanScreenshot:
        filename, declared, data = screenshot
        try:
            shot = await self.decoder.clean(data, filename, proven=requester.proven)
        except ScreenshotRejected as exc:
            raise InvalidArgument([FieldViolation("screenshot.data", str(exc), exc.reason)]) from None
        if declared and declared != shot.content_type:
            said = validation.single_line(declared, max_length=40)
            raise InvalidArgument([FieldViolation("screenshot.content_type", f"says {said} but the image is "
                                                  f"{shot.content_type}", "SCREENSHOT_INVALID")])
        return shot

    async def _open(self, uow: SupportUnitOfWork, category: Category, subject: str, text: str, contact: Contact,
                    requester: Requester, shot: CleanScreenshot | None) -> Ticket:
        now = self.tickets.now()
        ref = reference(now.year, await uow.tickets.next_number(now.year))
        image = None if shot is None else Screenshot(shot.filename, shot.content_type, shot.width, shot.height,
                                                     len(shot.data), shot.data)
        ticket = Ticket.open(ref, category, subject, text, contact, requester, now, image)
        uow.tickets.add(ticket)
        kind = pb.TicketCategory.Value(f"TICKET_CATEGORY_{category.value}")
        uow.publish("support.ticket.created", ev.TicketCreated(
            reference=ref, category=kind, subject=subject,
            has_screenshot=shot is not None, contact=pb.TicketContact(
                name=contact.name, email=contact.email, phone=contact.phone, company=contact.company,
                identifier=contact.identifier, cofor=contact.cofor, language=contact.language)))
        mailbox = self.tickets.support_mailbox
        send_mail(uow, mails.ticket_to_support(
            reference=ref, category=kind, subject=subject, text=text, contact_name=contact.name,
            contact_email=contact.email, contact_phone=contact.phone, contact_company=contact.company,
            contact_identifier=contact.identifier, contact_cofor=contact.cofor, identity_proven=requester.proven),
            to=[(mailbox, "")], language="fr", reply_to=(contact.email, contact.name),
            attachments=[("TICKET_SCREENSHOT", ref)] if shot is not None else [])
        # To an address nobody proved: the reference and category only, no name (ARCHITECTURE §8).
        send_mail(uow, mails.ticket_acknowledgement(reference=ref, category=kind), to=[(contact.email, "")],
                  language=contact.language, reply_to=(mailbox, ""))
        return ticket


def _checked(new: NewTicket, requester: Requester) -> tuple[str, str, Contact]:
    """Every field but the screenshot's content (only its size: free to check); INVALID_ARGUMENT with every bad
    field. When the requester is proven, the identifier and COFOR are the session's, whatever was typed."""
    v = Violations()
    if new.category not in Category.__members__:
        v.add("category", "must be one of " + ", ".join(Category.__members__))
    subject, text = validation.clean(new.subject), validation.clean(new.text)
    if err := validation.text_error(subject, max_length=200):
        v.add("subject", err)
    if err := validation.text_error(text, max_length=10_000, multiline=True):
        v.add("text", err)
    c = new.contact
    identifier, cofor = c.identifier.strip().upper(), c.cofor.strip().upper()
    if requester.proven:
        identifier, cofor = requester.identifier, requester.cofor_root
    contact = Contact(validation.clean(c.name), c.email.strip(), c.phone.strip(), validation.clean(c.company),
                      identifier, cofor, validation.language_of(c.language) or "")
    for name, value in (("name", contact.name), ("company", contact.company)):
        if err := validation.text_error(value, max_length=200):
            v.add(f"contact.{name}", err)
    if err := validation.email_error(contact.email):
        v.add("contact.email", err)
    if err := validation.phone_error(contact.phone):
        v.add("contact.phone", err)
    for name, value in (("identifier", contact.identifier), ("cofor", contact.cofor)):
        if err := validation.text_error(value, required=False, max_length=20):
            v.add(f"contact.{name}", err)
    if not contact.language:
        v.add("contact.language", "must be fr or en")
    if new.screenshot is not None and len(new.screenshot[2]) > MAX_BYTES:
        v.items.append(FieldViolation("screenshot.data", f"must be at most {MAX_BYTES // (1024 * 1024)} MiB",
                                      "SCREENSHOT_TOO_LARGE"))
    if err := validation.request_id_error(new.request_id):
        v.add("request_id", err)
    v.raise_if_any()
    return subject, text, contact
