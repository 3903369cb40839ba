"""Purchasing commands (``portalctl cofor ...``): presentations, referencing, sites, supplier status, portal access;
the review of access requests, the signatory of record and the reset of a company's access are in
cofor_access_commands.py."""
from __future__ import annotations

import argparse

from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from kit.validation import enum_value

from portalctl.cofor_access_commands import register_access
from portalctl.connection import call_cofor, show


async def presentations(args: argparse.Namespace) -> None:
    state = enum_value(pb.PresentationState, "PRESENTATION_STATE_", args.state)
    token = ""
    while True:
        page = await call_cofor("ListPresentations", api.ListPresentationsRequest(state=state, page_size=200,
                                                                             page_token=token))
        for p in page.presentations:
            state_name = pb.PresentationState.Name(p.state).removeprefix("PRESENTATION_STATE_")
            print(f"{p.presentation_id}  {state_name:<10}  {p.duns}  {p.legal_name}  <{p.email}>"
                  + (f"  missing: {', '.join(p.missing_fields)}" if p.missing_fields else ""))
        token = page.next_page_token
        if not token:
            return


async def show_presentation(args: argparse.Namespace) -> None:
    show((await call_cofor("GetPresentation", api.GetPresentationRequest(presentation_id=args.id))).presentation)


async def reference(args: argparse.Namespace) -> None:
    supplier = (await call_cofor("ReferenceSupplier", api.ReferenceSupplierRequest(presentation_id=args.id))).supplier
    print(f"referenced: COFOR {supplier.head_office_cofor!r} ({supplier.legal_name})")


async def reject(args: argparse.Namespace) -> None:
    await call_cofor("RejectPresentation", api.RejectPresentationRequest(presentation_id=args.id, reason=args.reason))
    print("rejected")


async def supplier(args: argparse.Namespace) -> None:
    show((await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=args.cofor))).supplier)


async def suppliers(args: argparse.Namespace) -> None:
    token = ""
    while True:
        page = await call_cofor("ListSuppliers", api.ListSuppliersRequest(page_size=200, page_token=token))
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
    site = (await call_cofor("AddSite", api.AddSiteRequest(cofor_root=args.cofor, site_code=args.code or "",
                                                       name=args.name, address=address))).site
    print(f"site added: {site.cofor!r} {site.name}")


async def deactivate(args: argparse.Namespace) -> None:
    await call_cofor("DeactivateSupplier", api.DeactivateSupplierRequest(cofor_root=args.cofor, reason=args.reason))
    print("deactivated")


async def reactivate(args: argparse.Namespace) -> None:
    await call_cofor("ReactivateSupplier", api.ReactivateSupplierRequest(cofor_root=args.cofor))
    print("reactivated")


async def suspend(args: argparse.Namespace) -> None:
    await call_cofor("SuspendPortalAccess", api.SuspendPortalAccessRequest(cofor_root=args.cofor, reason=args.reason))
    print("portal access suspended")


async def reopen(args: argparse.Namespace) -> None:
    await call_cofor("ReopenPortalAccess", api.ReopenPortalAccessRequest(cofor_root=args.cofor))
    print("portal access reopened")



async def validate(args: argparse.Namespace) -> None:
    reply = await call_cofor("BatchValidateCofor", api.BatchValidateCoforRequest(cofors=args.cofors))
    for r in reply.results:
        if r.valid:  # an existing site: of an active supplier, or of one purchasing deactivated (said so)
            status = "" if r.supplier_status == pb.SUPPLIER_STATUS_ACTIVE else \
                f" — supplier {pb.SupplierStatus.Name(r.supplier_status).removeprefix('SUPPLIER_STATUS_')}"
            print(f"{r.input!r}: {'valid' if not status else 'known'} {r.cofor!r} "
                  f"{'head office' if r.is_head_office else 'site'} of {r.legal_name}{status}")
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
    register_access(sub)
    p = sub.add_parser("validate", help="validate COFOR codes")
    p.add_argument("cofors", nargs="+")
    p.set_defaults(run=validate)
