"""Help & Contact tickets (screenshot, flood control, agents) and the help catalogue."""
from __future__ import annotations

import asyncio
import io
import re

import grpc
import pytest
from PIL import Image, PngImagePlugin
from portal.support.v1 import help_pb2
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import ticket_pb2 as pb

from kit.client import failure_of

from .conftest import SUPPORT_MAILBOX, Support, unique_email


def png(width: int = 64, height: int = 48, *, secret_text: str = "") -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    info = PngImagePlugin.PngInfo()
    if secret_text:
        info.add_text("Comment", secret_text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (80, 60), (10, 120, 10))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def contact(email: str | None = None, language: str = "fr") -> pb.TicketContact:
    return pb.TicketContact(name="Claire Martin", email=email or unique_email(), phone="+33 1 23 45 67 89",
                            company="Forges SA", identifier="V123456", cofor="12345A", language=language)


async def create(support: Support, **kwargs: object) -> pb.Ticket:
    request = api.CreateTicketRequest(category=kwargs.pop("category", pb.TICKET_CATEGORY_LOGIN_PROBLEM),  # type: ignore[arg-type]
                                      subject=kwargs.pop("subject", "Cannot log in"),  # type: ignore[arg-type]
                                      text=kwargs.pop("text", "The login form comes back."),  # type: ignore[arg-type]
                                      contact=kwargs.pop("contact", contact()), **kwargs)  # type: ignore[arg-type]
    return (await support.client.CreateTicket(request)).ticket


async def test_a_ticket_with_screenshot_reaches_the_support_mailbox_and_the_requester_is_acknowledged(
        support: Support) -> None:
    requester = unique_email("requester")
    ticket = await create(support, contact=contact(requester, "en"), screenshot=pb.Screenshot(
        filename="login error.png", content_type="image/png", data=png(secret_text="GPS 48.85,2.35")))
    assert re.fullmatch(r"B2B-\d{4}-\d{6}", ticket.reference) and ticket.status == pb.TICKET_STATUS_NEW
    assert ticket.screenshot.width_px == 64 and ticket.screenshot.content_type == "image/png"
    [to_support] = await support.mails_to(SUPPORT_MAILBOX)
    assert ticket.reference in to_support["Subject"] and to_support["Reply-To"].endswith(f"<{requester}>")
    [attachment] = list(to_support.iter_attachments())
    data = attachment.get_content()
    assert attachment.get_content_type() == "image/png" and b"GPS 48.85" not in data  # metadata stripped
    assert Image.open(io.BytesIO(data)).size == (64, 48)
    [ack] = await support.mails_to(requester)
    assert ticket.reference in ack.get_content() and ack["Content-Language"] == "en"


async def test_jpeg_exif_is_stripped_before_storing(support: Support) -> None:
    ticket = await create(support, screenshot=pb.Screenshot(filename="a.jpg", content_type="image/jpeg",
                                                              data=jpeg_with_exif()))
    [mail] = await support.mails_to(SUPPORT_MAILBOX)
    [attachment] = list(mail.iter_attachments())
    assert b"SecretCameraMaker" not in attachment.get_content() and ticket.screenshot.width_px == 80


@pytest.mark.parametrize("data,content_type,expected", [
    (b"GIF89a" + b"\x00" * 100, "image/gif", "must be a PNG or JPEG image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image/png", "must be a PNG or JPEG image"),  # forged header
    (png()[:-30], "image/png", "must be a PNG or JPEG image"),  # truncated
    (b"\x00" * (5 * 1024 * 1024 + 1), "image/png", "at most 5 MiB"),
])
async def test_anything_but_a_real_bounded_png_or_jpeg_is_refused_and_nothing_is_stored(
        support: Support, data: bytes, content_type: str, expected: str) -> None:
    email = unique_email("bad")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(support, contact=contact(email), screenshot=pb.Screenshot(filename="x", content_type=content_type,
                                                                                 data=data))
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.field_violations[0][0] == "screenshot.data" and expected in failure.field_violations[0][1]
    listed = await support.client.ListTickets(api.ListTicketsRequest(email=email), as_="agent")
    assert not listed.tickets


async def test_a_decompression_bomb_is_refused(support: Support) -> None:
    bomb = Image.new("1", (10_000, 5_000))  # 50 Mpx, a few kB compressed
    out = io.BytesIO()
    bomb.save(out, "PNG")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(support, screenshot=pb.Screenshot(filename="b.png", content_type="image/png",
                                                       data=out.getvalue()))
    assert "pixels" in failure_of(err.value).field_violations[0][1]


async def test_bad_fields_are_all_named(support: Support) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.CreateTicket(api.CreateTicketRequest(
            subject="", text="", contact=pb.TicketContact(name="", email="nope", phone="x", company="",
                                                          language="de")))
    fields = {f for f, _ in failure_of(err.value).field_violations}
    assert fields == {"category", "subject", "text", "contact.name", "contact.email", "contact.phone",
                      "contact.company", "contact.language"}


async def test_flood_control_limits_open_tickets_per_email(support: Support) -> None:
    email = unique_email("flood")
    for _ in range(5):
        await create(support, contact=contact(email))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(support, contact=contact(email))
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED and failure.reason == "TOO_MANY_OPEN_TICKETS"


async def test_unknown_cofor_form_is_a_ticket_of_its_category(support: Support) -> None:
    ticket = await create(support, category=pb.TICKET_CATEGORY_UNKNOWN_COFOR, subject="I don't know our COFOR",
                          text="Company Forges SA, D-U-N-S 123456789")
    assert ticket.category == pb.TICKET_CATEGORY_UNKNOWN_COFOR


async def test_references_are_unique_under_concurrency(support: Support) -> None:
    tickets = await asyncio.gather(*(create(support) for _ in range(10)))
    assert len({t.reference for t in tickets}) == 10


async def test_agents_move_tickets_along_allowed_transitions_and_reply_by_mail(support: Support) -> None:
    requester = unique_email("agent-flow")
    ticket = await create(support, contact=contact(requester))
    ref = ticket.reference
    for status in (pb.TICKET_STATUS_IN_PROGRESS, pb.TICKET_STATUS_WAITING_ON_REQUESTER, pb.TICKET_STATUS_IN_PROGRESS,
                   pb.TICKET_STATUS_RESOLVED):
        ticket = (await support.client.UpdateTicketStatus(api.UpdateTicketStatusRequest(
            reference=ref, status=status, author="Agent Smith", note="step"), as_="agent")).ticket
        assert ticket.status == status
    assert [c.status for c in ticket.status_changes][-1] == pb.TICKET_STATUS_RESOLVED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.UpdateTicketStatus(api.UpdateTicketStatusRequest(
            reference=ref, status=pb.TICKET_STATUS_NEW), as_="agent")
    failure = failure_of(err.value)
    assert failure.reason == "INVALID_STATUS_TRANSITION" and failure.metadata == {"from": "RESOLVED", "to": "NEW"}
    reply = await support.client.AddReply(api.AddReplyRequest(reference=ref, author="Agent Smith",
                                                              text="Your account is unlocked."), as_="agent")
    assert reply.ticket.replies[0].text == "Your account is unlocked."
    mails = await support.mails_to(requester, count=2)
    assert any("Your account is unlocked." in m.get_content() for m in mails)
    await support.client.UpdateTicketStatus(api.UpdateTicketStatusRequest(reference=ref,
                                                                          status=pb.TICKET_STATUS_CLOSED), as_="agent")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.AddReply(api.AddReplyRequest(reference=ref, author="A", text="late"), as_="agent")
    assert failure_of(err.value).reason == "TICKET_CLOSED"


async def test_only_agents_read_and_work_tickets(support: Support) -> None:
    ticket = await create(support)
    for caller in ("gateway", "erp", ""):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await support.client.GetTicket(api.GetTicketRequest(reference=ticket.reference), as_=caller)
        assert err.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
    found = await support.client.GetTicket(api.GetTicketRequest(reference=ticket.reference.lower()), as_="agent")
    assert found.ticket.reference == ticket.reference
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.GetTicket(api.GetTicketRequest(reference="B2B-1999-000000"), as_="agent")
    assert failure_of(err.value).reason == "TICKET_NOT_FOUND"


async def test_help_catalogue_in_both_languages(support: Support) -> None:
    for language in ("fr", "en"):
        topics = (await support.client.ListHelpTopics(api.ListHelpTopicsRequest(language=language))).topics
        ids = [t.id for t in topics]
        assert ids[0] == "site-map" and {"present-your-company", "get-access", "log-in", "change-password",
                                         "administrator-role", "blocked-access"} <= set(ids)
        assert sum(t.section == help_pb2.HELP_SECTION_FAQ for t in topics) >= 8
        article = (await support.client.GetHelpArticle(api.GetHelpArticleRequest(
            id="change-password", language=language))).article
        assert "15" in article.body and article.related_topic_ids and "<" not in article.body
    guides = await support.client.ListHelpTopics(api.ListHelpTopicsRequest(language="en",
                                                                           section=help_pb2.HELP_SECTION_GUIDE))
    assert all(t.section == help_pb2.HELP_SECTION_GUIDE for t in guides.topics)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.GetHelpArticle(api.GetHelpArticleRequest(id="nope", language="fr"))
    assert failure_of(err.value).reason == "HELP_ARTICLE_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await support.client.ListHelpTopics(api.ListHelpTopicsRequest(language="de"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def portalctl(support: Support, *args: str) -> tuple[int, str, str]:
    import os
    import sys
    env = {**os.environ, "SUPPORT_TARGET": support.app.target, "PORTAL_OPERATOR_TOKEN": "agent-secret"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", "support", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_agents_work_tickets_from_the_command_line(support: Support) -> None:
    requester = unique_email("cli")
    ticket = await create(support, contact=contact(requester))
    code, out, _ = await portalctl(support, "tickets", "--status", "NEW", "--email", requester)
    assert code == 0 and ticket.reference in out
    code, out, _ = await portalctl(support, "status", ticket.reference, "IN_PROGRESS", "--author", "Ann")
    assert code == 0 and out == f"{ticket.reference} is now in progress\n"
    code, _, _ = await portalctl(support, "reply", ticket.reference, "--author", "Ann", "--text", "Fixed now.")
    assert code == 0
    code, out, _ = await portalctl(support, "ticket", ticket.reference)
    assert code == 0 and "Fixed now." in out
    code, _, err = await portalctl(support, "status", ticket.reference, "NEW")
    assert code == 1 and "INVALID_STATUS_TRANSITION" in err
