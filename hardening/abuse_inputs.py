"""The abuse suite's hostile text: every public field that can reach a mail, a header, a subject or a log, through the
gateway, with control characters (C0 and C1), Unicode line/paragraph separators and bidi overrides — refused, never
stored; display names that fold, whose commas and angle brackets must never become extra recipients; what a
requester types never relayed to the address they claim; a poison mail among ordinary ones given up alone; invalid
UTF-8 in any string field of any RPC answered INVALID_ARGUMENT."""
from __future__ import annotations

import asyncio
import email
import email.policy
import random
import uuid
from typing import Any

from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import text

from bench.report import Report
from hardening.abuse_outsider import mail_settled
from kit.messaging import envelope
from kit.messaging.streams import EMAIL_SUBJECT
from tests.e2e.journeys import onboarded_company, opened_from_mail
from tests.e2e.stack import Browser, Stack
from tests.e2e.undecodable import undecodable_answers

HOSTILE = {"line separator": "\u2028", "paragraph separator": "\u2029", "NEL (C1)": "\u0085",
           "right-to-left override": "\u202e", "isolate": "\u2066", "escape": "\x1b[31m", "NUL": "\x00",
           "CR LF header": "\r\nBcc: eve@attacker.example",
           "encoded word": " =?utf-8?b?DQpCY2M6IGV2ZUBhdHRhY2tlci5leGFtcGxl?= ",
           "encoded word (Q, inside a word)": "=?UTF-8?Q?=E2=80=AEgpj.exe?=", "zero width space": "\u200b",
           "BOM": "\ufeff", "right-to-left mark": "\u200f", "tag character": "\U000e0041"}
FOLDING_NAME = ("Jean Dupont, eve@attacker.example, Jean Dupont - Responsable Achats Forges de Lorraine SA, "
                "site de Nancy <eve@attacker.example>; \"Service\" (achats)")
PHONE = "+33 1 23 45 67 89"
INJECTED = "@attacker.example"  # hidden in names and subjects; the outsiders' own mailboxes are elsewhere


def person(given: str, email_address: str) -> dict[str, str]:
    return {"given_name": given, "family_name": "Martin", "email": email_address, "phone": PHONE,
            "job_title": "CEO", "language": "fr"}


async def hostile_text(stack: Stack) -> tuple[int, int, list[str]]:
    """Each hostile string in each field of every public form (and the ASL console's). Returns (tries, accepted,
    what was accepted or answered 5xx)."""
    root, asl = await onboarded_company(stack)
    presenter = stack.browser()
    address = f"presenter.{uuid.uuid4().hex[:6]}@supplier.example"
    await presenter.post("/api/v1/presentations", json={"duns": str(random.randrange(10**8, 10**9)),
                                                        "email": address, "legal_name": "Forges"})
    file_id = await opened_from_mail(stack, presenter, address)
    forms: list[tuple[Browser, str, str, Any]] = []  # (who, method + path, field, body builder)
    for field in ("legal_name",):
        forms.append((stack.browser(), "POST /api/v1/presentations", field, lambda v, f=field: {
            "duns": str(random.randrange(10**8, 10**9)), "email": "x@y.example", "legal_name": "Acme", f: v}))
    for field in ("legal_name", "national_registration_number", "tax_number", "legal_existence_proof_ref"):
        forms.append((presenter, f"PATCH /api/v1/presentations/{file_id}", field, lambda v, f=field: {f: v}))
    for field in ("given_name", "family_name", "job_title"):
        forms.append((presenter, f"PATCH /api/v1/presentations/{file_id}", f"legal_representative.{field}",
                      lambda v, f=field: {"legal_representative": {**person("Anne", "a@b.example"), f: v}}))
        for who in ("signatory", "administrator"):
            forms.append((stack.browser(), "POST /api/v1/access-requests", f"{who}.{field}", lambda v, f=field, w=who: {
                "cofor": root, "signatory": person("S", "s@x.example"), "administrator": person("A", "a@x.example"),
                w: {**person("P", "p@x.example"), f: v}}))
        forms.append((asl.browser, "POST /api/v1/users", field, lambda v, f=field: {
            **person("Emma", f"emma.{uuid.uuid4().hex[:6]}@x.example"), f: v}))
    tries, accepted, problems = 0, 0, []
    for browser, target, field, body in forms:
        method, path = target.split(" ", 1)
        for kind, hostile in HOSTILE.items():
            reply = await browser.send(method, path, json=body(f"Forges{hostile}Lorraine"))
            tries += 1
            if reply.status_code < 400 or reply.status_code >= 500:
                accepted += 1
                problems.append(f"{target} {field} with {kind}: {reply.status_code}")
    for field in ("subject", "name", "company"):  # Help & Contact (multipart)
        for kind, hostile in HOSTILE.items():
            data = {"category": "OTHER", "subject": "Help", "text": "Hello", "name": "Jean Dupont",
                    "email": f"r.{uuid.uuid4().hex[:6]}@x.example", "phone": PHONE, "company": "Forges",
                    "language": "fr", field: f"Forges{hostile}Lorraine"}
            reply = await stack.browser().post("/api/v1/tickets", data=data)
            tries += 1
            if reply.status_code < 400 or reply.status_code >= 500:
                accepted += 1
                problems.append(f"ticket {field} with {kind}: {reply.status_code}")
    return tries, accepted, problems


async def folding_and_relaying(stack: Stack) -> tuple[int, int]:
    """A ticket whose contact name folds and carries addresses: the support mailbox's Reply-To and the
    acknowledgement's To must each hold exactly the requester; the acknowledgement relays nothing typed. Then every
    mail the sink received (the poison's too) is parsed back: no header or envelope may name eve@attacker.example,
    the address hidden in names and subjects. Returns (injected recipients, relayed texts)."""
    requester = f"jean.{uuid.uuid4().hex[:6]}@supplier.example"
    bait = f"Visit https://evil.example/login now {uuid.uuid4().hex[:6]}"
    reply = await stack.browser().post("/api/v1/tickets", data={
        "category": "LOGIN_PROBLEM", "subject": bait, "text": bait, "name": FOLDING_NAME, "email": requester,
        "phone": PHONE, "company": "Forges", "language": "fr"})
    assert reply.status_code == 200, reply.text
    await mail_settled(stack)
    injected = relayed = 0
    for received in stack.sink.received:
        parsed = email.message_from_bytes(received.message.as_bytes(), policy=email.policy.default)
        for header in ("To", "Reply-To", "Cc", "Bcc"):
            if parsed[header] is not None:
                addresses = [a.addr_spec for a in parsed[header].addresses]
                injected += sum(1 for a in addresses if a.endswith(INJECTED))
        if requester in received.rcpt_tos:  # the acknowledgement to the (unproven) requester address
            relayed += bait in parsed.get_content() or bait in str(parsed["Subject"]) or "Dupont" in str(parsed["To"])
        injected += sum(1 for r in received.rcpt_tos if r.endswith(INJECTED))
    return injected, relayed


async def poison_mail(stack: Stack, nc: Any, ordinary: int) -> tuple[int, str]:
    """A producer (cofor's credential: an older or compromised producer may send anything) requests a mail whose
    subject and names hold what no input would pass, then ``ordinary`` normal mails. Returns (ordinary mails not
    delivered within 30 s, the poison's recorded status)."""
    js = nc.jetstream()
    poison_id = str(uuid.uuid4())
    poison = mail_events.EmailRequested(
        template=mail_events.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, language="fr",
        to=[mail_events.EmailRecipient(address="victim@poison.example", display_name=f"A{h}B" * 40)
            for h in ("\u2028", "\u0085")],
        params={"legal_name": "ACME\u2028Industries\u202e\r\nBcc: eve@attacker.example", "duns": "123456789",
                "presentation_id": "p"})
    await js.publish(EMAIL_SUBJECT, poison.SerializeToString(), headers={envelope.MSG_ID: poison_id})
    addresses = [f"ordinary{n}.{uuid.uuid4().hex[:6]}@mail.example" for n in range(ordinary)]
    for address in addresses:
        normal = mail_events.EmailRequested(
            template=mail_events.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, language="en",
            to=[mail_events.EmailRecipient(address=address)],
            params={"legal_name": "Forges", "duns": "123456789", "presentation_id": "p"})
        await js.publish(EMAIL_SUBJECT, normal.SerializeToString(), headers={envelope.MSG_ID: str(uuid.uuid4())})
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        got = {r for m in stack.sink.received for r in m.rcpt_tos}
        if all(a in got for a in addresses):
            break
        await asyncio.sleep(0.2)
    got = {r for m in stack.sink.received for r in m.rcpt_tos}
    async with stack.apps[2].database.session(readonly=True) as session, session.begin():
        status = (await session.execute(text("SELECT status FROM mail_spool WHERE event_id = :id"),
                                        {"id": poison_id})).scalar()
    return sum(1 for a in addresses if a not in got), str(status)


async def run_inputs(report: Report, stack: Stack, nc: Any, *, quick: bool) -> None:
    tries, accepted, problems = await hostile_text(stack)
    report.add("abuse_hostile_text_tries", tries, "fields × characters", "> 0",
               f"{len(HOSTILE)} hostile strings in every public form field and the ASL console's")
    report.add("abuse_hostile_text_accepted", accepted, "fields", "0", "; ".join(problems[:4]))
    delayed, status = await poison_mail(stack, nc, 10 if quick else 60)
    report.add("abuse_mails_delayed_by_poison", delayed, "mails", "0",
               f"the poison itself ended {status} (names and subject neutralised to one line)")
    injected, relayed = await folding_and_relaying(stack)
    report.add("abuse_injected_recipients", injected, "addresses", "0",
               f"{len(stack.sink.received)} mails parsed back, among them a contact name that folds with commas, "
               "angle brackets and addresses, and the poison's CR LF and Bcc")
    report.add("abuse_requester_text_relayed", relayed, "mails", "0",
               "the acknowledgement to an unproven address quotes the reference and category only")
    calls, wrong = await undecodable_answers(stack)
    report.add("abuse_undecodable_not_invalid_argument", len(wrong), "calls", "0",
               f"{calls} string fields of every RPC holding invalid UTF-8 " + "; ".join(wrong[:3]))
