"""SupportService over gRPC: checks the caller, translates proto ⇄ use-case calls."""
from __future__ import annotations

import re

import grpc
from portal.support.v1 import help_pb2
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc as api_grpc
from portal.support.v1 import ticket_pb2 as pb

from kit.auth import (
    PRINCIPAL_COFOR_ROOT_KEY,
    PRINCIPAL_IDENTIFIER_KEY,
    Ctx,
    ServiceCaller,
    ServiceCredentials,
    client_address,
    metadata_of,
    require_service,
)
from kit.clock import to_timestamp
from kit.errors import FieldViolation, InvalidArgument
from kit.grpc_server import Registrar
from kit.validation import enum_name, language_of

from support.domain.tickets import Contact, Requester, Ticket
from support.service_layer.help_catalogue import Article, HelpCatalogue
from support.service_layer.intake import NewTicket, TicketIntake
from support.service_layer.tickets import Tickets

ANY = ("public", "purchasing", "internal", "support")
AGENTS = ("support",)
SERVICE_NAME = api.DESCRIPTOR.services_by_name["SupportService"].full_name
_IDENTIFIER = re.compile(r"V[0-9]{6}")
_COFOR_ROOT = re.compile(r"[0-9A-Z]{6}")


def ticket_message(t: Ticket) -> pb.Ticket:
    message = pb.Ticket(
        reference=t.reference, category=pb.TicketCategory.Value(f"TICKET_CATEGORY_{t.category.value}"),
        status=pb.TicketStatus.Value(f"TICKET_STATUS_{t.status.value}"), subject=t.subject, text=t.text,
        contact=pb.TicketContact(name=t.contact.name, email=t.contact.email, phone=t.contact.phone,
                                 company=t.contact.company, identifier=t.contact.identifier, cofor=t.contact.cofor,
                                 language=t.contact.language),
        replies=[pb.TicketReply(reply_id=r.id, author=r.author, text=r.text, create_time=to_timestamp(r.created_at))
                 for r in t.replies],
        status_changes=[pb.TicketStatusChange(
            previous_status=pb.TicketStatus.Value(f"TICKET_STATUS_{c.previous_status.value}"),
            status=pb.TicketStatus.Value(f"TICKET_STATUS_{c.status.value}"), note=c.note, author=c.author,
            change_time=to_timestamp(c.changed_at)) for c in t.status_changes],
        create_time=to_timestamp(t.created_at), update_time=to_timestamp(t.updated_at),
        identity_proven=t.identity_proven)
    if t.screenshot:
        s = t.screenshot
        message.screenshot.CopyFrom(pb.ScreenshotInfo(filename=s.filename, content_type=s.content_type,
                                                      size_bytes=s.size, width_px=s.width, height_px=s.height))
    return message


def requester_of(caller: ServiceCaller, context: Ctx) -> Requester:
    if "public" not in caller.roles:
        return Requester()  # internal callers act for nobody in particular: no client limit, nothing proven
    metadata = metadata_of(context)
    identifier = metadata.get(PRINCIPAL_IDENTIFIER_KEY, "")
    cofor_root = metadata.get(PRINCIPAL_COFOR_ROOT_KEY, "")
    if not (_IDENTIFIER.fullmatch(identifier) and _COFOR_ROOT.fullmatch(cofor_root)):
        identifier = cofor_root = ""  # a malformed vouch proves nothing
    return Requester(client_address(context), identifier, cofor_root)


def _language(value: str) -> str:
    language = language_of(value)
    if language is None:
        raise InvalidArgument([FieldViolation("language", "must be fr or en")])
    return language


def _topic(a: Article) -> help_pb2.HelpTopic:
    return help_pb2.HelpTopic(id=a.id, language=a.language, title=a.title, summary=a.summary,
                              section=help_pb2.HelpSection.Value(f"HELP_SECTION_{a.section}"))


class SupportServicer(api_grpc.SupportServiceServicer):
    def __init__(self, tickets: Tickets, intake: TicketIntake, catalogue: HelpCatalogue,
                 credentials: ServiceCredentials) -> None:
        self.tickets = tickets
        self.intake = intake
        self.catalogue = catalogue
        self.credentials = credentials

    async def CreateTicket(self, request: api.CreateTicketRequest, context: Ctx) -> api.CreateTicketResponse:
        caller = require_service(self.credentials, context, ANY)
        c = request.contact
        shot = None
        if request.HasField("screenshot") and request.screenshot.data:
            shot = (request.screenshot.filename, request.screenshot.content_type, request.screenshot.data)
        category = enum_name(pb.TicketCategory, request.category, "TICKET_CATEGORY_", "category")
        ticket = await self.intake.create(NewTicket(
            category=category, subject=request.subject, text=request.text,
            contact=Contact(c.name, c.email, c.phone, c.company, c.identifier, c.cofor, c.language),
            screenshot=shot, request_id=request.request_id), requester_of(caller, context))
        return api.CreateTicketResponse(ticket=ticket_message(ticket))

    async def ListTickets(self, request: api.ListTicketsRequest, context: Ctx) -> api.ListTicketsResponse:
        require_service(self.credentials, context, AGENTS)
        found, token = await self.tickets.list(
            enum_name(pb.TicketStatus, request.status, "TICKET_STATUS_", "status"),
            enum_name(pb.TicketCategory, request.category, "TICKET_CATEGORY_", "category"),
            request.email, request.page_size, request.page_token)
        return api.ListTicketsResponse(tickets=[ticket_message(t) for t in found], next_page_token=token)

    async def GetTicket(self, request: api.GetTicketRequest, context: Ctx) -> api.GetTicketResponse:
        require_service(self.credentials, context, AGENTS)
        return api.GetTicketResponse(ticket=ticket_message(await self.tickets.get(request.reference)))

    async def UpdateTicketStatus(self, request: api.UpdateTicketStatusRequest,
                                 context: Ctx) -> api.UpdateTicketStatusResponse:
        require_service(self.credentials, context, AGENTS)
        status = enum_name(pb.TicketStatus, request.status, "TICKET_STATUS_", "status")
        ticket = await self.tickets.update_status(request.reference, status, request.note, request.author)
        return api.UpdateTicketStatusResponse(ticket=ticket_message(ticket))

    async def AddReply(self, request: api.AddReplyRequest, context: Ctx) -> api.AddReplyResponse:
        require_service(self.credentials, context, AGENTS)
        ticket = await self.tickets.add_reply(request.reference, request.author, request.text, request.request_id)
        return api.AddReplyResponse(ticket=ticket_message(ticket))

    async def ListHelpTopics(self, request: api.ListHelpTopicsRequest, context: Ctx) -> api.ListHelpTopicsResponse:
        require_service(self.credentials, context, ANY)
        section = enum_name(help_pb2.HelpSection, request.section, "HELP_SECTION_", "section")
        topics = self.catalogue.topics(_language(request.language), section)
        return api.ListHelpTopicsResponse(topics=[_topic(a) for a in topics])

    async def GetHelpArticle(self, request: api.GetHelpArticleRequest, context: Ctx) -> api.GetHelpArticleResponse:
        require_service(self.credentials, context, ANY)
        a = self.catalogue.article(request.id, _language(request.language))
        return api.GetHelpArticleResponse(article=help_pb2.HelpArticle(
            id=a.id, language=a.language, title=a.title, summary=a.summary,
            section=help_pb2.HelpSection.Value(f"HELP_SECTION_{a.section}"), body=a.body,
            related_topic_ids=list(a.related), update_time=to_timestamp(a.updated)))


def registrar(servicer: SupportServicer) -> Registrar:
    def register(server: grpc.aio.Server) -> None:
        api_grpc.add_SupportServiceServicer_to_server(servicer, server)
    return register
