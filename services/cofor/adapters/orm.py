"""Tables of the cofor database and their mapping onto the pure domain classes (imperative mapping)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import registry, relationship

from kit.columns import timestamp_column as _ts
from kit.columns import value_enum as _enum

from cofor.domain.access import AcceptanceLink, AccessRequest, AccessState, RequestStatus, SuspensionCause
from cofor.domain.model import Site, Supplier, SupplierStatus
from cofor.domain.presentations import Presentation, PresentationState

metadata = MetaData()


mapper_registry = registry(metadata=metadata)



presentations = Table(
    "presentations", metadata,
    Column("id", String(36), primary_key=True),
    Column("duns", String(9), nullable=False, index=True),
    Column("email", String(254), nullable=False),
    Column("language", String(2), nullable=False),
    Column("legal_name", String(200), nullable=False),
    Column("presenter_token_digest", LargeBinary(32), nullable=False),
    Column("state", _enum(PresentationState, 20), nullable=False, index=True),
    Column("national_registration_number", String(100), nullable=False, default=""),
    Column("tax_number", String(100), nullable=False, default=""),
    Column("address_lines", JSON, nullable=False),
    Column("postal_code", String(20), nullable=False, default=""),
    Column("city", String(100), nullable=False, default=""),
    Column("address_country", String(2), nullable=False, default=""),
    Column("country_code", String(2), nullable=False, default=""),
    Column("legal_existence_proof_ref", String(300), nullable=False, default=""),
    Column("rejection_reason", Text, nullable=False, default=""),
    Column("cofor_root", String(6), nullable=False, default=""),
    _ts("created_at"), _ts("updated_at"), _ts("submitted_at", True), _ts("decided_at", True),
    _ts("confirmed_at", True),
    # The uniqueness key: set (= duns) only on the confirmed, live file of a D-U-N-S; NULLs never collide.
    Column("duns_claim", String(9), nullable=True, unique=True),
    Column("representative", JSON, nullable=False, default=dict),
    Column("started_by", String(200), nullable=False, default=""),  # "" = the public; else purchasing's agent
)

suppliers = Table(
    "suppliers", metadata,
    # Roots are never deleted, so a root once allocated is never allocated again.
    Column("cofor_root", String(6), primary_key=True),
    Column("legal_name", String(200), nullable=False),
    Column("duns", String(9), nullable=False, unique=True),
    Column("country_code", String(2), nullable=False),
    Column("presentation_id", String(36), nullable=False),
    Column("status", _enum(SupplierStatus, 20), nullable=False, index=True),
    Column("status_reason", Text, nullable=False, default=""),
    Column("head_office_site_code", String(2), nullable=False),
    Column("access_state", _enum(AccessState), nullable=False, index=True),
    Column("suspension_cause", _enum(SuspensionCause), nullable=False, default=""),
    Column("access_request_id", String(36), nullable=False, default=""),
    Column("administrators", JSON, nullable=False),
    Column("administrators_revision", BigInteger, nullable=False, default=0),
    Column("revision", BigInteger, nullable=False, default=0, server_default="0"),
    Column("signatory", JSON, nullable=False, default=dict),
    _ts("signatory_updated_at", True), _ts("terms_expires_at", True), _ts("review_expires_at", True),
    Column("state_before_request", _enum(AccessState), nullable=False, default=AccessState.NOT_REQUESTED.value),
    _ts("created_at"), _ts("updated_at"),
    Index("ix_suppliers_updated_at", "updated_at"),
)

sites = Table(
    "sites", metadata,
    Column("cofor_root", String(6), ForeignKey("suppliers.cofor_root"), primary_key=True),
    Column("site_code", String(2), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("is_head_office", Boolean, nullable=False),
    Column("address_lines", JSON, nullable=False),
    Column("postal_code", String(20), nullable=False, default=""),
    Column("city", String(100), nullable=False, default=""),
    Column("address_country", String(2), nullable=False, default=""),
    _ts("created_at"),
)

access_requests = Table(
    "access_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("cofor_root", String(6), ForeignKey("suppliers.cofor_root"), nullable=False, index=True),
    Column("signatory", JSON, nullable=False),
    Column("administrator", JSON, nullable=False),
    Column("terms_version", String(20), nullable=False),
    _ts("created_at"), _ts("accepted_at", True),
    Column("status", _enum(RequestStatus, 20), nullable=False),
    Column("requested_from", String(100), nullable=False, default=""),
    Column("decision_reason", Text, nullable=False, default=""),
    Column("reviewed_by", String(200), nullable=False, default=""),
    _ts("reviewed_at", True), _ts("expires_at", True),
    Index("ix_access_requests_waiting", "cofor_root", "status"),
)

acceptance_links = Table(
    "acceptance_links", metadata,
    Column("token_digest", LargeBinary(32), primary_key=True),
    Column("access_request_id", String(36), ForeignKey("access_requests.id"), nullable=False),
    Column("cofor_root", String(6), nullable=False),
    _ts("issued_at"), _ts("expires_at"), _ts("voided_at", True), _ts("used_at", True),
    Index("ix_acceptance_links_request", "access_request_id"),
)


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Presentation, presentations)
    site_mapper = mapper_registry.map_imperatively(Site, sites)
    mapper_registry.map_imperatively(Supplier, suppliers, properties={
        "sites": relationship(site_mapper, lazy="selectin", order_by=sites.c.site_code, cascade="all"),
    })
    mapper_registry.map_imperatively(AccessRequest, access_requests)
    mapper_registry.map_imperatively(AcceptanceLink, acceptance_links)
