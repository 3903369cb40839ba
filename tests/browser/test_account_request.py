""""Ask my company's ASL for an account" in a real browser (Debian's Chromium), in French and English, on the real
services with real mails (issue 16): a newcomer without a V-identifier reaches it from the access analysis (access
open) or from the login page; the ASL's mail arrives with the requester's details, the warning that nobody verified
them and the typed web address defused; the requester gets one acknowledgement quoting nothing; an unknown COFOR gets
the very same page and the same acknowledgement. Every page visited is saved under var/screenshots/."""
from __future__ import annotations

import asyncio

import pytest

from tests.e2e.journeys import onboarded_company
from tests.e2e.stack import Stack

from .conftest import NewVisitor, Visitor

TEXTS = {  # the page's words in each language
    "fr": dict(locale="fr-FR", link="Demander un compte à l'ASL de ma société", cofor="COFOR (code fournisseur)",
               given="Prénom", family="Nom", email="Adresse e-mail professionnelle", title="Fonction",
               message="Message pour l'ASL", send="Envoyer ma demande à l'ASL", done="Demande envoyée",
               no_account="Pas encore de compte ? Demandez-en un à l'ASL de votre société",
               ack="votre demande de compte", ack_said="le seul que vous recevrez"),
    "en": dict(locale="en-GB", link="Ask my company's ASL for an account", cofor="COFOR (supplier code)",
               given="Given name", family="Family name", email="Work e-mail address", title="Job title",
               message="Message to the ASL", send="Send my request to the ASL", done="Request sent",
               no_account="No account yet? Ask your company's ASL for one", ack="your request for an account",
               ack_said="only message"),
}


async def fill_and_send(visitor: Visitor, words: dict[str, str], cofor: str | None, email: str) -> tuple[str, str]:
    """The form filled in as a newcomer would, sent; returns the answer page's title and text."""
    page = visitor.page
    if cofor is not None:
        await page.get_by_label(words["cofor"]).fill(cofor)
    await page.get_by_label(words["given"]).fill("Nina")
    await page.get_by_label(words["family"], exact=True).fill("Nouvelle")
    await page.get_by_label(words["email"]).fill(email)
    await page.get_by_label(words["title"]).fill("Acheteuse projets")
    await page.get_by_label(words["message"]).fill("Bonjour, j'arrive aux achats.\nMon badge : https://evil.example/x")
    await visitor.submit(words["send"])
    return await page.locator("h1").inner_text(), await page.get_by_role("status").inner_text()


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_newcomer_asks_the_asl_for_an_account_and_an_unknown_cofor_gets_the_same_page(
        stack: Stack, visitors: NewVisitor, lang: str) -> None:
    words = TEXTS[lang]
    root, asl = await onboarded_company(stack)
    newcomer = await visitors("newcomer", locale=words["locale"])
    if lang == "fr":  # from the access analysis: the access is open, the page names the ASL and offers the form
        page = await newcomer.goto(f"/fr/access?cofor={root}")
        assert await page.locator("[data-outcome]").get_attribute("data-outcome") == "ACCESS_OPEN"
        await page.get_by_role("link", name=words["link"]).click()
    else:  # from the login page
        page = await newcomer.goto(f"/{lang}/login")
        await page.get_by_role("link", name=words["no_account"]).click()
    await page.wait_for_load_state()
    await newcomer.shot()
    assert page.url.split("?")[0].endswith(f"/{lang}/account-request")
    if lang == "fr":
        assert (await page.get_by_label(words["cofor"]).input_value()).startswith(root)  # from the analysis
    email = f"nina.{lang}.{root}@supplier.example".lower()
    answered = await fill_and_send(newcomer, words, None if lang == "fr" else root, email)
    assert answered[0] == words["done"]

    to_asl = await stack.mail(asl.email, subject_part="demande de compte")  # the ASL reads French
    text = to_asl.get_content()
    assert "n'a PAS vérifié" in text and "Nina Nouvelle" in text and "Acheteuse projets" in text and email in text
    assert "> Mon badge : https[:]//evil[.]example/x" in text and "https://evil.example" not in text
    assert [a.addr_spec for a in to_asl["Reply-To"].addresses] == [email]
    acknowledgement = await stack.mail(email, subject_part=words["ack"])
    assert words["ack_said"] in acknowledgement.get_content()
    for typed in ("Nina", "Nouvelle", "Acheteuse", "badge", "evil", root, asl.email):
        assert typed not in acknowledgement.as_string()  # nothing typed, nothing about the company or its ASL

    stranger = await visitors("unknown-cofor", locale=words["locale"])
    await stranger.goto(f"/{lang}/account-request")
    unknown_email = f"nina.unknown.{lang}.{root}@supplier.example".lower()
    assert await fill_and_send(stranger, words, "ZZZZ99", unknown_email) == answered  # the same page, word for word
    unknown_ack = await stack.mail(unknown_email, subject_part=words["ack"])
    assert unknown_ack.get_content() == acknowledgement.get_content()
    await asyncio.sleep(1)  # the unknown COFOR's request reaches nobody else: still one mail to the ASL
    assert len([m for m in stack.sink.received if asl.email in m.rcpt_tos
                and "demande de compte" in str(m.message["Subject"])]) == 1
