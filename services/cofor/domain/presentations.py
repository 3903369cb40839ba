"""The "present your company" file and its rules. Pure Python: adapters/orm.py maps it.

Trust: the presenter token is only ever mailed, so the first call that presents it proves the e-mail and
*confirms* the file. Only a confirmed, live file claims its D-U-N-S (``duns_claim``, unique in the database);
unconfirmed files never block anyone and expire after a day; a confirmed draft left alone expires after 30 days.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from kit.errors import FailedPrecondition, PreconditionViolation

UNCONFIRMED_LIFETIME = dt.timedelta(hours=24)
HELD_LIFETIME = dt.timedelta(days=7)  # a file purchasing opened for a company holds its D-U-N-S a week unopened
IDLE_DRAFT_LIFETIME = dt.timedelta(days=30)


class PresentationState(enum.StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    REFERENCED = "REFERENCED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


LIVE_STATES = (PresentationState.DRAFT, PresentationState.SUBMITTED, PresentationState.REFERENCED)
REPRESENTATIVE_FIELDS = ("given_name", "family_name", "email", "phone", "job_title", "language")

# Fields a submitted file must have, in the order they are reported.
REQUIRED_FIELDS = ("legal_name", "national_registration_number", "tax_number", "head_office_address.lines",
                   "head_office_address.postal_code", "head_office_address.city",
                   "head_office_address.country_code", "country_code", "legal_existence_proof_ref",
                   "legal_representative.given_name", "legal_representative.family_name",
                   "legal_representative.email", "legal_representative.job_title")

# Countries whose addresses have no postal code (ISO 3166-1 alpha-2; after the Universal Postal Union's list): a head
# office there is complete without one.
NO_POSTAL_CODE = frozenset({
    "AE", "AG", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI", "CK", "CM", "DJ", "DM",
    "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "KI", "KM", "KN", "KP", "ML", "MO", "MR", "MW", "NR", "NU",
    "QA", "RW", "SB", "SC", "SL", "SR", "ST", "SY", "TF", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW"})


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
    confirmed_at: dt.datetime | None = None
    duns_claim: str | None = None  # = duns while this is the D-U-N-S's confirmed (or held), live file (unique)
    representative: dict[str, str] = field(default_factory=dict)
    started_by: str = ""  # "" = the public; else the purchasing agent who opened it for the company

    def value_of(self, path: str) -> Any:
        if path.startswith("legal_representative."):
            return (self.representative or {}).get(path.split(".", 1)[1], "")
        return {
            "head_office_address.lines": self.address_lines,
            "head_office_address.postal_code": self.postal_code,
            "head_office_address.city": self.city,
            "head_office_address.country_code": self.address_country,
        }.get(path, getattr(self, path, None))

    def missing_fields(self) -> list[str]:
        """What the file still needs before it can be sent: every required field, but the postal code of a head
        office in a country that has none."""
        exempt = {"head_office_address.postal_code"} if self.address_country in NO_POSTAL_CODE else set()
        return [name for name in REQUIRED_FIELDS if name not in exempt and not self.value_of(name)]

    # ---- confirmation and expiry ----------------------------------------------------------------------------

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def expires_at(self) -> dt.datetime | None:
        """When this DRAFT lapses if nothing happens; None in any other state."""
        if self.state != PresentationState.DRAFT:
            return None
        if self.confirmed_at is None:
            return self.created_at + (HELD_LIFETIME if self.started_by else UNCONFIRMED_LIFETIME)
        return self.updated_at + IDLE_DRAFT_LIFETIME

    def is_due(self, now: dt.datetime) -> bool:
        expires = self.expires_at()
        return expires is not None and now >= expires

    def expire(self, now: dt.datetime) -> None:
        """The file lapses: final, and its D-U-N-S is free for another file."""
        self.state, self.duns_claim = PresentationState.EXPIRED, None
        self.decided_at = self.updated_at = now

    def hold(self) -> None:
        """Purchasing opened this file for the company: it holds the D-U-N-S at once (its presenter still proves
        the e-mail by opening the mailed link), so nobody can squat the D-U-N-S meanwhile."""
        self.duns_claim = self.duns

    def reissue_token(self, digest: bytes, now: dt.datetime) -> bool:
        """A replayed start (the presenter says the mail never came) mails a fresh token and voids the first; once
        the link was opened the presenter has it, so a late duplicate of the start (a client retry still in
        flight, a replay by whoever saw the request id) changes nothing and cannot void the link in use."""
        if self.state != PresentationState.DRAFT or self.confirmed or self.is_due(now):
            return False
        self.presenter_token_digest = digest
        return True

    def confirm(self, now: dt.datetime) -> None:
        """The mailed token was presented: the e-mail is proven and the file claims its D-U-N-S."""
        self._require(PresentationState.DRAFT, reason="PRESENTATION_NOT_EDITABLE")
        self.confirmed_at, self.duns_claim = now, self.duns
        self.updated_at = now

    # ---- the presenter's and purchasing's steps --------------------------------------------------------------

    def _require(self, *states: PresentationState, reason: str) -> None:
        if self.state not in states:
            raise FailedPrecondition(reason, f"the file is {self.state.value}", metadata={"state": self.state.value})

    def update(self, values: dict[str, Any], now: dt.datetime) -> None:
        self._require(PresentationState.DRAFT, reason="PRESENTATION_NOT_EDITABLE")
        for name, value in values.items():
            if name.startswith("legal_representative."):
                self.representative = {**(self.representative or {}), name.split(".", 1)[1]: value}
            else:
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
        """Purchasing declines a submitted file, or a draft that squats a company's D-U-N-S."""
        self._require(PresentationState.SUBMITTED, PresentationState.DRAFT, reason="PRESENTATION_NOT_SUBMITTED")
        self.state, self.duns_claim = PresentationState.REJECTED, None
        self.rejection_reason = reason
        self.decided_at = self.updated_at = now

    def reference(self, cofor_root: str, now: dt.datetime) -> None:
        self._require(PresentationState.SUBMITTED, reason="PRESENTATION_NOT_SUBMITTED")
        self.state = PresentationState.REFERENCED
        self.cofor_root = cofor_root
        self.decided_at = self.updated_at = now
