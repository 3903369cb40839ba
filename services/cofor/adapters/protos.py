"""Domain objects → protobuf messages (responses and event payloads)."""
from __future__ import annotations

import datetime as dt

from portal.cofor.v1 import supplier_pb2 as pb

from kit.clock import to_timestamp
from kit.validation import enum_value

from cofor.domain.access import AccessRequest
from cofor.domain.model import Site, Supplier
from cofor.domain.presentations import Presentation, PresentationState


def address(lines: list[str], postal_code: str, city: str, country: str) -> pb.Address:
    return pb.Address(lines=lines, postal_code=postal_code, city=city, country_code=country)


def presentation(p: Presentation, now: dt.datetime | None = None) -> pb.Presentation:
    """``now`` given: a draft past its lifetime shows as EXPIRED even before housekeeping has marked it."""
    state = PresentationState.EXPIRED if now is not None and p.is_due(now) else p.state
    return pb.Presentation(
        presentation_id=p.id, state=pb.PresentationState.Value(f"PRESENTATION_STATE_{state.value}"),
        duns=p.duns, email=p.email, language=p.language, legal_name=p.legal_name,
        national_registration_number=p.national_registration_number, tax_number=p.tax_number,
        head_office_address=address(p.address_lines, p.postal_code, p.city, p.address_country),
        country_code=p.country_code, legal_existence_proof_ref=p.legal_existence_proof_ref,
        missing_fields=p.missing_fields(), rejection_reason=p.rejection_reason, cofor_root=p.cofor_root,
        create_time=to_timestamp(p.created_at), update_time=to_timestamp(p.updated_at),
        submit_time=to_timestamp(p.submitted_at), decision_time=to_timestamp(p.decided_at),
        legal_representative=contact(p.representative or {}), confirm_time=to_timestamp(p.confirmed_at),
        expire_time=to_timestamp(p.expires_at() if state == PresentationState.DRAFT else None))


def site(s: Site) -> pb.Site:
    return pb.Site(cofor=s.cofor, cofor_root=s.cofor_root, site_code=s.site_code, name=s.name,
                   address=address(s.address_lines, s.postal_code, s.city, s.address_country),
                   is_head_office=s.is_head_office, create_time=to_timestamp(s.created_at))


CONTACT_FIELDS = ("given_name", "family_name", "email", "phone", "job_title", "language")


def contact(values: dict[str, str]) -> pb.Contact:
    return pb.Contact(**{k: values.get(k, "") for k in CONTACT_FIELDS})


def access_request(r: AccessRequest, head_office_cofor: str) -> pb.AccessRequest:
    pending = r.status.value == "TERMS_PENDING"
    return pb.AccessRequest(access_request_id=r.id, cofor_root=r.cofor_root, head_office_cofor=head_office_cofor,
                            signatory=contact(r.signatory), administrator=contact(r.administrator),
                            terms_version=r.terms_version, create_time=to_timestamp(r.created_at),
                            acceptance_expire_time=to_timestamp(r.expires_at if pending else None),
                            accept_time=to_timestamp(r.accepted_at),
                            status=pb.AccessRequestStatus.Value(f"ACCESS_REQUEST_STATUS_{r.status.value}"),
                            requested_from=r.requested_from, decision_reason=r.decision_reason,
                            reviewed_by=r.reviewed_by, review_time=to_timestamp(r.reviewed_at),
                            expire_time=to_timestamp(r.expires_at if r.waiting else None))


def supplier_status(value: str) -> pb.SupplierStatus.ValueType:
    return enum_value(pb.SupplierStatus, "SUPPLIER_STATUS_", value)


def access_state(value: str) -> pb.PortalAccessState.ValueType:
    return enum_value(pb.PortalAccessState, "PORTAL_ACCESS_STATE_", value)


def suspension_cause(value: str) -> pb.AccessSuspensionCause.ValueType:
    return enum_value(pb.AccessSuspensionCause, "ACCESS_SUSPENSION_CAUSE_", value)


def supplier(s: Supplier, request: AccessRequest | None = None,
             pending: list[AccessRequest] | None = None) -> pb.Supplier:
    message = pb.Supplier(
        cofor_root=s.cofor_root, legal_name=s.legal_name, duns=s.duns, status=supplier_status(s.status.value),
        head_office_site_code=s.head_office_site_code, head_office_cofor=s.head_office_cofor,
        sites=[site(x) for x in s.sites], portal_access_state=access_state(s.access_state.value),
        status_reason=s.status_reason, country_code=s.country_code, presentation_id=s.presentation_id,
        create_time=to_timestamp(s.created_at), update_time=to_timestamp(s.updated_at),
        signatory_of_record_update_time=to_timestamp(s.signatory_updated_at))
    message.access_suspension_cause = suspension_cause(s.suspension_cause.value)
    if s.signatory:
        message.signatory_of_record.CopyFrom(contact(s.signatory))
    if request is not None:
        message.access_request.CopyFrom(access_request(request, s.head_office_cofor))
    message.pending_access_requests.extend(access_request(r, s.head_office_cofor) for r in pending or [])
    return message
