"""The progress strip ("frise") in a real browser (Debian's Chromium), on the real services: a company from its file
to open access, then off the path, with the strip of each company page and access analysis — the stage where it
stands (aria-current="step"), the stages done and the next one, read as an ordered list; French and English; a
390-pixel phone. The access page is public: its strip follows the outcome alone (the same outcome draws the same
strip, whatever the company), and outcomes that place a company nowhere on the path draw none. Every page visited
is saved under var/screenshots/."""
from __future__ import annotations

import random
import re
import uuid

from playwright.async_api import Page
from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from testing.streams import wait_for
from tests.e2e.journeys import opened_from_mail
from tests.e2e.stack import Stack

from .conftest import SCREENSHOTS, NewVisitor, Visitor

STAGES = ["present", "cofor", "request", "terms", "asl", "users"]
TITLE = {"fr": "Où en est la société", "en": "Where the company stands"}
LABELS = {"fr": ["Présentation de la société", "Code COFOR", "Demande d'accès", "CGU acceptées", "Compte de l'ASL",
                 "Comptes des utilisateurs"],
          "en": ["Company presentation", "COFOR code", "Access request", "Terms of use accepted", "ASL account",
                 "User accounts"]}
STATES = {"fr": {"done": "étape franchie", "current": "étape en cours", "next": "étape suivante"},
          "en": {"done": "done", "current": "current stage", "next": "next stage"}}
CONTACT = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}


async def strip_at(page: Page, stage: str | None, lang: str = "fr") -> str:
    """Checks the page's strip (none when ``stage`` is None): one region named in ``lang``, an ordered list of the
    six stages, ``stage`` current, those before done, the one after next. Returns the strip's HTML."""
    if stage is None:
        assert await page.locator("#progress").count() == 0
        return ""
    region = page.get_by_role("region", name=TITLE[lang])
    assert await region.count() == 1
    items = region.locator("ol").get_by_role("listitem")
    assert await items.count() == 6
    assert await items.evaluate_all("(all) => all.map(li => li.dataset.stage)") == STAGES
    at = STAGES.index(stage)
    expected = ["done"] * at + ["current"] + (["next"] if at < 5 else []) + ["later"] * max(0, 4 - at)
    assert await items.evaluate_all("(all) => all.map(li => li.dataset.state)") == expected
    current = region.locator("[aria-current]")
    assert await current.count() == 1 and await current.get_attribute("aria-current") == "step"
    assert await current.get_attribute("data-stage") == stage
    for item, label, state in zip(await items.all(), LABELS[lang], expected):
        said = " ".join((await item.text_content() or "").split())  # what a screen reader reads
        assert said == (f"{label} {STATES[lang][state]}" if state != "later" else label), said
    return str(await region.inner_html())


async def analysed(visitor: Visitor, lang: str, cofor: str, outcome: str) -> Page:
    page = await visitor.goto(f"/{lang}/access?cofor={cofor}")
    assert await page.locator("[data-outcome]").get_attribute("data-outcome") == outcome
    return page


async def outcome_is(stack: Stack, root: str, outcome: int) -> None:
    async def probe() -> bool:
        return (await stack.cofor.AnalyzeAccess(cofor_api.AnalyzeAccessRequest(cofor=root))).outcome == outcome
    await wait_for(probe, timeout=30, interval=0.1)


async def terms_link(stack: Stack, address: str) -> str:
    async def probe() -> str:
        for mail in stack.sink.received:
            if address in mail.rcpt_tos and (m := re.search(r"/access/terms\?token=([\w-]+)",
                                                            mail.message.get_content())):
                return m.group(1)
        return ""
    return str(await wait_for(probe, timeout=20))


async def test_the_strip_follows_a_company_from_its_file_to_its_users(stack: Stack, visitors: NewVisitor) -> None:
    # The company pages: a new file, the mailed link, the draft; then sent, then referenced.
    presenter = await visitors("presenter")
    page = await presenter.goto("/fr/company")
    await strip_at(page, "present")
    email = f"presenter.{uuid.uuid4().hex[:8]}@supplier.example"
    await page.get_by_label("Raison sociale").fill("Forges de Lorraine")
    await page.get_by_label("Numéro D-U-N-S").fill(str(random.randrange(10**8, 10**9)))
    await page.get_by_label("Adresse e-mail").fill(email)
    await presenter.submit("Ouvrir le dossier")
    link = stack.find(r"(/fr/company/[\w-]+\?token=[\w-]+)", await stack.mail(email))
    page = await presenter.goto(link)
    await strip_at(page, "present")
    await presenter.submit("Ouvrir ce dossier")
    assert await page.locator("#file-state").get_attribute("data-state") == "DRAFT"
    await strip_at(page, "present")
    api = stack.browser()  # fills the file in and sends it through the JSON API, with the same mailed link
    file_id = await opened_from_mail(stack, api, email)
    signatory = f"sign.{uuid.uuid4().hex[:8]}@supplier.example"
    filled = await api.patch(f"/api/v1/presentations/{file_id}", json={
        "national_registration_number": "552100554", "tax_number": "FR40303265045", "country_code": "FR",
        "legal_existence_proof_ref": "kbis.pdf",
        "head_office_address": {"lines": ["1 rue des Forges"], "postal_code": "57000", "city": "Metz",
                                "country_code": "FR"},
        "legal_representative": {"given_name": "Claire", "family_name": "Martin", "job_title": "CEO",
                                 "email": signatory}})
    assert filled.status_code == 200, filled.text
    assert (await api.post(f"/api/v1/presentations/{file_id}:submit")).status_code == 200
    page = await presenter.goto(f"/fr/company/{file_id}")
    assert await page.locator("#file-state").get_attribute("data-state") == "SUBMITTED"
    await strip_at(page, "cofor")
    root = (await stack.cofor.ReferenceSupplier(cofor_api.ReferenceSupplierRequest(
        presentation_id=file_id))).supplier.cofor_root
    page = await presenter.goto(f"/en/company/{file_id}")
    assert await page.locator("#file-state").get_attribute("data-state") == "REFERENCED"
    await strip_at(page, "request", "en")

    # The access page, public: each outcome on the path, in French and English.
    visitor = await visitors("visitor")
    page = await analysed(visitor, "fr", root, "ACCESS_NOT_REQUESTED")
    not_requested = await strip_at(page, "request")
    stranger = {"given_name": "Eve", "family_name": "Stranger", "email": "eve@elsewhere.example", **CONTACT}
    asl = {"given_name": "Paul", "family_name": "Durand", "email": f"asl.{root}@supplier.example".lower(), **CONTACT}
    requested = await api.post("/api/v1/access-requests", json={"cofor": root, "signatory": stranger,
                                                                "administrator": asl})
    assert requested.status_code == 200, requested.text
    page = await analysed(visitor, "fr", root, "ACCESS_REQUEST_UNDER_REVIEW")
    assert await strip_at(page, "request") == not_requested  # nothing more than the outcome says
    record = {"given_name": "Claire", "family_name": "Martin", "email": signatory, **CONTACT}
    requested = await api.post("/api/v1/access-requests", json={"cofor": root, "signatory": record,
                                                                "administrator": asl})
    assert requested.status_code == 200, requested.text
    token = await terms_link(stack, signatory)
    page = await analysed(visitor, "fr", root, "TERMS_PENDING")
    await strip_at(page, "terms")
    page = await analysed(visitor, "en", root, "TERMS_PENDING")
    await strip_at(page, "terms", "en")
    await page.set_viewport_size({"width": 390, "height": 844})
    await visitor.shot("phone-strip-en")
    page = await analysed(visitor, "fr", root, "TERMS_PENDING")
    await visitor.shot("phone-strip-fr")
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing off-screen
    strip = await page.locator("#progress").bounding_box()
    assert strip is not None and strip["width"] <= 390
    await page.locator("#progress").screenshot(path=str(SCREENSHOTS / f"{visitor.prefix}-phone-strip-only.png"))
    await page.set_viewport_size({"width": 1100, "height": 900})
    described = (await api.get(f"/api/v1/terms?token={token}")).json()
    accepted = await api.post("/api/v1/terms:accept", json={"acceptance_token": token,
                                                            "terms_version": described["terms_version"]})
    assert accepted.status_code == 200, accepted.text
    await outcome_is(stack, root, cofor_api.ANALYSIS_OUTCOME_ACCESS_OPEN)
    page = await analysed(visitor, "fr", root, "ACCESS_OPEN")
    await strip_at(page, "users")
    page = await analysed(visitor, "en", root, "ACCESS_OPEN")
    await strip_at(page, "users", "en")

    # Off the path: a site rather than the head office, a suspended access draw no strip; a deactivated company
    # and an unknown or malformed COFOR are where the page sends them: presenting a company, the same strip.
    await stack.cofor.AddSite(cofor_api.AddSiteRequest(cofor_root=root, site_code="02", name="Plant 2"))
    page = await analysed(visitor, "fr", f"{root}02", "SITE_NOT_ELIGIBLE")
    await strip_at(page, None)
    await stack.cofor.SuspendPortalAccess(cofor_api.SuspendPortalAccessRequest(cofor_root=root, reason="test"))
    page = await analysed(visitor, "fr", root, "ACCESS_SUSPENDED")
    await strip_at(page, None)
    await stack.cofor.DeactivateSupplier(cofor_api.DeactivateSupplierRequest(cofor_root=root, reason="merged"))
    page = await analysed(visitor, "fr", root, "SUPPLIER_DEACTIVATED")
    deactivated = await strip_at(page, "present")
    page = await analysed(visitor, "fr", "nope", "INVALID_COFOR")
    assert await strip_at(page, "present") == deactivated
    page = await analysed(visitor, "en", "ZZ999Z", "INVALID_COFOR")
    await strip_at(page, "present", "en")
