"""The get-access analysis (ARCHITECTURE §4): nine outcomes, checked in a fixed order."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from cofor.domain.access import AccessState
from cofor.domain.codes import CoforInput, MalformedCofor, parse_cofor, parse_site_code
from cofor.domain.model import Supplier, SupplierStatus


class Outcome(enum.StrEnum):
    INVALID_COFOR = "INVALID_COFOR"
    SUPPLIER_DEACTIVATED = "SUPPLIER_DEACTIVATED"
    SITE_NOT_ELIGIBLE = "SITE_NOT_ELIGIBLE"
    ACCESS_NOT_REQUESTED = "ACCESS_NOT_REQUESTED"
    ACCESS_REQUEST_UNDER_REVIEW = "ACCESS_REQUEST_UNDER_REVIEW"
    TERMS_PENDING = "TERMS_PENDING"
    ADMINISTRATOR_PENDING = "ADMINISTRATOR_PENDING"
    ACCESS_SUSPENDED = "ACCESS_SUSPENDED"
    ACCESS_OPEN = "ACCESS_OPEN"


NEXT_STEP = {
    Outcome.INVALID_COFOR: "CORRECT_OR_PRESENT_COMPANY",
    Outcome.SUPPLIER_DEACTIVATED: "CONTACT_PURCHASING_OR_PRESENT_COMPANY",
    Outcome.SITE_NOT_ELIGIBLE: "ANALYZE_HEAD_OFFICE",
    Outcome.ACCESS_NOT_REQUESTED: "REQUEST_ACCESS",
    Outcome.ACCESS_REQUEST_UNDER_REVIEW: "WAIT",
    Outcome.TERMS_PENDING: "ACCEPT_TERMS",
    Outcome.ADMINISTRATOR_PENDING: "WAIT",
    Outcome.ACCESS_SUSPENDED: "CONTACT_SUPPORT",
    Outcome.ACCESS_OPEN: "CONTACT_ADMINISTRATOR",
}

_BY_ACCESS_STATE = {
    AccessState.NOT_REQUESTED: Outcome.ACCESS_NOT_REQUESTED,
    AccessState.UNDER_REVIEW: Outcome.ACCESS_REQUEST_UNDER_REVIEW,
    AccessState.TERMS_PENDING: Outcome.TERMS_PENDING,
    AccessState.ADMINISTRATOR_PENDING: Outcome.ADMINISTRATOR_PENDING,
    AccessState.SUSPENDED: Outcome.ACCESS_SUSPENDED,
    AccessState.OPEN: Outcome.ACCESS_OPEN,
}


@dataclass(frozen=True)
class Analysis:
    outcome: Outcome
    cofor: str = ""
    head_office_cofor: str = ""
    administrator_names: list[str] = field(default_factory=list)

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.outcome]

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.ACCESS_OPEN

    @property
    def message_key(self) -> str:
        return f"access.analysis.{self.outcome.value.lower()}"


def parse_analysis_input(cofor: str, site_code: str) -> CoforInput | None:
    """The COFOR the visitor means, or None when the input cannot be a COFOR."""
    try:
        parsed = parse_cofor(cofor)
        if site_code.strip():
            site = parse_site_code(site_code)
            if parsed.site and parsed.site != site:
                return None  # two different site codes: we cannot tell which one is meant
            parsed = CoforInput(parsed.root, site)
    except MalformedCofor:
        return None
    return parsed


def analyze(wanted: CoforInput | None, supplier: Supplier | None, now: dt.datetime) -> Analysis:
    if wanted is None or supplier is None:
        return Analysis(Outcome.INVALID_COFOR)
    site_code = wanted.site or supplier.head_office_site_code
    if supplier.site(site_code) is None:
        return Analysis(Outcome.INVALID_COFOR)
    cofor, head = wanted.canonical(supplier.head_office_site_code), supplier.head_office_cofor
    if supplier.status == SupplierStatus.DEACTIVATED:
        return Analysis(Outcome.SUPPLIER_DEACTIVATED, cofor, head)
    if site_code != supplier.head_office_site_code:
        return Analysis(Outcome.SITE_NOT_ELIGIBLE, cofor, head)
    outcome = _BY_ACCESS_STATE[supplier.access_state_at(now)]
    names = [a["display_name"] for a in supplier.administrators] if outcome == Outcome.ACCESS_OPEN else []
    return Analysis(outcome, cofor, head, names)
