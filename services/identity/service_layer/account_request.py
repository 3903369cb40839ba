""""Ask my company's ASL for an account" (RequestAccount): a newcomer without a V-identifier reaches the ASLs of
their company, and learns nothing about it on the way.

Every value is the requester's claim. The answer is the same accepted key after the same work whatever the COFOR
matches (unknown, closed, without an ASL): the same rate-limit writes, the same two reads (the company, its ASLs),
one transaction; the mails leave through the outbox. The acknowledgement to the typed address has one text and quotes
nothing typed: it tells nobody anything, and relays nobody's words to a stranger's mailbox.

Limits: the client address's is the only one that refuses, counted in its own transaction after the fields are
checked and before anything else is written (a refused call writes nothing). Those of the requester's mailbox (case
and "+tag" folded) and of the company never refuse: past the mailbox's, that address gets no more mail from this
form and its requests are not relayed; past the company's, requests are acknowledged but no longer relayed, so that
nobody can flood an ASL.
"""
from __future__ import annotations

from dataclasses import dataclass

from kit import ratelimit, validation
from kit.errors import Violations
from notify import mails

from identity.domain import events as ev
from identity.domain.states import parse_cofor_root
from identity.service_layer.common import Tools, admit_client

ACCEPTED = "account_request.accepted"
MESSAGE_MAX_LENGTH = 1000
DAY = 86_400


@dataclass(frozen=True)
class AccountRequest:
    """What the requester typed: nothing of it is verified."""
    cofor: str
    given_name: str
    family_name: str
    email: str
    job_title: str
    message: str = ""
    language: str = ""


def mailbox(email: str) -> str:
    """The mailbox an address reaches, case and "+tag" folded: its variants share one count."""
    local, _, domain = email.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def checked(request: AccountRequest) -> tuple[str, AccountRequest]:
    """The COFOR root and the request as stored (blanks stripped, NFC), or INVALID_ARGUMENT naming each bad field."""
    v = Violations()
    root = parse_cofor_root(request.cofor)
    if root is None:
        v.add("cofor", "a COFOR is 6 letters or digits, optionally followed by a site code")
    clean = AccountRequest(
        cofor=root or "", given_name=validation.clean(request.given_name),
        family_name=validation.clean(request.family_name), email=request.email.strip(),
        job_title=validation.clean(request.job_title), message=validation.clean(request.message),
        language=validation.language_of(request.language) or "")
    validation.contact_violations(v, "", {  # one line each, no web address (they reach the ASLs' mailboxes)
        "given_name": clean.given_name, "family_name": clean.family_name, "job_title": clean.job_title,
        "email": clean.email, "language": request.language})
    if err := validation.text_error(clean.message, required=False, max_length=MESSAGE_MAX_LENGTH, multiline=True):
        v.add("message", err)
    if not clean.email.isascii():  # the mailer writes only plain ASCII addresses: the ASL's reply could not reach it
        v.add("email", "must be a plain ASCII address")
    v.raise_if_any()
    return root or "", clean


class AccountRequests:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def request_account(self, request: AccountRequest, client: str = "") -> str:
        root, typed = checked(request)
        settings = self.tools.settings
        await admit_client(self.tools, "account-request-client", settings.account_request_limit_per_client_per_hour,
                           client)
        now = self.tools.clock()
        per_mailbox = ratelimit.Limit("account-request-email", settings.account_request_limit_per_email_per_day, DAY)
        per_company = ratelimit.Limit("account-request-company", settings.account_request_limit_per_company_per_day,
                                      DAY)
        async with self.tools.uow(client=client) as uow:
            mailbox_within = await uow.rate_limits.within([(per_mailbox, mailbox(typed.email))])
            company_within = await uow.rate_limits.within([(per_company, root)])  # counted for any COFOR
            company = await uow.companies.get(root)
            administrators = await uow.accounts.active_administrators(root)
            relayed = bool(company and company["supplier_active"] and company["access_open"]) and company_within
            if mailbox_within:
                uow.record(ev.Notice(identifier="", cofor_root=root, at=now, to_email=typed.email, to_name="",
                                     language=typed.language, mail=mails.account_request_acknowledgement()))
                for admin in administrators if relayed else ():
                    uow.record(ev.Notice(
                        identifier=admin.identifier, cofor_root=root, at=now, to_email=admin.email,
                        to_name=admin.display_name, language=admin.language, reply_to=(typed.email, ""),
                        mail=mails.account_request_to_administrator(
                            requester_given_name=typed.given_name, requester_family_name=typed.family_name,
                            requester_email=typed.email, requester_job_title=typed.job_title, message=typed.message,
                            legal_name=company["legal_name"] if company else "", cofor_root=root)))
            await uow.commit()
        return ACCEPTED
