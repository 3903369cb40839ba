"""Purchasing commands (``portalctl cofor ...``): presentations, referencing, sites, supplier status, validation;
the review of access requests, the signatory of record and the reset of a company's access are in
cofor_access_commands.py (registered on the same group)."""
from __future__ import annotations

import click
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from kit.validation import enum_value

from portalctl.cli import Words, command, group, reason_option
from portalctl.connection import call_cofor, pages
from portalctl.output import done, enum_words, show, table, when, words

cofor_group = group("cofor", "The supplier registry (purchasing): company files, COFOR codes and sites, portal access.")
STATES = ["DRAFT", "SUBMITTED", "REFERENCED", "REJECTED", "EXPIRED"]
COFOR = click.argument("cofor", help="The supplier's COFOR, in any form: 12345A, 12345a01, \"12345A  01\".")
FILE = click.argument("presentation_id", metavar="PRESENTATION_ID", help="The company file's id (see "
                      "`portalctl cofor presentations`).")


@command(cofor_group, "presentations", "portalctl cofor presentations --state submitted")
@click.option("--state", type=Words(STATES), metavar="STATE",
              help=f"Only the files in this state: {Words(STATES).listed()} (any case).")
async def presentations(state: str | None) -> None:
    """List company files ("present your company"): id, state, D-U-N-S, company, presenter, missing fields."""
    request = api.ListPresentationsRequest(state=enum_value(pb.PresentationState, "PRESENTATION_STATE_", state or ""),
                                           page_size=200)
    table(await pages(lambda r: call_cofor("ListPresentations", r), request, "presentations"), [
        ("id", lambda p: p.presentation_id), ("state", lambda p: enum_words(p, "state")), ("D-U-N-S", lambda p: p.duns),
        ("legal name", lambda p: p.legal_name), ("e-mail", lambda p: p.email),
        ("updated", lambda p: when(p.update_time)), ("missing", lambda p: ", ".join(p.missing_fields))])


@command(cofor_group, "presentation", "portalctl cofor presentation 0f6c…")
@FILE
async def presentation(presentation_id: str) -> None:
    """Show one company file: every field, its legal representative and its dates."""
    show((await call_cofor("GetPresentation", api.GetPresentationRequest(presentation_id=presentation_id)))
         .presentation)


@command(cofor_group, "reference", "portalctl cofor reference 0f6c…")
@FILE
async def reference(presentation_id: str) -> None:
    """Reference a submitted company file: a new random COFOR root and head-office site 01; the file's legal
    representative becomes the supplier's signatory of record."""
    s = (await call_cofor("ReferenceSupplier", api.ReferenceSupplierRequest(presentation_id=presentation_id))).supplier
    done(s, f"referenced: COFOR {s.head_office_cofor!r} ({s.legal_name})")


@command(cofor_group, "reject", 'portalctl cofor reject 0f6c… --reason "not a supplier of ours"')
@FILE
@reason_option(True, "Why (one line; the presenter is told).")
async def reject(presentation_id: str, reason: str) -> None:
    """Reject a submitted company file, or a draft that squats a company's D-U-N-S."""
    p = (await call_cofor("RejectPresentation", api.RejectPresentationRequest(presentation_id=presentation_id,
                                                                              reason=reason))).presentation
    done(p, f"file {p.presentation_id} ({p.legal_name or p.duns}) rejected")


@command(cofor_group, "show", "portalctl cofor show 12345A")
@COFOR
async def supplier(cofor: str) -> None:
    """Show a supplier: status, portal access, sites, signatory of record, access requests waiting."""
    show((await call_cofor("GetSupplier", api.GetSupplierRequest(cofor=cofor))).supplier)


@command(cofor_group, "list", "portalctl cofor list")
async def suppliers() -> None:
    """List every supplier: COFOR root, status, portal access, D-U-N-S, company."""
    table(await pages(lambda r: call_cofor("ListSuppliers", r), api.ListSuppliersRequest(page_size=200), "suppliers"), [
        ("cofor", lambda s: s.cofor_root), ("status", lambda s: enum_words(s, "status")),
        ("access", lambda s: enum_words(s, "portal_access_state")), ("D-U-N-S", lambda s: s.duns),
        ("legal name", lambda s: s.legal_name)])


@command(cofor_group, "add-site", 'portalctl cofor add-site 12345A --name "Plant 2" --city Metz --country FR')
@COFOR
@click.option("--name", required=True, help="The site's name.")
@click.option("--code", default="", help="Site code, two characters (default: the next free one).")
@click.option("--street", default="", help="Street address (one line).")
@click.option("--postal-code", default="", help="Postal code.")
@click.option("--city", default="", help="City.")
@click.option("--country", default="", metavar="CC", help="ISO 3166 country code (FR, DE…).")
async def add_site(cofor: str, name: str, code: str, street: str, postal_code: str, city: str, country: str) -> None:
    """Add a site to a supplier: a new COFOR (root + site code)."""
    address = pb.Address(lines=[street] if street else [], postal_code=postal_code, city=city, country_code=country)
    site = (await call_cofor("AddSite", api.AddSiteRequest(cofor_root=cofor, site_code=code, name=name,
                                                           address=address))).site
    done(site, f"site added: {site.cofor!r} {site.name}")


@command(cofor_group, "deactivate", 'portalctl cofor deactivate 12345A --reason "merged"')
@COFOR
@reason_option(False, "Why (one line, kept with the status).")
async def deactivate(cofor: str, reason: str) -> None:
    """Deactivate a supplier: its codes are no longer valid, its people can no longer log in."""
    s = (await call_cofor("DeactivateSupplier", api.DeactivateSupplierRequest(cofor_root=cofor,
                                                                              reason=reason))).supplier
    done(s, f"{s.cofor_root} ({s.legal_name}) deactivated")


@command(cofor_group, "reactivate", "portalctl cofor reactivate 12345A")
@COFOR
async def reactivate(cofor: str) -> None:
    """Reactivate a deactivated supplier."""
    s = (await call_cofor("ReactivateSupplier", api.ReactivateSupplierRequest(cofor_root=cofor))).supplier
    done(s, f"{s.cofor_root} ({s.legal_name}) reactivated")


@command(cofor_group, "suspend", 'portalctl cofor suspend 12345A --reason "audit in progress"')
@COFOR
@reason_option(False, "Why (one line).")
async def suspend(cofor: str, reason: str) -> None:
    """Suspend a supplier's portal access (nobody of the company can log in until it is reopened)."""
    s = (await call_cofor("SuspendPortalAccess", api.SuspendPortalAccessRequest(cofor_root=cofor,
                                                                                reason=reason))).supplier
    done(s, f"portal access of {s.cofor_root} ({s.legal_name}) suspended")


@command(cofor_group, "reopen", "portalctl cofor reopen 12345A")
@COFOR
async def reopen(cofor: str) -> None:
    """Reopen a supplier's suspended portal access."""
    s = (await call_cofor("ReopenPortalAccess", api.ReopenPortalAccessRequest(cofor_root=cofor))).supplier
    done(s, f"portal access of {s.cofor_root} ({s.legal_name}) reopened")


def _result(r: api.CoforValidation) -> str:
    if not r.valid:
        return "invalid"
    return "valid" if r.supplier_status == pb.SUPPLIER_STATUS_ACTIVE else "known"


def _note(r: api.CoforValidation) -> str:
    if not r.valid:
        return words(api.CoforInvalidReason.DESCRIPTOR, r.reason)
    return "" if r.supplier_status == pb.SUPPLIER_STATUS_ACTIVE else f"supplier {enum_words(r, 'supplier_status')}"


@command(cofor_group, "validate", "portalctl cofor validate 12345A 12345A02 nope")
@click.argument("cofors", nargs=-1, required=True, metavar="COFOR...", help="The codes to check, in any form.")
async def validate(cofors: tuple[str, ...]) -> None:
    """Validate COFOR codes: valid (a site of an active supplier), known (of a supplier purchasing deactivated:
    not valid) or invalid (with the reason)."""
    reply = await call_cofor("BatchValidateCofor", api.BatchValidateCoforRequest(cofors=list(cofors)))
    table(list(reply.results), [
        ("input", lambda r: r.input), ("result", _result), ("cofor", lambda r: r.cofor),
        ("site", lambda r: ("head office" if r.is_head_office else "site") if r.valid else ""),
        ("supplier", lambda r: r.legal_name), ("note", _note)])
