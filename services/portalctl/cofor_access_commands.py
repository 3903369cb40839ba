"""Purchasing's commands on portal access (``portalctl cofor ...``, on cofor_commands.py's group): the review of
access requests, the signatory of record, the company file opened for a company and the reset of a company's access
(each decision recorded with --agent)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from portalctl.cli import LANGUAGE, agent_option, command, reason_option
from portalctl.cofor_commands import COFOR, cofor_group
from portalctl.connection import agent_name, call_cofor, pages
from portalctl.output import done, enum_words, table, when

PERSON = (("given_name", "given name"), ("family_name", "family name"), ("email", "e-mail address"),
          ("phone", "phone number"), ("job_title", "job title"))
WAITING = (pb.PORTAL_ACCESS_STATE_UNDER_REVIEW, pb.PORTAL_ACCESS_STATE_TERMS_PENDING)


def _person_options(required: bool, prefix: str = "", whom: str = "the signatory of record"
                    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--given-name, --family-name, --email, --phone, --job-title, --language (each after ``prefix``)."""
    given: dict[str, Any] = {"required": True} if required else {"default": ""}

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        function = click.option(f"--{prefix}language", f"{prefix.replace('-', '_')}language", type=LANGUAGE,
                                default="fr", show_default=True, help=f"Language of {whom}.")(function)
        for name, text in reversed(PERSON):
            function = click.option(f"--{prefix}{name.replace('_', '-')}", f"{prefix.replace('-', '_')}{name}",
                                    help=f"{text.capitalize()} of {whom}.", **given)(function)
        return function
    return decorate


def _contact(values: dict[str, Any], prefix: str = "") -> pb.Contact:
    return pb.Contact(**{name: values[prefix + name] for name, _ in PERSON}, language=values[prefix + "language"])


def _who(c: pb.Contact) -> str:
    return f"{c.given_name} {c.family_name} <{c.email}>" if c.email else "-"


@command(cofor_group, "requests", "portalctl cofor requests")
async def requests() -> None:
    """List the access requests still waiting: company, request, status, when and where from, the signatory the
    request named, the nominated ASL, and the company's signatory of record to compare them with."""
    listed = await pages(lambda r: call_cofor("ListSuppliers", r), api.ListSuppliersRequest(page_size=200),
                         "suppliers")
    waiting = [(await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=s.cofor_root))).supplier
               for s in listed if s.portal_access_state in WAITING]
    rows = [(s, r) for s in waiting for r in s.pending_access_requests]
    table(rows, [("cofor", lambda row: row[0].cofor_root), ("legal name", lambda row: row[0].legal_name),
                 ("request", lambda row: row[1].access_request_id),
                 ("status", lambda row: enum_words(row[1], "status")), ("filed", lambda row: when(row[1].create_time)),
                 ("from", lambda row: row[1].requested_from), ("signatory named", lambda row: _who(row[1].signatory)),
                 ("nominated ASL", lambda row: _who(row[1].administrator)),
                 ("signatory of record", lambda row: _who(row[0].signatory_of_record))], machine=waiting)


REVIEW_EXAMPLES = """
portalctl cofor review 12345A --approve --given-name Anne --family-name Roy --email anne.roy@acme.example \\
    --phone "+33 3 87 00 00 00" --job-title Présidente --reason "checked on the register"
portalctl cofor review 12345A --decline --reason "nobody at the company knows these people"
"""


@command(cofor_group, "review", REVIEW_EXAMPLES)
@COFOR
@click.option("--approve", is_flag=True, help="Approve: the acceptance link goes to the signatory you checked "
                                              "(recorded as signatory of record).")
@click.option("--decline", is_flag=True, help="Decline (with --reason).")
@click.option("--request", "request_id", default="", metavar="ID",
              help="The request's id (default: the company's only request under review).")
@reason_option(False, "Required to decline; a note when approving.")
@_person_options(False, whom="the signatory you checked (with --approve)")
@_person_options(False, "asl-", "the nominee agreed with the company, if not the request's")
@agent_option
async def review(cofor: str, approve: bool, decline: bool, request_id: str, reason: str, agent: str | None,
                 **person: Any) -> None:
    """Approve (with the signatory you checked) or decline an access request under review."""
    if approve == decline:
        raise click.UsageError("give one of --approve or --decline", click.get_current_context())
    if not request_id:
        supplier = (await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=cofor))).supplier
        under_review = [r.access_request_id for r in supplier.pending_access_requests
                        if r.status == pb.ACCESS_REQUEST_STATUS_UNDER_REVIEW]
        if len(under_review) != 1:
            raise click.ClickException(f"{len(under_review)} requests under review: name one with --request "
                                       "(portalctl cofor requests lists them)")
        request_id = under_review[0]
    decision = api.ACCESS_REVIEW_DECISION_APPROVE if approve else api.ACCESS_REVIEW_DECISION_DECLINE
    message = api.ReviewAccessRequestRequest(cofor=cofor, access_request_id=request_id, decision=decision,
                                             reason=reason)
    if approve:
        message.signatory.CopyFrom(_contact(person))
        if person["asl_email"]:
            message.administrator.CopyFrom(_contact(person, "asl_"))
    s = (await call_cofor("ReviewAccessRequest", message, agent_name(agent))).supplier
    outcome = "approved, the acceptance link went to the signatory of record" if approve else "declined"
    done(s, f"request {request_id}: {outcome}\naccess {enum_words(s, 'portal_access_state')}")


@command(cofor_group, "signatory", "portalctl cofor signatory 12345A --given-name Anne --family-name Roy \\\n"
                                   "    --email anne.roy@acme.example --phone \"+33 3 87 00 00 00\" --job-title CEO")
@COFOR
@_person_options(True)
@agent_option
async def signatory(cofor: str, agent: str | None, **person: Any) -> None:
    """Record the company's signatory of record (links sent to the previous one are voided; their requests go back
    to review)."""
    s = (await call_cofor("UpdateSignatoryOfRecord", api.UpdateSignatoryOfRecordRequest(
        cofor=cofor, signatory=_contact(person)), agent_name(agent))).supplier
    c = s.signatory_of_record
    done(s, f"signatory of record of {s.cofor_root}: {_who(c)} {c.phone} {c.job_title}".rstrip())


@command(cofor_group, "open-file", 'portalctl cofor open-file --duns 123456789 --email presenter@company.example '
                                   '--legal-name "Forges SA"')
@click.option("--duns", required=True, help="The company's D-U-N-S number (9 digits).")
@click.option("--email", required=True, help="The company's presenter, who gets the link.")
@click.option("--legal-name", required=True, help="The company's legal name.")
@click.option("--language", type=LANGUAGE, default="fr", show_default=True, help="The presenter's language.")
@agent_option
async def open_file(duns: str, email: str, legal_name: str, language: str, agent: str | None) -> None:
    """Open the company file for a company: holds its D-U-N-S at once and rejects a draft that squats it; the
    presenter gets the link by mail."""
    p = (await call_cofor("StartPresentation", api.StartPresentationRequest(
        duns=duns, email=email, legal_name=legal_name, language=language), agent_name(agent))).presentation
    done(p, f"file {p.presentation_id} opened for {p.email}; the D-U-N-S is held until {when(p.expire_time)} "
            "(the presenter must open the mailed link)")


@command(cofor_group, "reset-access", 'portalctl cofor reset-access 12345A --reason "the first ASL is not one of ours"')
@COFOR
@reason_option(True, "Why (one line, recorded).")
@agent_option
async def reset_access(cofor: str, reason: str, agent: str | None) -> None:
    """Reset a company's portal access: every request closed, every account of the company disabled for good; the
    company starts again from a new access request."""
    s = (await call_cofor("ResetPortalAccess", api.ResetPortalAccessRequest(cofor=cofor, reason=reason),
                          agent_name(agent))).supplier
    done(s, f"portal access of {s.cofor_root} reset: every account of the company is disabled; the company starts "
            "from a new request")
