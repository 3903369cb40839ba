"""Support-agent commands: Help & Contact tickets."""
from __future__ import annotations

import argparse
from typing import Any

from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc as api_grpc
from portal.support.v1 import ticket_pb2 as pb

from kit.validation import enum_value

from portalctl.connection import call, show

STATUSES = ["NEW", "IN_PROGRESS", "WAITING_ON_REQUESTER", "RESOLVED", "CLOSED"]
CATEGORIES = ["UNKNOWN_COFOR", "ACCESS_REQUEST", "LOGIN_PROBLEM", "BLOCKED_ACCOUNT", "COMPANY_PRESENTATION", "OTHER"]


async def _support(method: str, request: Any) -> Any:
    return await call("support", api_grpc.SupportServiceStub, method, request)


async def tickets(args: argparse.Namespace) -> None:
    token = ""
    status = enum_value(pb.TicketStatus, "TICKET_STATUS_", args.status)
    category = enum_value(pb.TicketCategory, "TICKET_CATEGORY_", args.category)
    while True:
        page = await _support("ListTickets", api.ListTicketsRequest(status=status, category=category,
                                                                     email=args.email or "", page_size=200,
                                                                     page_token=token))
        for t in page.tickets:
            print(f"{t.reference}  {pb.TicketStatus.Name(t.status).removeprefix('TICKET_STATUS_'):<20}  "
                  f"{pb.TicketCategory.Name(t.category).removeprefix('TICKET_CATEGORY_'):<20}  "
                  f"{t.contact.email}  {t.subject}")
        token = page.next_page_token
        if not token:
            return


async def ticket(args: argparse.Namespace) -> None:
    show((await _support("GetTicket", api.GetTicketRequest(reference=args.reference))).ticket)


async def status(args: argparse.Namespace) -> None:
    t = (await _support("UpdateTicketStatus", api.UpdateTicketStatusRequest(
        reference=args.reference, status=pb.TicketStatus.Value(f"TICKET_STATUS_{args.status}"),
        note=args.note or "", author=args.author or ""))).ticket
    print(f"{t.reference} is now {pb.TicketStatus.Name(t.status).removeprefix('TICKET_STATUS_')}")


async def reply(args: argparse.Namespace) -> None:
    await _support("AddReply", api.AddReplyRequest(reference=args.reference, author=args.author, text=args.text))
    print("reply added and mailed to the requester")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    support = commands.add_parser("support", help="Help & Contact tickets (support agents)")
    sub = support.add_subparsers(dest="action", required=True)
    p = sub.add_parser("tickets", help="list tickets, newest first")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--category", choices=CATEGORIES)
    p.add_argument("--email")
    p.set_defaults(run=tickets)
    p = sub.add_parser("ticket", help="show one ticket")
    p.add_argument("reference")
    p.set_defaults(run=ticket)
    p = sub.add_parser("status", help="move a ticket to another status")
    p.add_argument("reference")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--note")
    p.add_argument("--author")
    p.set_defaults(run=status)
    p = sub.add_parser("reply", help="reply to the requester (by mail)")
    p.add_argument("reference")
    p.add_argument("--author", required=True)
    p.add_argument("--text", required=True)
    p.set_defaults(run=reply)
