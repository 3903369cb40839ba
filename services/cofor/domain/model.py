"""The supplier aggregate: its sites, its status and its portal access. Pure Python: adapters/orm.py maps it.

Every change of the company's access goes through a method here, which also moves the current access request:
who may request access, where a request goes (straight to the signatory of record, or to purchasing's review),
what supersedes, lapses, declines or resets it.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from kit.errors import FailedPrecondition

from cofor.domain.access import (
    REVIEW_LIFETIME,
    TERMS_LINK_LIFETIME,
    AccessRequest,
    ContactDetails,
    RequestStatus,
    same_address,
)
from cofor.domain.codes import HEAD_OFFICE_SITE, canonical


class SupplierStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


class AccessState(enum.StrEnum):
    NOT_REQUESTED = "NOT_REQUESTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    TERMS_PENDING = "TERMS_PENDING"
    ADMINISTRATOR_PENDING = "ADMINISTRATOR_PENDING"
    OPEN = "OPEN"
    SUSPENDED = "SUSPENDED"


WAITING = (AccessState.UNDER_REVIEW, AccessState.TERMS_PENDING)


class SuspensionCause(enum.StrEnum):
    NONE = ""
    OPERATOR = "OPERATOR"
    NO_ACTIVE_ADMINISTRATOR = "NO_ACTIVE_ADMINISTRATOR"


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
    # The person entitled to accept the GTU for the company, as purchasing recorded it ({} = none recorded).
    signatory: dict[str, str] = field(default_factory=dict)
    signatory_updated_at: dt.datetime | None = None
    # While a request waits (UNDER_REVIEW, TERMS_PENDING): when it lapses, and the state it then falls back to.
    access_expires_at: dt.datetime | None = None
    state_before_request: AccessState = AccessState.NOT_REQUESTED

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

    # ---- requesting access --------------------------------------------------------------------------------

    def access_state_at(self, now: dt.datetime) -> AccessState:
        """The state as the company sees it: a waiting request past its expiry counts as never filed."""
        if self.access_state in WAITING and self.access_expires_at is not None and now >= self.access_expires_at:
            return self.state_before_request
        return self.access_state

    def lapse(self, request: AccessRequest | None, now: dt.datetime) -> bool:
        """Materialise an expired waiting request (True when it lapsed now)."""
        if self.access_state_at(now) == self.access_state:
            return False
        self._fall_back(now)
        if request is not None:
            request.close(RequestStatus.EXPIRED, now)
        return True

    def _fall_back(self, now: dt.datetime) -> None:
        self.access_state, self.access_expires_at = self.state_before_request, None
        self._touch(now)

    def can_request_access(self, now: dt.datetime) -> bool:
        state = self.access_state_at(now)
        return state in (AccessState.NOT_REQUESTED, *WAITING) or (
            state == AccessState.SUSPENDED and not self.administrators)

    def names_signatory_of_record(self, contact: ContactDetails) -> bool:
        return bool(self.signatory) and same_address(self.signatory.get("email", ""), contact.email)

    def request_access(self, request: AccessRequest, current: AccessRequest | None, now: dt.datetime) -> None:
        """File ``request``; a waiting ``current`` request is superseded. Knowing a COFOR proves nothing: only a
        request that names the signatory of record goes straight to that person (whose recorded contact replaces
        the typed one); any other waits for purchasing's review."""
        self.require_active()
        if not self.can_request_access(now):
            raise FailedPrecondition("ACCESS_ALREADY_REQUESTED", f"portal access is {self.access_state.value}",
                                     metadata={"accessState": self.access_state.value})
        if self.access_state not in WAITING:
            self.state_before_request = self.access_state
        if current is not None and current.id != request.id:
            current.close(RequestStatus.SUPERSEDED, now)
        if self.names_signatory_of_record(request.contact("signatory")):
            request.signatory = dict(self.signatory)
            request.status, self.access_state = RequestStatus.TERMS_PENDING, AccessState.TERMS_PENDING
            self.access_expires_at = now + TERMS_LINK_LIFETIME
        else:
            request.status, self.access_state = RequestStatus.UNDER_REVIEW, AccessState.UNDER_REVIEW
            self.access_expires_at = now + REVIEW_LIFETIME
        self.suspension_cause = SuspensionCause.NONE
        self.access_request_id = request.id
        self._touch(now)

    def _require_current(self, request: AccessRequest, state: AccessState, reason: str, now: dt.datetime) -> None:
        if request.id != self.access_request_id or self.access_state_at(now) != state:
            raise FailedPrecondition(reason, f"portal access is {self.access_state_at(now).value}",
                                     metadata={"accessState": self.access_state_at(now).value})

    def approve(self, request: AccessRequest, signatory: dict[str, str], reviewer: str, note: str,
                now: dt.datetime) -> None:
        """Purchasing checked the signatory: recorded, and the request goes to that person."""
        self._require_current(request, AccessState.UNDER_REVIEW, "REQUEST_NOT_UNDER_REVIEW", now)
        self.record_signatory(signatory, now)
        request.signatory, request.status = dict(signatory), RequestStatus.TERMS_PENDING
        request.reviewed_by, request.reviewed_at, request.decision_reason = reviewer, now, note
        self.access_state, self.access_expires_at = AccessState.TERMS_PENDING, now + TERMS_LINK_LIFETIME

    def decline(self, request: AccessRequest, reviewer: str, reason: str, now: dt.datetime) -> None:
        self._require_current(request, AccessState.UNDER_REVIEW, "REQUEST_NOT_UNDER_REVIEW", now)
        request.close(RequestStatus.DECLINED, now, reason=reason, by=reviewer)
        self._fall_back(now)

    def record_signatory(self, signatory: dict[str, str], now: dt.datetime,
                         current: AccessRequest | None = None) -> bool:
        """The signatory of record changes. True when the pending link of ``current`` went to another address:
        that request goes back to review (the caller voids its links)."""
        moved = current is not None and self.access_state == AccessState.TERMS_PENDING and not same_address(
            current.signatory.get("email", ""), signatory.get("email", ""))
        self.signatory, self.signatory_updated_at = dict(signatory), now
        if moved and current is not None:
            current.status = RequestStatus.UNDER_REVIEW
            self.access_state, self.access_expires_at = AccessState.UNDER_REVIEW, now + REVIEW_LIFETIME
        self._touch(now)
        return moved

    def links_reissued(self, now: dt.datetime) -> None:
        """A fresh acceptance link: the pending request now lapses with it."""
        self.access_expires_at = now + TERMS_LINK_LIFETIME
        self._touch(now)

    def accept_terms(self, request: AccessRequest, now: dt.datetime) -> None:
        self.require_active()
        self._require_current(request, AccessState.TERMS_PENDING, "ACCESS_NOT_PENDING", now)
        request.status, request.accepted_at = RequestStatus.ACCEPTED, now
        self.access_state, self.access_expires_at = AccessState.ADMINISTRATOR_PENDING, None
        self._touch(now)

    def reset_access(self, request: AccessRequest | None, reason: str, by: str, now: dt.datetime) -> None:
        """Purchasing starts the company's access again from nothing (the way to undo a rogue first ASL)."""
        if request is not None:
            request.close(RequestStatus.RESET, now, reason=reason, by=by)
        self.access_state, self.state_before_request = AccessState.NOT_REQUESTED, AccessState.NOT_REQUESTED
        self.suspension_cause, self.access_expires_at = SuspensionCause.NONE, None
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
