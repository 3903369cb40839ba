"""The registry's aggregates and their rules. Pure Python: the ORM maps these classes in adapters/orm.py."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from kit.errors import FailedPrecondition, PreconditionViolation

from cofor.domain.codes import HEAD_OFFICE_SITE, canonical

TERMS_LINK_LIFETIME = dt.timedelta(days=7)


class PresentationState(enum.StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    REFERENCED = "REFERENCED"
    REJECTED = "REJECTED"


class SupplierStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


class AccessState(enum.StrEnum):
    NOT_REQUESTED = "NOT_REQUESTED"
    TERMS_PENDING = "TERMS_PENDING"
    ADMINISTRATOR_PENDING = "ADMINISTRATOR_PENDING"
    OPEN = "OPEN"
    SUSPENDED = "SUSPENDED"


class SuspensionCause(enum.StrEnum):
    NONE = ""
    OPERATOR = "OPERATOR"
    NO_ACTIVE_ADMINISTRATOR = "NO_ACTIVE_ADMINISTRATOR"


class LinkState(enum.StrEnum):
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    VOIDED = "VOIDED"
    USED = "USED"


# Presentation fields a submitted file must have, in the order they are reported.
REQUIRED_FIELDS = ("legal_name", "national_registration_number", "tax_number", "head_office_address.lines",
                   "head_office_address.postal_code", "head_office_address.city",
                   "head_office_address.country_code", "country_code", "legal_existence_proof_ref")


@dataclass(eq=False)
class Presentation:
    id: str
    duns: str
    email: str
    language: str
    legal_name: str
    presenter_token_digest: bytes
    created_at: dt.datetime
    updated_at: dt.datetime
    state: PresentationState = PresentationState.DRAFT
    national_registration_number: str = ""
    tax_number: str = ""
    address_lines: list[str] = field(default_factory=list)
    postal_code: str = ""
    city: str = ""
    address_country: str = ""
    country_code: str = ""
    legal_existence_proof_ref: str = ""
    rejection_reason: str = ""
    cofor_root: str = ""
    submitted_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None

    def value_of(self, path: str) -> Any:
        return {
            "head_office_address.lines": self.address_lines,
            "head_office_address.postal_code": self.postal_code,
            "head_office_address.city": self.city,
            "head_office_address.country_code": self.address_country,
        }.get(path, getattr(self, path, None))

    def missing_fields(self) -> list[str]:
        return [name for name in REQUIRED_FIELDS if not self.value_of(name)]

    def _require(self, *states: PresentationState, reason: str) -> None:
        if self.state not in states:
            raise FailedPrecondition(reason, f"the file is {self.state.value}", metadata={"state": self.state.value})

    def update(self, values: dict[str, Any], now: dt.datetime) -> None:
        self._require(PresentationState.DRAFT, reason="PRESENTATION_NOT_EDITABLE")
        for name, value in values.items():
            setattr(self, name, value)
        self.updated_at = now

    def submit(self, now: dt.datetime) -> bool:
        """True when this call submitted the file (False: it was already submitted)."""
        if self.state == PresentationState.SUBMITTED:
            return False
        self._require(PresentationState.DRAFT, reason="PRESENTATION_NOT_EDITABLE")
        if missing := self.missing_fields():
            raise FailedPrecondition(
                "PRESENTATION_INCOMPLETE", f"the file is incomplete: {', '.join(missing)}",
                violations=[PreconditionViolation("MISSING_FIELD", name, f"{name} is required") for name in missing],
                metadata={"missingFields": ",".join(missing)})
        self.state = PresentationState.SUBMITTED
        self.submitted_at = self.updated_at = now
        return True

    def reject(self, reason: str, now: dt.datetime) -> None:
        self._require(PresentationState.SUBMITTED, reason="PRESENTATION_NOT_SUBMITTED")
        self.state = PresentationState.REJECTED
        self.rejection_reason = reason
        self.decided_at = self.updated_at = now

    def reference(self, cofor_root: str, now: dt.datetime) -> None:
        self._require(PresentationState.SUBMITTED, reason="PRESENTATION_NOT_SUBMITTED")
        self.state = PresentationState.REFERENCED
        self.cofor_root = cofor_root
        self.decided_at = self.updated_at = now


@dataclass(eq=False)
class Site:
    cofor_root: str
    site_code: str
    name: str
    is_head_office: bool
    created_at: dt.datetime
    address_lines: list[str] = field(default_factory=list)
    postal_code: str = ""
    city: str = ""
    address_country: str = ""

    @property
    def cofor(self) -> str:
        return canonical(self.cofor_root, self.site_code)


@dataclass(frozen=True)
class ContactDetails:
    given_name: str
    family_name: str
    email: str
    phone: str
    job_title: str
    language: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(eq=False)
class AccessRequest:
    id: str
    cofor_root: str
    signatory: dict[str, str]
    administrator: dict[str, str]
    terms_version: str
    created_at: dt.datetime
    accepted_at: dt.datetime | None = None

    def contact(self, role: str) -> ContactDetails:
        return ContactDetails(**(self.signatory if role == "signatory" else self.administrator))


@dataclass(eq=False)
class AcceptanceLink:
    """One GTU acceptance link; only the SHA-256 digest of its token is kept."""

    token_digest: bytes
    access_request_id: str
    cofor_root: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    voided_at: dt.datetime | None = None
    used_at: dt.datetime | None = None

    def state(self, now: dt.datetime) -> LinkState:
        if self.used_at:
            return LinkState.USED
        if self.voided_at:
            return LinkState.VOIDED
        if now >= self.expires_at:
            return LinkState.EXPIRED
        return LinkState.VALID


@dataclass(eq=False)
class Supplier:
    cofor_root: str
    legal_name: str
    duns: str
    country_code: str
    presentation_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: SupplierStatus = SupplierStatus.ACTIVE
    status_reason: str = ""
    head_office_site_code: str = HEAD_OFFICE_SITE
    access_state: AccessState = AccessState.NOT_REQUESTED
    suspension_cause: SuspensionCause = SuspensionCause.NONE
    access_request_id: str = ""
    # Projection of identity's ActiveAdministratorsChanged: [{"identifier", "display_name"}], newest revision.
    administrators: list[dict[str, str]] = field(default_factory=list)
    administrators_revision: int = 0
    revision: int = 0  # increased at every change: consumers order this supplier's events by it
    sites: list[Site] = field(default_factory=list)

    @property
    def head_office_cofor(self) -> str:
        return canonical(self.cofor_root, self.head_office_site_code)

    def site(self, code: str) -> Site | None:
        return next((s for s in self.sites if s.site_code == code), None)

    def _touch(self, now: dt.datetime) -> None:
        self.updated_at = now
        self.revision += 1

    def require_active(self) -> None:
        if self.status == SupplierStatus.DEACTIVATED:
            raise FailedPrecondition("SUPPLIER_DEACTIVATED", "the supplier is deactivated")

    def deactivate(self, reason: str, now: dt.datetime) -> bool:
        if self.status == SupplierStatus.DEACTIVATED:
            return False
        self.status, self.status_reason = SupplierStatus.DEACTIVATED, reason
        self._touch(now)
        return True

    def reactivate(self, now: dt.datetime) -> bool:
        if self.status == SupplierStatus.ACTIVE:
            return False
        self.status, self.status_reason = SupplierStatus.ACTIVE, ""
        self._touch(now)
        return True

    def suspend(self, cause: SuspensionCause, now: dt.datetime) -> bool:
        if self.access_state == AccessState.SUSPENDED:
            return False
        if self.access_state != AccessState.OPEN:
            raise FailedPrecondition("ACCESS_NOT_OPEN", f"portal access is {self.access_state.value}",
                                     metadata={"accessState": self.access_state.value})
        self.access_state, self.suspension_cause = AccessState.SUSPENDED, cause
        self._touch(now)
        return True

    def reopen(self, now: dt.datetime) -> None:
        if self.access_state != AccessState.SUSPENDED:
            raise FailedPrecondition("ACCESS_NOT_SUSPENDED", f"portal access is {self.access_state.value}",
                                     metadata={"accessState": self.access_state.value})
        self.require_active()
        if not self.administrators:
            raise FailedPrecondition("NO_ACTIVE_ADMINISTRATOR",
                                     "the company has no active administrator: it must request access again")
        self.access_state, self.suspension_cause = AccessState.OPEN, SuspensionCause.NONE
        self._touch(now)

    def can_request_access(self) -> bool:
        return self.access_state == AccessState.NOT_REQUESTED or (
            self.access_state == AccessState.SUSPENDED and not self.administrators)

    def request_access(self, request: AccessRequest, now: dt.datetime) -> None:
        self.require_active()
        if not self.can_request_access():
            raise FailedPrecondition("ACCESS_ALREADY_REQUESTED", f"portal access is {self.access_state.value}",
                                     metadata={"accessState": self.access_state.value})
        self.access_state, self.suspension_cause = AccessState.TERMS_PENDING, SuspensionCause.NONE
        self.access_request_id = request.id
        self._touch(now)

    def accept_terms(self, now: dt.datetime) -> None:
        self.require_active()
        self.access_state = AccessState.ADMINISTRATOR_PENDING
        self._touch(now)

    def administrator_created(self, now: dt.datetime) -> bool:
        """identity created the ASL: access opens (True when this changed the state)."""
        if self.access_state != AccessState.ADMINISTRATOR_PENDING:
            return False
        self.access_state = AccessState.OPEN
        self._touch(now)
        return True

    def administrators_changed(self, administrators: list[dict[str, str]], revision: int,
                               now: dt.datetime) -> str | None:
        """Apply identity's snapshot; returns "suspended" when the last active ASL is gone from an open access."""
        if revision <= self.administrators_revision:
            return None  # an older snapshot arriving late
        self.administrators, self.administrators_revision = administrators, revision
        self._touch(now)
        if not administrators and self.access_state == AccessState.OPEN:
            self.access_state, self.suspension_cause = AccessState.SUSPENDED, SuspensionCause.NO_ACTIVE_ADMINISTRATOR
            return "suspended"
        return None
