"""The abuse suite's outsider: someone who knows a company's COFOR, D-U-N-S, an ASL's identifier or e-mail, and
nothing else, through the gateway like any visitor. Every attempt is counted; what it may never achieve is a figure:
a company taken over (an account, a session or a link for the outsider), a D-U-N-S kept from its company, the
real holder locked out of self-service recovery, a visitor's company file swapped by a crafted link."""
from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from bench.report import Report
from tests.e2e.journeys import PASSWORD_LINE, Person, onboarded_company, opened_from_mail, referenced_supplier
from tests.e2e.stack import Browser, Stack

PHONE = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "en"}
PRESENTER_COOKIE = "__Host-portal_presenter"
IDENTIFIER = re.compile(r"\bV\d{6}\b")


@dataclass
class Tally:
    attempts: Counter[str] = field(default_factory=Counter)
    breaches: list[str] = field(default_factory=list)

    def tried(self, what: str) -> None:
        self.attempts[what] += 1

    def breach(self, what: str) -> None:
        self.breaches.append(what)


def contact(given: str, email: str) -> dict[str, str]:
    return {"given_name": given, "family_name": "Mallory", "email": email, **PHONE}


class Outsider:
    """One stranger, with their own mailbox domain: whatever reaches it is what they got."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.domain = f"attacker-{uuid.uuid4().hex[:6]}.example"
        self.browser = stack.browser()

    def address(self, tag: str) -> str:
        return f"{tag}@{self.domain}"

    def mails(self) -> list[str]:
        return [m.message.get_content() for m in self.stack.sink.received
                if any(r.endswith("@" + self.domain) for r in m.rcpt_tos)]

    async def post(self, path: str, body: dict[str, object], *, new_address: bool = True) -> int:
        """From a new address each time (a botnet), unless it must keep its cookies."""
        if new_address:
            self.browser.address = f"203.0.{random.randrange(113, 120)}.{random.randrange(1, 255)}"
        return (await self.browser.post(path, json=body)).status_code


async def takeover(stack: Stack, tally: Tally, companies: list[str], rounds: int) -> tuple[int, int]:
    """Request access for each company naming themself, or the real signatory with themself as ASL; resend; guess
    acceptance tokens. A link, a password or an account for the outsider is a takeover. The first company filed its
    own request before: returns (its link voided by the strangers' requests, its next request refused)."""
    eve = Outsider(stack)
    own_link = await company_request(stack, companies[0])
    for root in companies:
        record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
        for n in range(rounds):
            me = eve.address(f"eve{n}")
            await eve.post("/api/v1/access-requests", {"cofor": root, "signatory": contact("Eve", me),
                                                        "administrator": contact("Eve", me)})
            tally.tried("request naming themself")
            await eve.post("/api/v1/access-requests", {
                "cofor": root, "signatory": {**contact("Claire", record.email), "family_name": "Martin"},
                "administrator": contact("Eve", me)})
            tally.tried("request naming the real signatory, themself as ASL")
            await eve.post("/api/v1/access-requests:resend", {"cofor": root})
            tally.tried("resend")
            guessed = await eve.post("/api/v1/terms:accept", {"acceptance_token": uuid.uuid4().hex * 2,
                                                              "terms_version": "2026-12"})
            tally.tried("guessed acceptance token")
            if guessed == 200:
                tally.breach(f"{root}: a guessed acceptance token was accepted")
    await mail_settled(stack)  # what the outsider's mailbox holds now is all they got
    for body in eve.mails():
        if "token=" in body or IDENTIFIER.search(body) or PASSWORD_LINE.search(body):
            tally.breach(f"a mail to the outsider carried a link, an identifier or a password: {body[:120]!r}")
    described = (await stack.browser().get(f"/api/v1/terms?token={own_link}")).json()
    voided = int(described.get("link_state") != "TERMS_LINK_STATE_VALID")
    refused = int((await stack.browser().post("/api/v1/access-requests", json=(await company_body(
        stack, companies[0])))).status_code != 200)
    return voided, refused


async def company_body(stack: Stack, root: str) -> dict[str, object]:
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    return {"cofor": root, "signatory": {**contact("Claire", record.email), "family_name": "Martin"},
            "administrator": {**contact("Paul", f"asl.{root.lower()}@supplier.example"), "family_name": "Durand"}}


async def company_request(stack: Stack, root: str) -> str:
    """The company's own request, naming its signatory of record: the acceptance token of the link mailed."""
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    before = len([m for m in stack.sink.received if record.email in m.rcpt_tos])
    assert (await stack.browser().post("/api/v1/access-requests", json=await company_body(stack, root))).status_code \
        == 200
    return stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(record.email, "", count=before + 1))


async def mail_settled(stack: Stack, quiet: float = 2.0) -> None:
    """Until the sink has received nothing new for ``quiet`` seconds: every queued mail has gone out."""
    count, still = -1, 0.0
    while still < quiet:
        await asyncio.sleep(0.25)
        now = len(stack.sink.received)
        still = still + 0.25 if now == count else 0.0
        count = now


async def duns_squatting(stack: Stack, tally: Tally, files: int) -> tuple[int, int]:
    """The outsider starts (and even confirms, with their own address) files for companies' D-U-N-S numbers.
    Returns (companies blocked by an unconfirmed file, companies still blocked once purchasing rejected the draft)."""
    eve = Outsider(stack)
    blocked_unconfirmed = blocked_after_reject = 0
    for n in range(files):
        duns = str(random.randrange(10**8, 10**9))
        confirm = n % 2 == 1
        squatter = eve.address(f"file{n}")
        await eve.post("/api/v1/presentations", {"duns": duns, "email": squatter, "legal_name": "Forges"})
        tally.tried("start a file for another company's D-U-N-S")
        squat_id = await opened_from_mail(stack, eve.browser, squatter) if confirm else ""
        company = stack.browser()
        presenter = f"presenter.{uuid.uuid4().hex[:6]}@forges.example"
        answer = await company.post("/api/v1/presentations", json={"duns": duns, "email": presenter,
                                                                   "legal_name": "Forges"})
        if not confirm:
            blocked_unconfirmed += answer.status_code != 200
            continue
        # A confirmed squatter blocks until purchasing (told by the real company) rejects the draft.
        await stack.cofor.RejectPresentation(cofor_api.RejectPresentationRequest(
            presentation_id=squat_id, reason="not this company's file"))
        again = await company.post("/api/v1/presentations", json={"duns": duns, "email": presenter,
                                                                  "legal_name": "Forges"})
        blocked_after_reject += again.status_code != 200
    return blocked_unconfirmed, blocked_after_reject


async def file_swaps(stack: Stack, tally: Tally, tries: int) -> int:
    """A crafted /company/<id>?token= link sent to a visitor working on their own file: swaps without asking."""
    swapped = 0
    eve = Outsider(stack)
    for n in range(tries):
        victim = stack.browser()
        own = f"victim.{uuid.uuid4().hex[:6]}@example.org"
        await victim.post("/api/v1/presentations", json={"duns": str(random.randrange(10**8, 10**9)), "email": own,
                                                         "legal_name": "Victim"})
        await opened_from_mail(stack, victim, own)
        mine = victim.cookies[PRESENTER_COOKIE]
        bait = eve.address(f"bait{n}")
        await eve.post("/api/v1/presentations", {"duns": str(random.randrange(10**8, 10**9)), "email": bait,
                                                 "legal_name": "Bait"})
        bait_id = await opened_from_mail(stack, eve.browser, bait)
        await victim.get(f"/fr/company/{bait_id}?token={eve.browser.cookies[PRESENTER_COOKIE]}")
        tally.tried("crafted company-file link")
        swapped += victim.cookies.get(PRESENTER_COOKIE) != mine
    return swapped


async def lockouts(stack: Stack, tally: Tally, asl: Person, root: str, calls: int) -> int:
    """Recovery calls with only the ASL's e-mail, from many addresses; then the ASL's own reset and identifier
    recovery must be accepted and mailed. Returns how many of the holder's own calls were refused or not mailed."""
    eve = Outsider(stack)
    for _ in range(calls):
        eve.browser = stack.browser()  # a fresh visitor each time: the per-client limit is not what protects here
        await eve.post("/api/v1/recovery/administrator-password", {
            "identifier": f"V{random.randrange(10**6):06d}", "cofor": root, "email": asl.email})
        await eve.post("/api/v1/recovery/identifier", {"cofor": root, "email": asl.email})
        tally.tried("recovery with the ASL's e-mail")
    holder: Browser = stack.browser()
    before = len([m for m in stack.sink.received if asl.email in m.rcpt_tos])
    refused = 0
    for path, body in (("/api/v1/recovery/identifier", {"cofor": root, "email": asl.email}),
                       ("/api/v1/recovery/administrator-password",
                        {"identifier": asl.identifier, "cofor": root, "email": asl.email})):
        refused += (await holder.post(path, json=body)).status_code != 200
    try:
        await stack.mail(asl.email, "", count=before + 1)
    except AssertionError:
        refused += 1
    return refused


async def run_outsider(report: Report, stack: Stack, *, quick: bool) -> None:
    tally = Tally()
    companies = [await referenced_supplier(stack) for _ in range(2 if quick else 6)]
    root, asl = await onboarded_company(stack)
    voided, refused_company = await takeover(stack, tally, [*companies, root], rounds=1 if quick else 3)
    blocked_unconfirmed, blocked_after_reject = await duns_squatting(stack, tally, 2 if quick else 8)
    swapped = await file_swaps(stack, tally, 1 if quick else 4)
    refused = await lockouts(stack, tally, asl, root, 6 if quick else 25)
    report.add("abuse_outsider_attempts", sum(tally.attempts.values()), "calls", "> 0",
               ", ".join(f"{what} {n}" for what, n in sorted(tally.attempts.items())))
    report.add("abuse_companies_taken_over", len(tally.breaches), "companies", "0",
               "; ".join(tally.breaches[:3]) or f"{len(companies) + 1} companies, no link, password or account ever "
               "reached the outsider")
    report.add("abuse_company_links_voided_by_strangers", voided, "links", "0",
               "the company's own pending link, after every stranger's request and resend")
    report.add("abuse_company_requests_refused_after_strangers", refused_company, "requests", "0")
    report.add("abuse_duns_blocked_by_unconfirmed_files", blocked_unconfirmed, "companies", "0")
    report.add("abuse_duns_blocked_after_purchasing_rejected", blocked_after_reject, "companies", "0",
               "a confirmed squatter blocks only until purchasing rejects the draft (its presenter proved an e-mail, "
               "not the company)")
    report.add("abuse_file_swapped_by_crafted_link", swapped, "visitors", "0")
    report.add("abuse_stranger_caused_lockouts", refused, "calls", "0",
               "the ASL's own identifier recovery and self-service reset after strangers used its e-mail")
