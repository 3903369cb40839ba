"""Purchasing's commands on portal access (``portalctl cofor ...``, registered by cofor_commands.py): the review of
access requests, the signatory of record, the company file opened for a company and the reset of a company's access
(each decision recorded with --agent)."""
from __future__ import annotations

import argparse

from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from portalctl.connection import agent_name, call_cofor


def _person(args: argparse.Namespace, prefix: str = "") -> pb.Contact:
    value = vars(args)
    return pb.Contact(**{name: value[prefix + name] for name in ("given_name", "family_name", "email", "phone",
                                                                   "job_title", "language")})


def _contact_line(c: pb.Contact) -> str:
    return f"{c.given_name} {c.family_name} <{c.email}> {c.phone} {c.job_title}".strip()


async def requests(args: argparse.Namespace) -> None:
    """Every access request still waiting: who asked, for whom, from where, and the signatory of record."""
    token = ""
    while True:
        page = await call_cofor("ListSuppliers", api.ListSuppliersRequest(page_size=200, page_token=token))
        for listed in page.suppliers:
            if listed.portal_access_state not in (pb.PORTAL_ACCESS_STATE_UNDER_REVIEW,
                                                  pb.PORTAL_ACCESS_STATE_TERMS_PENDING):
                continue
            s = (await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=listed.cofor_root))).supplier
            record = _contact_line(s.signatory_of_record) if s.HasField("signatory_of_record") else "none"
            print(f"{s.head_office_cofor}  {s.legal_name}  (signatory of record: {record})")
            for r in s.pending_access_requests:
                status = pb.AccessRequestStatus.Name(r.status).removeprefix("ACCESS_REQUEST_STATUS_")
                print(f"  request {r.access_request_id} {status} filed {r.create_time.ToJsonString()} from "
                      f"{r.requested_from or '?'}\n    signatory named: {_contact_line(r.signatory)}\n"
                      f"    nominated ASL: {_contact_line(r.administrator)}")
        token = page.next_page_token
        if not token:
            return


async def review(args: argparse.Namespace) -> None:
    request_id = args.request
    if not request_id:
        supplier = (await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=args.cofor))).supplier
        under_review = [r.access_request_id for r in supplier.pending_access_requests
                        if r.status == pb.ACCESS_REQUEST_STATUS_UNDER_REVIEW]
        if len(under_review) != 1:
            raise SystemExit(f"{len(under_review)} requests under review: name one with --request "
                             "(portalctl cofor requests lists them)")
        request_id = under_review[0]
    decision = api.ACCESS_REVIEW_DECISION_APPROVE if args.approve else api.ACCESS_REVIEW_DECISION_DECLINE
    message = api.ReviewAccessRequestRequest(cofor=args.cofor, access_request_id=request_id, decision=decision,
                                             reason=args.reason or "")
    if args.approve:
        message.signatory.CopyFrom(_person(args))
        if args.asl_email:
            message.administrator.CopyFrom(_person(args, "asl_"))
    s = (await call_cofor("ReviewAccessRequest", message, agent_name(args.agent))).supplier
    print(f"request {request_id}: " + ("approved, the acceptance link went to the signatory of record"
                                        if args.approve else "declined"))
    print(f"access {pb.PortalAccessState.Name(s.portal_access_state).removeprefix('PORTAL_ACCESS_STATE_')}")


async def open_file(args: argparse.Namespace) -> None:
    """Purchasing opens the company file for a company (e.g. whose D-U-N-S a squatting draft holds)."""
    p = (await call_cofor("StartPresentation", api.StartPresentationRequest(
        duns=args.duns, email=args.email, legal_name=args.legal_name, language=args.language),
        agent_name(args.agent))).presentation
    print(f"file {p.presentation_id} opened for {p.email}; the D-U-N-S is held until "
          f"{p.expire_time.ToJsonString()} (the presenter must open the mailed link)")


async def signatory(args: argparse.Namespace) -> None:
    s = (await call_cofor("UpdateSignatoryOfRecord", api.UpdateSignatoryOfRecordRequest(
        cofor=args.cofor, signatory=_person(args)), agent_name(args.agent))).supplier
    print(f"signatory of record: {_contact_line(s.signatory_of_record)}")


async def reset_access(args: argparse.Namespace) -> None:
    await call_cofor("ResetPortalAccess", api.ResetPortalAccessRequest(cofor=args.cofor, reason=args.reason),
                 agent_name(args.agent))
    print("portal access reset: every account of the company is disabled; the company starts from a new request")


def _person_options(p: argparse.ArgumentParser, required: bool, prefix: str = "") -> None:
    for name in ("given_name", "family_name", "email", "phone", "job_title"):
        p.add_argument(f"--{prefix.replace('_', '-')}{name.replace('_', '-')}", dest=prefix + name,
                       required=required, default="")
    p.add_argument(f"--{prefix.replace('_', '-')}language", dest=prefix + "language", choices=["fr", "en"],
                   default="fr")


def register_access(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The access commands, among ``portalctl cofor``'s (``sub``)."""
    p = sub.add_parser("requests", help="access requests waiting for purchasing's review")
    p.set_defaults(run=requests)
    p = sub.add_parser("review", help="approve (with the signatory you checked) or decline an access request")
    p.add_argument("cofor")
    p.add_argument("--request", help="the request's id (default: the company's current request)")
    decision = p.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true", help="send the acceptance link to the checked signatory")
    decision.add_argument("--decline", action="store_true")
    p.add_argument("--reason", help="required to decline; a note when approving")
    _person_options(p, required=False)
    _person_options(p, required=False, prefix="asl_")  # --asl-given-name...: the nominee agreed with the company
    p.add_argument("--agent", help="your name, recorded with the decision (default: $PORTAL_AGENT or $USER)")
    p.set_defaults(run=review)
    p = sub.add_parser("signatory", help="record the company's signatory of record")
    p.add_argument("cofor")
    _person_options(p, required=True)
    p.add_argument("--agent")
    p.set_defaults(run=signatory)
    p = sub.add_parser("open-file", help="open the company file for a company (holds its D-U-N-S at once; rejects "
                                         "a draft that squats it)")
    p.add_argument("--duns", required=True)
    p.add_argument("--email", required=True, help="the company's presenter, who gets the link")
    p.add_argument("--legal-name", required=True)
    p.add_argument("--language", choices=["fr", "en"], default="fr")
    p.add_argument("--agent")
    p.set_defaults(run=open_file)
    p = sub.add_parser("reset-access", help="close the company's access, disable every account, start again")
    p.add_argument("cofor")
    p.add_argument("--reason", required=True)
    p.add_argument("--agent")
    p.set_defaults(run=reset_access)
