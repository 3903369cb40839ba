"""The portal's help pages in a real browser (Debian's Chromium), on the real services with real mails: Help & Contact
with a screenshot, and the English switch with the help pages. Every page visited is saved under var/screenshots/."""
from __future__ import annotations

import re
import struct
import zlib

from playwright.async_api import FilePayload

from tests.e2e.stack import Stack

from .conftest import NewVisitor


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([0, 90, 200]) * 40 for _ in range(30))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_help_and_contact_with_a_screenshot_shows_the_reference(stack: Stack, visitors: NewVisitor) -> None:
    visitor = await visitors("visitor")
    page = await visitor.goto("/fr/access")
    await page.get_by_role("link", name="Je ne connais pas le COFOR de ma société").click()
    await page.wait_for_url("**/fr/contact?category=UNKNOWN_COFOR")
    await visitor.shot()
    assert await page.get_by_label("Catégorie").input_value() == "UNKNOWN_COFOR"
    await page.get_by_label("Objet").fill("Quel est notre COFOR ?")
    await page.get_by_label("Votre demande").fill("Nous livrons l'usine de Sochaux depuis 2019.")
    await page.get_by_label("Nom et prénom").fill("Ann Lee")
    await page.get_by_label("Adresse e-mail").fill("ann.lee@supplier.example")
    await page.get_by_label("Téléphone").fill("+33 1 23 45 67 89")
    await page.get_by_label("Société").fill("Forges SA")
    await page.get_by_label("Capture d'écran").set_input_files(
        files=[FilePayload(name="error.png", mimeType="image/png", buffer=tiny_png())])
    await visitor.submit("Envoyer la demande")
    reference = await page.locator(".reference").inner_text()
    assert re.fullmatch(r"B2B-\d{4}-\d{6}", reference)
    to_support = await stack.mail("support@b2b-portal.example")
    assert reference in to_support["Subject"]
    assert [a.get_content_type() for a in to_support.iter_attachments()] == ["image/png"]


async def test_the_english_switch_and_the_help_pages(stack: Stack, visitors: NewVisitor) -> None:
    visitor = await visitors("visitor")
    problems: list[str] = []
    visitor.page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await visitor.page.goto(visitor.base + "/")
    page = visitor.page
    assert page.url.endswith("/fr/") and await page.locator("html").get_attribute("lang") == "fr"
    await visitor.shot("root")
    await page.keyboard.press("Tab")  # the first stop is the skip link
    assert await page.evaluate("document.activeElement.className") == "skip"
    assert await page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") \
        == "rgb(11, 37, 64)"  # the stylesheet loads under the strict CSP
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url("**/en/")
    await visitor.shot()
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.locator("h1").inner_text() == "B2B Supplier Portal"
    await page.get_by_role("navigation").get_by_role("link", name="Log in").click()
    await page.wait_for_url("**/en/login")
    await visitor.shot()
    await page.get_by_role("link", name="Français").click()
    await page.wait_for_url("**/fr/login")
    assert await page.locator("html").get_attribute("lang") == "fr"
    assert await page.locator("h1").inner_text() == "Connexion"
    await visitor.shot()

    page = await visitor.goto("/en/help")
    await page.get_by_role("link", name="Log in", exact=True).last.click()
    await page.wait_for_url("**/en/help/log-in")
    await visitor.shot()
    body = page.locator(".article-body")
    assert await body.locator("h2").count() >= 2 and await body.locator("li").count() >= 2
    assert await body.locator('a[href="/en/login"]').count() >= 1
    await page.get_by_role("link", name="Français").click()
    await page.wait_for_url("**/fr/help/log-in")
    await visitor.shot()
    assert await page.locator(".article-body strong").count() >= 1
    for path in ("/fr/blocked", "/en/recover/password", "/en/about"):
        page = await visitor.goto(path)
        assert await page.locator("h1").count() == 1
    assert not problems, problems
