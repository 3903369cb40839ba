"""The development mailbox (/dev/mailbox, mounted only in development) in a real browser (Debian's Chromium), on the
real services with real mails: the list, newest first, filtered by recipient; a mail's page with its headers, its
text's web addresses as links, its attachments with their sizes; French and English.

Abuse: what a mail says is attacker-controlled (a supplier's ticket reaches the support mailbox word for word;
anyone on the machine may talk to the sink). A <script>, an event handler or a javascript: address in a subject,
a text or an HTML part never runs and never becomes a link. Every page visited is saved under var/screenshots/."""
from __future__ import annotations

import asyncio
import io
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page

from tests.e2e.stack import Stack

from .conftest import NewVisitor

SUPPORT = "support@b2b-portal.example"
HELP_URL = "https://portal.test/fr/help?topic=log-in&x=1"
TICKET_TEXT = (f"Bonjour,\n<script>window.pwned = 'text'</script>\nVoir {HELP_URL}, puis "
               "javascript:window.pwned='link' et <a href=\"javascript:window.pwned='a'\">ceci</a>.\nMerci")
CRAFTED_SUBJECT = "<img src=x onerror=\"window.pwned='subject'\"> facture"
CRAFTED_HTML = ("<html><body><script>window.pwned='html'</script><a href=\"javascript:window.pwned='html-a'\">"
                "clic</a><iframe src=\"https://evil.example/\"></iframe></body></html>")
ATTACHED = b"<script>window.pwned='file'</script>"


def png() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(image, "PNG")
    return image.getvalue()


def send_crafted(stack: Stack, to: str) -> None:
    """A mail straight to the sink (anyone on the machine can): text, HTML part and a file, each with a lure."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "\"<b>Evil</b>\" <evil@attacker.example>", to, \
        CRAFTED_SUBJECT
    message.set_content("javascript:window.pwned='plain' and data:text/html,<script>alert(1)</script>\n")
    message.add_alternative(CRAFTED_HTML, subtype="html")
    message.add_attachment(ATTACHED, maintype="text", subtype="html",
                           filename="<b>page</b>.html")
    with smtplib.SMTP(stack.sink.host, stack.sink.port, timeout=10) as smtp:
        smtp.send_message(message)


async def nothing_ran(page: Page) -> None:
    """No lure ran, became a link, a frame or an element; the only script is the site's own."""
    assert await page.evaluate("() => window.pwned") is None
    assert await page.locator("a[href^='javascript' i], a[href^='data' i]").count() == 0
    assert await page.locator("iframe, img, b, object, embed").count() == 0
    scripts = await page.locator("script").evaluate_all("(all) => all.map(s => s.getAttribute('src'))")
    assert scripts == ["/static/portal-passkeys.js"]


async def test_the_mailbox_lists_filters_and_opens_mails_and_runs_nothing_they_say(
        stack: Stack, visitors: NewVisitor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))  # the stack's sink stores its mails in tmp_path/mail
    requester = f"ann.{uuid.uuid4().hex[:8]}@supplier.example"
    shot = png()
    reply = await stack.browser().post("/api/v1/tickets", data={
        "category": "LOGIN_PROBLEM", "subject": "<script>window.pwned='ticket'</script> Connexion impossible",
        "text": TICKET_TEXT, "name": "Ann <i>Lee</i>", "email": requester, "phone": "+33 1 23 45 67 89",
        "company": "Forges SA", "language": "fr"}, files={"screenshot": ("écran.png", shot, "image/png")})
    assert reply.status_code == 200, reply.text
    reference = reply.json()["ticket"]["reference"]
    await stack.mail(SUPPORT)
    await stack.mail(requester)
    lure = f"lure.{uuid.uuid4().hex[:8]}@attacker.example"
    await asyncio.to_thread(send_crafted, stack, lure)
    await stack.mail(lure)

    visitor = await visitors("dev")
    dialogs: list[str] = []
    visitor.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page = await visitor.goto("/dev/mailbox")
    assert await page.locator("h1").inner_text() == "Boîte aux lettres de développement"
    rows = page.locator("#mails tbody tr")
    assert await rows.count() == 3
    ids = await rows.evaluate_all("(all) => all.map(r => r.dataset.mail)")
    assert ids == sorted(ids, reverse=True)  # newest first
    assert await rows.nth(0).locator(".mail-to").inner_text() == lure  # the last one received
    assert await rows.nth(0).locator(".mail-subject a").inner_text() == CRAFTED_SUBJECT  # shown, as text
    assert await rows.nth(0).locator(".mail-time").inner_text() != ""
    await nothing_ran(page)

    # The filter: part of an address, any case, in the query (a link one can share).
    await page.get_by_label("Destinataire").fill("SUPPORT@B2B-portal")
    await visitor.submit("Filtrer")
    assert "to=SUPPORT%40B2B-portal" in page.url
    assert await rows.count() == 1 and await rows.nth(0).locator(".mail-to").inner_text() == SUPPORT
    assert await page.locator("#mailbox-count").inner_text() == "E-mails : 1"

    # The support mail: what the supplier typed is text; the one web address is a link, javascript: is not.
    async with page.expect_navigation():
        await rows.nth(0).get_by_role("link").click()
    await visitor.shot("support-mail")
    assert reference in await page.locator("#mail-subject").inner_text()
    assert "<script>window.pwned='ticket'</script>" in await page.locator("#mail-subject").inner_text()
    assert await page.locator("#mail-headers [data-header='To']").inner_text() == SUPPORT
    text = page.locator("#mail-text")
    assert "<script>window.pwned = 'text'</script>" in await text.inner_text()
    assert "javascript:window.pwned='link'" in await text.inner_text()
    assert await text.locator("a").evaluate_all("(all) => all.map(a => a.getAttribute('href'))") == [HELP_URL]
    assert await text.get_by_role("link", name=HELP_URL).get_attribute("rel") == "noreferrer noopener"
    attachments = await page.locator("#mail-attachments li").all_inner_texts()
    assert attachments == [f"écran.png — image/png, {len(shot)} octets"]
    await nothing_ran(page)

    # The crafted mail: its HTML part only as source, folded; its file only named.
    await page.goto(f"{visitor.base}/dev/mailbox/{ids[0]}")
    await visitor.shot("crafted-mail")
    assert await page.locator("#mail-subject").inner_text() == CRAFTED_SUBJECT
    assert not await page.locator("#mail-html").is_visible()
    await page.get_by_text("Afficher la source HTML").click()
    assert (await page.locator("#mail-html").inner_text()).strip() == CRAFTED_HTML
    await visitor.shot("html-source")
    assert await page.locator("#mail-attachments li").all_inner_texts() == [
        f"<b>page</b>.html — text/html, {len(ATTACHED)} octets"]
    assert "javascript:window.pwned='plain'" in await page.locator("#mail-text").inner_text()
    await nothing_ran(page)
    assert dialogs == []

    # No file outside the sink's folder, whatever the address says.
    for bad in ("..%2F..%2Fetc%2Fpasswd", "20990101T000000-000001", "x" * 300):
        answer = await page.goto(f"{visitor.base}/dev/mailbox/{bad}")
        assert answer is not None and answer.status == 404
        assert await page.locator("#mail-headers").count() == 0 and "root:" not in await page.content()
    assert "Cet e-mail n'existe pas (ou plus)." in await page.locator("main").inner_text()


async def test_the_mailbox_speaks_english(stack: Stack, visitors: NewVisitor, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    lure = f"lure.{uuid.uuid4().hex[:8]}@attacker.example"
    await asyncio.to_thread(send_crafted, stack, lure)
    await stack.mail(lure)
    visitor = await visitors("dev-en", locale="en-GB")
    page = await visitor.goto("/dev/mailbox")  # the browser's language
    assert await page.locator("h1").inner_text() == "Development mailbox"
    assert await page.locator("#mails thead th").all_inner_texts() == ["Received", "To", "Subject"]
    async with page.expect_navigation():
        await page.get_by_role("link", name=CRAFTED_SUBJECT).click()
    await visitor.shot("mail-en")
    assert page.url.endswith("?ui_locales=en")
    for heading in ("Text", "HTML part", "Attachments"):
        assert await page.get_by_role("heading", name=heading).count() == 1
    await nothing_ran(page)
    page = await visitor.goto("/dev/mailbox?ui_locales=fr")  # the language switch's way
    assert await page.locator("h1").inner_text() == "Boîte aux lettres de développement"
    await page.get_by_role("link", name="Read this page in English").click()
    await page.wait_for_url("**ui_locales=en")
    assert await page.locator("h1").inner_text() == "Development mailbox"
