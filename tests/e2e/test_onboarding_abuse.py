"""Onboarding tried as an outsider would, through the gateway on the real services: knowing a COFOR or a D-U-N-S
proves nothing, a crafted link does not swap a visitor's company file, the signatory sees the full terms and the
nominee before accepting."""
from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from testing.processes import NatsServer

from .journeys import opened_from_mail, referenced_supplier
from .stack import Stack, running_stack

PHONE = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
PRESENTER_COOKIE = "__Host-portal_presenter"


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


def person(given: str, email: str) -> dict[str, str]:
    return {"given_name": given, "family_name": "Mallory" if given == "Eve" else "Martin", "email": email, **PHONE}


async def test_knowing_a_cofor_makes_nobody_an_asl(stack: Stack) -> None:
    root = await referenced_supplier(stack)
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    eve = f"eve.{uuid.uuid4().hex[:6]}@attacker.example"
    outsider = stack.browser()
    # The adversarial review's repro: signatory = administrator = an outside address.
    taken = await outsider.post("/api/v1/access-requests", json={
        "cofor": root, "signatory": person("Eve", eve), "administrator": person("Eve", eve)})
    assert taken.status_code == 200 and taken.json()["portal_access_state"] == "PORTAL_ACCESS_STATE_UNDER_REVIEW"
    page = await outsider.get(f"/en/access?cofor={root}")
    assert 'data-outcome="ACCESS_REQUEST_UNDER_REVIEW"' in page.text and "Purchasing checks" in page.text
    notice = await stack.mail(record.email, "à vérifier")  # the real signatory (French) hears of it
    assert eve in notice.get_content()

    # The real company files its own request from the page's form: it joins the stranger's, which voids nothing.
    company = stack.browser()
    await company.get("/api/v1/csrf")
    asl = f"asl.{root}@supplier.example".lower()
    form = {"csrf_token": company.cookies["__Host-portal_csrf"], "cofor": root,
            **{f"signatory.{k}": v for k, v in person("Claire", record.email).items()},
            **{f"administrator.{k}": v for k, v in person("Paul", asl).items()}}
    sent = await company.post("/en/access/request", data=form)
    assert sent.status_code == 200 and "Your request is recorded" in sent.text
    terms = await stack.mail(record.email, "acceptation des CGU")
    assert asl in terms.get_content()
    token = stack.find(r"/access/terms\?token=([\w-]+)", terms)

    accept_page = await company.get(f"/en/access/terms?token={token}")
    assert accept_page.status_code == 200 and "Article 10" in accept_page.text  # the full terms, not a summary
    assert f'<span id="terms-nominee-email">{asl}</span>' in accept_page.text
    accepted = await company.post("/en/access/terms", data={
        "csrf_token": company.cookies["__Host-portal_csrf"], "token": token, "terms_version": "2026-12", "accept": "1"})
    assert accepted.status_code == 200 and "Terms accepted" in accepted.text, accepted.text
    await stack.mail(asl, count=2)
    assert not [m for m in stack.sink.received if eve in m.rcpt_tos]  # nothing ever went to the stranger


async def test_a_duns_cannot_be_squatted_by_starting_a_file(stack: Stack) -> None:
    duns = str(random.randrange(10**8, 10**9))
    squatter = stack.browser()
    started = await squatter.post("/api/v1/presentations", json={
        "duns": duns, "email": "squatter@attacker.example", "legal_name": "Forges de Lorraine"})
    assert started.status_code == 200 and "presenter_token" not in started.text
    assert PRESENTER_COOKIE not in squatter.cookies  # nothing opens the file but the mailed link

    company = stack.browser()  # the squatter never confirmed: the real company is not blocked
    presenter = f"presenter.{uuid.uuid4().hex[:6]}@forges.example"
    await company.get("/api/v1/csrf")
    page = await company.post("/en/company", data={"csrf_token": company.cookies["__Host-portal_csrf"],
                                                    "duns": duns, "email": presenter, "legal_name": "Forges"})
    assert page.status_code == 200 and "Check your mailbox" in page.text
    await opened_from_mail(stack, company, presenter)
    again = await squatter.post("/api/v1/presentations", json={
        "duns": duns, "email": "squatter@attacker.example", "legal_name": "Forges de Lorraine"})
    assert again.status_code == 409 and again.json()["error"]["reason"] == "DUNS_ALREADY_PRESENTED"


async def test_a_crafted_link_does_not_silently_swap_the_visitors_file(stack: Stack) -> None:
    victim, attacker = stack.browser(), stack.browser()
    files = {}
    for who, browser in (("victim", victim), ("attacker", attacker)):
        email = f"{who}.{uuid.uuid4().hex[:6]}@example.org"
        await browser.post("/api/v1/presentations", json={
            "duns": str(random.randrange(10**8, 10**9)), "email": email, "legal_name": who.title()})
        files[who] = await opened_from_mail(stack, browser, email)
    own = victim.cookies[PRESENTER_COOKIE]
    attacker_link = f"/en/company/{files['attacker']}?token={attacker.cookies[PRESENTER_COOKIE]}"
    passer_by = stack.browser()  # a link clicked on another site carries no cookie at all: still nothing is kept
    shown = await passer_by.get(attacker_link)
    assert shown.status_code == 200 and "attacker" in shown.text and PRESENTER_COOKIE not in passer_by.cookies
    for bad in ("%C4%80" * 30, "x" * 5, "a b"):  # not a token's shape: refused, never a server error
        assert (await passer_by.get(f"/en/company/{files['attacker']}?token={bad}")).status_code == 403
    asked = await victim.get(attacker_link)
    assert asked.status_code == 200 and "another file" in asked.text
    assert victim.cookies[PRESENTER_COOKIE] == own  # not replaced without asking
    token = re.search(r'name="token" value="([\w-]+)"', asked.text).group(1)  # type: ignore[union-attr]
    cookies = "; ".join(f"{k}={v}" for k, v in victim.cookies.items())  # a cross-site form: cookies, no CSRF token
    forged = await stack.web.post(f"/en/company/{files['attacker']}/open", data={"token": token},
                                  headers={"cookie": cookies})
    assert forged.status_code == 403 and "set-cookie" not in {k.lower() for k in forged.headers}
    chosen = await victim.post(f"/en/company/{files['attacker']}/open", data={
        "token": token, "csrf_token": victim.cookies["__Host-portal_csrf"]})
    assert chosen.status_code == 303 and victim.cookies[PRESENTER_COOKIE] != own  # the visitor's own choice
