"""The signatory's GTU acceptance page in a real browser (Debian's Chromium) on the real services, in French and
English: the company, the nominee as the request named them, the full text of the version in force with its table of
contents, the link's expiry in Paris time, a box to tick, a printed copy without menus or buttons; its abuse cases (a
voided, forged or used link names nobody, no acceptance without the box, a text changed since the page was shown);
and the public pages of every version. Screenshots under var/screenshots/ (one with print media)."""
from __future__ import annotations

import re

from playwright.async_api import Page
from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from tests.e2e.journeys import referenced_supplier
from tests.e2e.stack import Stack

from gateway import gtu
from gateway.i18n import format_datetime, translate

from .conftest import NewVisitor
from .test_recovery_pages import posted

SECRETS = ("Forges de Lorraine", "Paul", "Durand", "asl.")  # what an invalid link must never show


async def mailed_link(stack: Stack, address: str, count: int) -> str:
    return stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(address, count=count))


async def invalid(page: Page, lang: str) -> None:
    assert await page.locator("h1").inner_text() == translate(lang, "terms.invalid_title")
    shown = await page.locator("main").inner_text()
    assert not [s for s in SECRETS if s in shown] and await page.locator("form, #gtu-text").count() == 0


async def test_the_signatory_reads_the_full_terms_and_accepts_them_with_the_box(stack: Stack,
                                                                              visitors: NewVisitor) -> None:
    root = await referenced_supplier(stack)
    signatory = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    asl = f"asl.{root}@supplier.example".lower()
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    await posted(stack.browser(), "/api/v1/access-requests", {
        "cofor": root, "signatory": {"given_name": signatory.given_name, "family_name": signatory.family_name,
                                     "email": signatory.email, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": asl, **contact}})
    voided = await mailed_link(stack, signatory.email, 1)
    await stack.cofor.ResendTermsAcceptance(cofor_api.ResendTermsAcceptanceRequest(cofor=root))
    token = await mailed_link(stack, signatory.email, 2)  # the first link is void from now on
    described = await stack.cofor.DescribeTermsAcceptance(cofor_api.DescribeTermsAcceptanceRequest(
        acceptance_token=token))
    current = gtu.in_force()
    assert described.terms_version == current.id

    stranger = await visitors("stranger")
    await invalid(await stranger.goto(f"/fr/access/terms?token={voided}"), "fr")
    assert translate("fr", "terms.link.VOIDED") in await stranger.page.locator("main").inner_text()
    await invalid(await stranger.goto(f"/en/access/terms?token={'forged' * 8}"), "en")

    signer = await visitors("signatory")
    page = await signer.goto(f"/fr/access/terms?token={token}")
    assert await page.locator("#terms-company").inner_text() == "Forges de Lorraine"
    assert await page.locator("#terms-cofor").text_content() == f"{root}  01"
    assert await page.locator("#terms-nominee-name").inner_text() == "Paul Durand"
    assert await page.locator("#terms-nominee-email").inner_text() == asl
    expires = await page.locator("#terms-expires").inner_text()
    assert expires == format_datetime(described.expire_time, "fr") and "(heure d’Europe centrale)" in expires
    assert await page.locator("#terms-version").inner_text() == "Version 2026-12 du 1er décembre 2026"
    text = page.locator("#gtu-text")
    assert await text.get_attribute("data-version") == current.id
    assert "Article 14 — Droit applicable et litiges" in await text.inner_text()
    assert await text.locator("script, img, iframe, style").count() == 0  # the Markdown makes no HTML
    toc = page.locator("#gtu-contents a")
    assert await toc.count() == 14
    await toc.nth(6).click()  # the table of contents leads to each article
    assert page.url.endswith("#article-7")
    assert await page.locator("#article-7").inner_text() == "Article 7 — Données personnelles"
    assert await page.locator("#article-7").is_visible()
    assert "imprimez cette page ou enregistrez-la en PDF" in await page.locator("#print-hint").inner_text()

    await page.emulate_media(media="print")  # printed: the text and what it binds, no menus, form or buttons
    await signer.shot("terms-print-fr")
    for hidden in ("header.top", "footer", "#accept-terms", "#print-hint", "button"):
        assert await page.locator(hidden).first.is_hidden(), hidden
    for kept in ("#terms-company", "#terms-nominee-email", "#gtu-contents", "#article-14"):
        assert await page.locator(kept).is_visible(), kept
    await page.emulate_media(media="screen")

    box = page.get_by_label("J'ai lu les conditions générales d'utilisation ci-dessus (version 2026-12)")
    assert await box.get_attribute("required") is not None
    await page.get_by_role("button", name="J'accepte les CGU au nom de la société").click()
    assert await box.evaluate("b => b.validity.valueMissing") and "#article-7" in page.url  # the browser said no
    await box.evaluate("b => b.removeAttribute('required')")  # a form that skips the browser's check: the server
    await signer.submit("J'accepte les CGU au nom de la société")
    assert "Cochez cette case pour accepter les CGU" in await page.locator("#f-accept-error").inner_text()
    assert await page.locator("#f-accept").get_attribute("aria-invalid") == "true"
    assert await page.locator("#error-summary a[href='#f-accept']").count() == 1

    # The page was shown with the earlier text; meanwhile the version in force changed: refused, the new text shown.
    await page.locator("input[name=terms_version]").evaluate("i => i.value = '2026-01'")
    await page.locator("#f-accept").check()
    await signer.submit("J'accepte les CGU au nom de la société")
    assert "ont changé pendant que cette page était ouverte" in await page.locator("#error-summary").inner_text()
    assert await page.locator("#gtu-text").get_attribute("data-version") == current.id
    assert await page.locator("input[name=terms_version]").input_value() == current.id
    assert not await page.locator("#f-accept").is_checked()  # ticked again, for the text now shown

    english = await visitors("signatory-en", locale="en-GB")
    page = await english.goto(f"/en/access/terms?token={token}")
    assert await page.locator("#terms-version").inner_text() == "Version 2026-12 of December 1, 2026"
    assert "(Central European Time)" in await page.locator("#terms-expires").inner_text()
    assert "Article 7 — Personal data" in await page.locator("#gtu-contents").inner_text()
    assert "save it as a PDF" in await page.locator("#print-hint").inner_text()
    await page.emulate_media(media="print")
    await english.shot("terms-print-en")
    await page.emulate_media(media="screen")
    await page.get_by_label("I have read the General Terms of Use above (version 2026-12)").check()
    await english.submit("I accept the GTU for the company")
    assert await page.locator("h1").inner_text() == "Terms accepted"
    await invalid(await english.goto(f"/en/access/terms?token={token}"), "en")  # used: names nobody any more


async def test_anyone_reads_every_version_of_the_terms_in_both_languages(stack: Stack, visitors: NewVisitor) -> None:
    reader = await visitors("reader")
    for lang, past in (("fr", "La version 2026-01 n'est plus en vigueur."),
                       ("en", "Version 2026-01 is no longer in force.")):
        page = await reader.goto(f"/{lang}/")
        async with page.expect_navigation():
            await page.locator("footer").get_by_role("link", name=translate(lang, "footer.terms")).click()
        await reader.shot(f"terms-public-{lang}")
        assert page.url.endswith(f"/{lang}/terms")
        assert await page.locator("#gtu-text").get_attribute("data-version") == gtu.in_force().id
        assert await page.locator("#terms-past").count() == 0 and await page.locator("form#accept-terms").count() == 0
        async with page.expect_navigation():
            await page.locator("#terms-versions").get_by_role("link", name=re.compile("2026-01")).click()
        await reader.shot(f"terms-past-{lang}")
        assert page.url.endswith(f"/{lang}/terms/2026-01")
        assert past in await page.locator("#terms-past").inner_text()
        assert await page.locator("#gtu-contents a").count() == 10
        await page.emulate_media(media="print")
        assert await page.locator("nav[aria-label]").first.is_hidden()  # printed: the text, not the menu
        assert await page.locator("#article-10").is_visible()
        await page.emulate_media(media="screen")
