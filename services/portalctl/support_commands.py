"""Support-agent commands (``portalctl support ...``): Help & Contact tickets."""
from __future__ import annotations

from typing import Any

import click
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc as api_grpc
from portal.support.v1 import ticket_pb2 as pb

from kit.validation import enum_value

from portalctl.cli import Words, command, group
from portalctl.connection import agent_name, call, pages
from portalctl.output import done, enum_words, show, table, when

support_group = group("support", "Help & Contact tickets (support agents).")
STATUSES = ["NEW", "IN_PROGRESS", "WAITING_ON_REQUESTER", "RESOLVED", "CLOSED"]
CATEGORIES = ["UNKNOWN_COFOR", "ACCESS_REQUEST", "LOGIN_PROBLEM", "BLOCKED_ACCOUNT", "COMPANY_PRESENTATION", "OTHER"]
REFERENCE = click.argument("reference", help="The ticket's reference (B2B-2026-000123).")
AUTHOR = click.option("--author", metavar="NAME", help="Your name as the requester sees it (default: $PORTAL_AGENT, "
                                                       "else your login).")


async def _support(method: str, request: Any) -> Any:
    return await call("support", api_grpc.SupportServiceStub, method, request)


@command(support_group, "tickets", "portalctl support tickets --status new --category blocked-account")
@click.option("--status", type=Words(STATUSES), metavar="STATUS",
              help=f"Only the tickets with this status: {Words(STATUSES).listed()} (any case).")
@click.option("--category", type=Words(CATEGORIES), metavar="CATEGORY",
              help=f"Only the tickets of this category: {Words(CATEGORIES).listed()} (any case).")
@click.option("--email", default="", help="Only the tickets of this requester's e-mail address.")
async def tickets(status: str | None, category: str | None, email: str) -> None:
    """List tickets, newest first: reference, status, category, creation, requester, subject."""
    request = api.ListTicketsRequest(status=enum_value(pb.TicketStatus, "TICKET_STATUS_", status or ""),
                                     category=enum_value(pb.TicketCategory, "TICKET_CATEGORY_", category or ""),
                                     email=email, page_size=200)
    table(await pages(lambda r: _support("ListTickets", r), request, "tickets"), [
        ("reference", lambda t: t.reference), ("status", lambda t: enum_words(t, "status")),
        ("category", lambda t: enum_words(t, "category")), ("created", lambda t: when(t.create_time)),
        ("e-mail", lambda t: t.contact.email), ("subject", lambda t: t.subject)])


@command(support_group, "ticket", "portalctl support ticket B2B-2026-000001")
@REFERENCE
async def ticket(reference: str) -> None:
    """Show one ticket: requester, text, screenshot, replies and status history."""
    show((await _support("GetTicket", api.GetTicketRequest(reference=reference))).ticket)


@command(support_group, "status", 'portalctl support status B2B-2026-000001 in-progress --note "looking"')
@REFERENCE
@click.argument("status", type=Words(STATUSES), metavar="STATUS",
                help="The new status, in any case: new → in-progress → waiting-on-requester → resolved → closed; "
                     "back to in-progress from waiting or resolved.")
@click.option("--note", default="", help="An internal note (not mailed to the requester).")
@AUTHOR
async def status(reference: str, status: str, note: str, author: str | None) -> None:
    """Move a ticket to another status."""
    t = (await _support("UpdateTicketStatus", api.UpdateTicketStatusRequest(
        reference=reference, status=pb.TicketStatus.Value(f"TICKET_STATUS_{status}"), note=note,
        author=agent_name(author)))).ticket
    done(t, f"{t.reference} is now {enum_words(t, 'status')}")


@command(support_group, "reply", 'portalctl support reply B2B-2026-000001 --text "Your account is unlocked."')
@REFERENCE
@click.option("--text", required=True, help="The reply (plain text), mailed to the requester.")
@AUTHOR
async def reply(reference: str, text: str, author: str | None) -> None:
    """Reply to the requester: the reply is added to the ticket and mailed."""
    t = (await _support("AddReply", api.AddReplyRequest(reference=reference, author=agent_name(author),
                                                        text=text))).ticket
    done(t, f"reply added to {t.reference} and mailed to the requester")
