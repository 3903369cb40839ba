"""The supplier aggregate: its sites, its status and its portal access. Pure Python: adapters/orm.py maps it.

Every change of the company's access goes through a method of Supplier: its status, suspension and opening here,
and while access is being requested the rules of domain/access_rules.py (who a request goes to, what accepts,
declines, lapses or resets it), which Supplier inherits.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from kit.errors import FailedPrecondition

from cofor.domain.access import AccessState, SuspensionCause
from cofor.domain.access_rules import AccessRules
from cofor.domain.codes import HEAD_OFFICE_SITE, canonical


class SupplierStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


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
class Supplier(AccessRules):
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
    # While requests wait: when the last link out lapses, when the last one under review lapses, and the state the
    # company falls back to then.
    terms_expires_at: dt.datetime | None = None
    review_expires_at: dt.datetime | None = None
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
