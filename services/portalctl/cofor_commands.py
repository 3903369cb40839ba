"""Purchasing commands: presentations, referencing, sites, supplier status, portal access: the review of access
requests, the signatory of record and the reset of a company's access (each decision recorded with --agent)."""
from __future__ import annotations

import argparse
from typing import Any

from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import cofor_service_pb2_grpc as api_grpc
from portal.cofor.v1 import supplier_pb2 as pb

from kit.validation import enum_value

from portalctl.connection import agent_name, call, show


async def _cofor(method: str, request: Any, agent: str = "") -> Any:
    return await call("cofor", api_grpc.CoforServiceStub, method, request, agent=agent)


async def presentations(args: argparse.Namespace) -> None:
    state = enum_value(pb.PresentationState, "PRESENTATION_STATE_", args.state)
    token = ""
    while True:
        page = await _cofor("ListPresentations", api.ListPresentationsRequest(state=state, page_size=200,
                                                                             page_token=token))
        for p in page.presentations:
            state_name = pb.PresentationState.Name(p.state).removeprefix("PRESENTATION_STATE_")
            print(f"{p.presentation_id}  {state_name:<10}  {p.duns}  {p.legal_name}  <{p.email}>"
                  + (f"  missing: {', '.join(p.missing_fields)}" if p.missing_fields else ""))
        token = page.next_page_token
        if not token:
            return


async def show_presentation(args: argparse.Namespace) -> None:
    show((await _cofor("GetPresentation", api.GetPresentationRequest(presentation_id=args.id))).presentation)


async def reference(args: argparse.Namespace) -> None:
    supplier = (await _cofor("ReferenceSupplier", api.ReferenceSupplierRequest(presentation_id=args.id))).supplier
    print(f"referenced: COFOR {supplier.head_office_cofor!r} ({supplier.legal_name})")


async def reject(args: argparse.Namespace) -> None:
    await _cofor("RejectPresentation", api.RejectPresentationRequest(presentation_id=args.id, reason=args.reason))
    print("rejected")


async def supplier(args: argparse.Namespace) -> None:
    show((await _cofor("GetSupplier", api.GetSupplierRequest(cofor=args.cofor))).supplier)


async def suppliers(args: argparse.Namespace) -> None:
    token = ""
    while True:
        page = await _cofor("ListSuppliers", api.ListSuppliersRequest(page_size=200, page_token=token))
        for s in page.suppliers:
            status = pb.SupplierStatus.Name(s.status).removeprefix("SUPPLIER_STATUS_")
            access = pb.PortalAccessState.Name(s.portal_access_state).removeprefix("PORTAL_ACCESS_STATE_")
            print(f"{s.head_office_cofor}  {status:<11}  access {access:<21}  {s.legal_name}")
        token = page.next_page_token
        if not token:
            return


async def add_site(args: argparse.Namespace) -> None:
    address = pb.Address(lines=[args.street] if args.street else [], postal_code=args.postal_code or "",
                         city=args.city or "", country_code=args.country or "")
    site = (await _cofor("AddSite", api.AddSiteRequest(cofor_root=args.cofor, site_code=args.code or "",
                                                       name=args.name, address=address))).site
    print(f"site added: {site.cofor!r} {site.name}")


async def deactivate(args: argparse.Namespace) -> None:
    await _cofor("DeactivateSupplier", api.DeactivateSupplierRequest(cofor_root=args.cofor, reason=args.reason))
    print("deactivated")


async def reactivate(args: argparse.Namespace) -> None:
    await _cofor("ReactivateSupplier", api.ReactivateSupplierRequest(cofor_root=args.cofor))
    print("reactivated")


async def suspend(args: argparse.Namespace) -> None:
    await _cofor("SuspendPortalAccess", api.SuspendPortalAccessRequest(cofor_root=args.cofor, reason=args.reason))
    print("portal access suspended")


async def reopen(args: argparse.Namespace) -> None:
    await _cofor("ReopenPortalAccess", api.ReopenPortalAccessRequest(cofor_root=args.cofor))
    print("portal access reopened")


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
        page = await _cofor("ListSuppliers", api.ListSuppliersRequest(page_size=200, page_token=token))
        for listed in page.suppliers:
            if listed.portal_access_state not in (pb.PORTAL_ACCESS_STATE_UNDER_REVIEW,
                                                  pb.PORTAL_ACCESS_STATE_TERMS_PENDING):
                continue
            s = (await _cofor("GetSupplier", api.GetSupplierRequest(cofor=listed.cofor_root))).supplier
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
        supplier = (await _cofor("GetSupplier", api.GetSupplierRequest(cofor=args.cofor))).supplier
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
    s = (await _cofor("ReviewAccessRequest", message, agent_name(args.agent))).supplier
    print(f"request {request_id}: " + ("approved, the acceptance link went to the signatory of record"
                                        if args.approve else "declined"))
    print(f"access {pb.PortalAccessState.Name(s.portal_access_state).removeprefix('PORTAL_ACCESS_STATE_')}")


async def open_file(args: argparse.Namespace) -> None:
    """Purchasing opens the company file for a company (e.g. whose D-U-N-S a squatting draft holds)."""
    p = (await _cofor("StartPresentation", api.StartPresentationRequest(
        duns=args.duns, email=args.email, legal_name=args.legal_name, language=args.language),
        agent_name(args.agent))).presentation
    print(f"file {p.presentation_id} opened for {p.email}; the D-U-N-S is held until "
          f"{p.expire_time.ToJsonString()} (the presenter must open the mailed link)")


async def signatory(args: argparse.Namespace) -> None:
    s = (await _cofor("UpdateSignatoryOfRecord", api.UpdateSignatoryOfRecordRequest(
        cofor=args.cofor, signatory=_person(args)), agent_name(args.agent))).supplier
    print(f"signatory of record: {_contact_line(s.signatory_of_record)}")


async def reset_access(args: argparse.Namespace) -> None:
    await _cofor("ResetPortalAccess", api.ResetPortalAccessRequest(cofor=args.cofor, reason=args.reason),
                 agent_name(args.agent))
    print("portal access reset: every account of the company is disabled; the company starts from a new request")


def _person_options(p: argparse.ArgumentParser, required: bool, prefix: str = "") -> None:
    for name in ("given_name", "family_name", "email", "phone", "job_title"):
        p.add_argument(f"--{prefix.replace('_', '-')}{name.replace('_', '-')}", dest=prefix + name,
                       required=required, default="")
    p.add_argument(f"--{prefix.replace('_', '-')}language", dest=prefix + "language", choices=["fr", "en"],
                   default="fr")


async def validate(args: argparse.Namespace) -> None:
    reply = await _cofor("BatchValidateCofor", api.BatchValidateCoforRequest(cofors=args.cofors))
    for r in reply.results:
        if r.valid:
            print(f"{r.input!r}: valid {r.cofor!r} {'head office' if r.is_head_office else 'site'} "
                  f"of {r.legal_name}")
        else:
            reason = api.CoforInvalidReason.Name(r.reason).removeprefix("COFOR_INVALID_REASON_")
            print(f"{r.input!r}: invalid ({reason})")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cofor = commands.add_parser("cofor", help="supplier registry (purchasing)")
    sub = cofor.add_subparsers(dest="action", required=True)

    p = sub.add_parser("presentations", help="list company files")
    p.add_argument("--state", choices=["DRAFT", "SUBMITTED", "REFERENCED", "REJECTED", "EXPIRED"])
    p.set_defaults(run=presentations)
    p = sub.add_parser("presentation", help="show one company file")
    p.add_argument("id")
    p.set_defaults(run=show_presentation)
    p = sub.add_parser("reference", help="reference a submitted file: new COFOR")
    p.add_argument("id")
    p.set_defaults(run=reference)
    p = sub.add_parser("reject", help="reject a submitted file, or a draft that squats a company's D-U-N-S")
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p.set_defaults(run=reject)
    p = sub.add_parser("show", help="show a supplier")
    p.add_argument("cofor")
    p.set_defaults(run=supplier)
    p = sub.add_parser("list", help="list suppliers")
    p.set_defaults(run=suppliers)
    p = sub.add_parser("add-site", help="add a site to a supplier")
    p.add_argument("cofor")
    p.add_argument("--name", required=True)
    p.add_argument("--code", help="site code (default: next free)")
    p.add_argument("--street")
    p.add_argument("--postal-code")
    p.add_argument("--city")
    p.add_argument("--country")
    p.set_defaults(run=add_site)
    for name, run, needs_reason in (("deactivate", deactivate, True), ("reactivate", reactivate, False),
                                    ("suspend", suspend, True), ("reopen", reopen, False)):
        p = sub.add_parser(name, help=f"{name} a supplier" if "activate" in name else f"{name} portal access")
        p.add_argument("cofor")
        if needs_reason:
            p.add_argument("--reason", default="")
        p.set_defaults(run=run)
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
    p = sub.add_parser("validate", help="validate COFOR codes")
    p.add_argument("cofors", nargs="+")
    p.set_defaults(run=validate)
