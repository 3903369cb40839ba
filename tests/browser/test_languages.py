"""Every page in both languages, in a real browser (Debian's Chromium) on the real services: a French page shows no
English text and an English page no French. The crawl follows every link of the page's language from the home
page, as a visitor and as a signed-in ASL (account, console, password change), and adds the pages no link reaches:
COFOR analyses, a pending GTU acceptance, dead links, and forms the services refuse (a bad D-U-N-S, a file that is
no screenshot, a wrong password, two different new passwords).

A page's text is its title, its visible text, its options and its labelling attributes. Foreign text is (1) a
message of the other language's catalogue (the fixed parts of it that the page's own catalogue never says) and
(2) a word only the other language uses, which catches text that never went through a catalogue (a service's
English description, a hand-typed string)."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from playwright.async_api import FilePayload, Page
from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from tests.e2e.journeys import referenced_supplier
from tests.e2e.stack import Stack

from gateway.i18n import CATALOGUES, translate

from .conftest import Visitor
from .test_recovery_pages import ASL_PASSWORD, open_supplier, posted

NewVisitor = Callable[..., Awaitable[Visitor]]
LANGUAGES = ("fr", "en")
PLACEHOLDER = re.compile(r"%\(\w+\)s")
# Words one language has and the other never uses (whole words, case-sensitive).
ONLY = {"en": re.compile(r"\b(the|The|must|is|are|your|Your|you|You|with|this|This|please|Please|not|cannot|"
                         r"should|required|characters)\b"),
        "fr": re.compile(r"\b(le|la|les|Le|La|Les|des|du|vous|Vous|votre|Votre|vos|est|pour|une|avec|dans|"
                         r"caractères|obligatoire)\b")}
# Text marked as another language (the language switch: lang="en" on a French page) is that language's business.
PAGE_TEXT = """() => {
  for (const e of document.querySelectorAll('body [lang]'))
    if (e.getAttribute('lang') !== document.documentElement.lang) e.remove();
  return [document.title, document.body.innerText,
  ...Array.from(document.querySelectorAll('option')).map(o => o.textContent),
  ...Array.from(document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')).flatMap(e =>
     ['aria-label', 'title', 'placeholder', 'alt'].map(a => e.getAttribute(a) || ''))].join('\\n');
}"""


def foreign_phrases(lang: str) -> list[str]:
    """The fixed parts of the other language's messages that this language's catalogue never says."""
    other = "en" if lang == "fr" else "fr"
    keys = sorted(CATALOGUES[lang].ids)
    own = "\n".join(translate(lang, key) for key in keys)
    phrases = set()
    for key in keys:
        if translate(other, key) == translate(lang, key):
            continue
        for piece in PLACEHOLDER.split(CATALOGUES[other].gettext(key)):
            piece = piece.strip(" :;,.()«»\"'—-")
            if len(piece) >= 4 and re.search(r"[A-Za-zÀ-ÿ]", piece) and piece not in own:
                phrases.add(piece)
    return sorted(phrases, key=len, reverse=True)


FOREIGN = {lang: foreign_phrases(lang) for lang in LANGUAGES}


def foreign_text(lang: str, text: str) -> list[str]:
    found = [p for p in FOREIGN[lang] if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]
    other = "en" if lang == "fr" else "fr"
    found += [f"word {w!r} in …{line.strip()[:120]}…" for line in text.splitlines()
              for w in ONLY[other].findall(line)]
    return found


async def page_text(page: Page) -> str:
    await page.wait_for_load_state()
    return str(await page.evaluate(PAGE_TEXT))


async def crawl(page: Page, base: str, lang: str, extra: list[str], limit: int = 150) -> dict[str, str]:
    """Every page of ``lang`` reachable by links from the home page (and ``extra``): path -> text."""
    queue, texts = [f"/{lang}/", *extra], dict[str, str]()
    while queue and len(texts) < limit:
        path = queue.pop(0)
        if path in texts:
            continue
        await page.goto(base + path)
        texts[path] = await page_text(page)
        for href in await page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            href = str(href).split("#")[0]
            if href.startswith(f"/{lang}/") and "logout" not in href and href not in texts:
                queue.append(href)
    return texts


async def submitted(page: Page, fill: dict[str, str], files: dict[str, bytes] | None = None) -> str:
    for selector, value in fill.items():
        if await page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            await page.locator(selector).select_option(value)
        else:
            await page.locator(selector).fill(value)
    for selector, data in (files or {}).items():
        shot: FilePayload = {"name": "screenshot.png", "mimeType": "image/png", "buffer": data}
        await page.locator(selector).set_input_files(files=[shot])
    async with page.expect_navigation():
        await page.locator("main form button[type=submit]").first.click()
    return await page_text(page)


async def refused_forms(page: Page, base: str, lang: str) -> dict[str, str]:
    """Forms the services refuse, each shown again with its errors."""
    texts = {}
    await page.goto(f"{base}/{lang}/company")
    texts["company: bad D-U-N-S"] = await submitted(page, {"#f-legal_name": "Forges de Lorraine", "#f-duns": "12",
                                                           "#f-email": "presenter@supplier.example"})
    await page.goto(f"{base}/{lang}/contact")
    texts["contact: no screenshot"] = await submitted(page, {
        "#f-category": "LOGIN_PROBLEM", "#f-subject": "Connexion", "#f-text": "Bonjour", "#f-name": "Claire Martin",
        "#f-email": "claire@supplier.example", "#f-phone": "+33 1 23 45 67 89", "#f-company": "Forges"},
        {"#f-screenshot": b"this is no image at all"})
    await page.goto(f"{base}/{lang}/contact")
    texts["contact: empty"] = await submitted(page, {})
    await page.goto(f"{base}/{lang}/login")
    texts["login: wrong password"] = await submitted(page, {"#f-identifier": "V000001",
                                                            "#f-password": "not the password at all"})
    return texts


async def test_no_page_shows_text_of_the_other_language(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)  # access OPEN, an ASL and a user
    # A second company waiting for its signatory: the GTU acceptance page.
    pending = await referenced_supplier(stack)
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=pending))).supplier
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    await posted(stack.browser(), "/api/v1/access-requests", {
        "cofor": pending, "signatory": {"given_name": "Claire", "family_name": "Martin",
                                        "email": record.signatory_of_record.email, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": f"asl.{pending}@supplier.example",
                          **contact}})
    token = stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(record.signatory_of_record.email))

    visitor, asl = await visitors("visitor"), await visitors("asl")
    base = visitor.base
    await asl.page.goto(f"{base}/fr/login")
    await submitted(asl.page, {"#f-identifier": supplier.asl_id, "#f-password": ASL_PASSWORD})
    assert urlsplit(asl.page.url).path == "/fr/login/second-factor", asl.page.url
    await submitted(asl.page, {"#totp-f-code": await stack.app_code(supplier.asl_id)})
    assert urlsplit(asl.page.url).path == "/fr/account", asl.page.url

    failures: list[str] = []
    for lang in LANGUAGES:
        extra = [f"/{lang}/access?cofor=ZZ999Z", f"/{lang}/access?cofor={supplier.root}",
                 f"/{lang}/access?cofor={pending}", f"/{lang}/access?cofor={supplier.root}&site_code=02",
                 f"/{lang}/access/terms?token={token}", f"/{lang}/access/terms?token={'x' * 40}",
                 f"/{lang}/no-such-page", f"/{lang}/no/such/page", f"/{lang}/logout",
                 f"/{lang}/help/no-such-article", f"/{lang}/login", f"/{lang}/about",
                 f"/{lang}/recover/identifier", f"/{lang}/recover/password", f"/{lang}/blocked"]
        pages = await crawl(visitor.page, base, lang, extra)
        signed_in = await crawl(asl.page, base, lang, [f"/{lang}/account", f"/{lang}/admin",
                                                       f"/{lang}/password/change", f"/{lang}/account/second-factor"])
        assert f"/{lang}/admin" in signed_in and f"/{lang}/account" in signed_in
        assert sum("/help/" in path for path in pages) >= 20, sorted(pages)  # every help article
        forms = await refused_forms(visitor.page, base, lang)
        await asl.page.goto(f"{base}/{lang}/password/change")
        forms["password: two different"] = await submitted(asl.page, {
            "#f-current_password": ASL_PASSWORD, "#f-new_password": "Un mot de passe assez long pour passer",
            "#f-confirm_password": "Un autre mot de passe assez long aussi"})
        for form, key in (("company: bad D-U-N-S", "desc.duns"), ("contact: no screenshot", "desc.screenshot_format"),
                          ("contact: empty", "desc.choice"), ("login: wrong password", "error.INVALID_CREDENTIALS"),
                          ("password: two different", "password.mismatch")):
            assert translate(lang, key) in forms[form], f"{lang} {form}: {forms[form]}"  # the refusal is shown
        for where, texts in (("visitor", pages), ("ASL", signed_in), ("form", forms)):
            for path, text in texts.items():
                failures += [f"{lang} {where} {path}: {found}" for found in foreign_text(lang, text)]
    assert failures == [], "\n".join(failures)


async def test_the_portal_opens_in_the_browser_s_language(stack: Stack, visitors: NewVisitor) -> None:
    for locale, lang in (("en-GB", "en"), ("fr-CA", "fr"), ("de-DE", "fr")):  # neither: French, the default
        visitor = await visitors(f"browser-{locale}", locale=locale)
        page = await visitor.goto("/")
        assert urlsplit(page.url).path == f"/{lang}/", locale
        assert await page.locator("html").get_attribute("lang") == lang


async def test_an_unknown_address_answers_a_page_of_the_site_in_the_right_language(stack: Stack,
                                                                                  visitors: NewVisitor) -> None:
    for locale, path, lang, said in (("en-GB", "/no-such-page", "en", "Page not found."),
                                     ("en-GB", "/fr/no-such-page", "fr", "Page introuvable."),
                                     ("fr-FR", "/en/no/such/page", "en", "Page not found.")):
        visitor = await visitors(f"lost-{lang}-{len(path)}", locale=locale)
        answer = await visitor.page.goto(visitor.base + path)
        assert answer is not None and answer.status == 404
        assert await visitor.page.locator("html").get_attribute("lang") == lang
        assert said in await visitor.page.locator("main").inner_text()
        assert await visitor.page.get_by_role("navigation").count() >= 1  # the menu, to find one's way
