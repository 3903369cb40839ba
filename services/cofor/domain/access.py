"""The portal-access vocabulary: the company's access states, its requests and their acceptance links. Pure
Python: adapters/orm.py maps them. The rules that move them are the Supplier aggregate's (domain/access_rules.py):
a company's state and its requests always change together."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

TERMS_LINK_LIFETIME = dt.timedelta(days=7)
REVIEW_LIFETIME = dt.timedelta(days=30)  # a request nobody reviewed lapses: the company may file a fresh one


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


class RequestStatus(enum.StrEnum):
    UNDER_REVIEW = "UNDER_REVIEW"
    TERMS_PENDING = "TERMS_PENDING"
    ACCEPTED = "ACCEPTED"
    SUPERSEDED = "SUPERSEDED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    RESET = "RESET"


WAITING_STATUSES = (RequestStatus.UNDER_REVIEW, RequestStatus.TERMS_PENDING)


class LinkState(enum.StrEnum):
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    VOIDED = "VOIDED"
    USED = "USED"


def same_address(a: str, b: str) -> bool:
    """Whether two e-mail addresses name the same mailbox for routing purposes (blanks and case ignored: the
    link always goes to the *recorded* address, so a looser match can only send it there)."""
    return a.strip().casefold() == b.strip().casefold() and bool(a.strip())


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
    status: RequestStatus = RequestStatus.UNDER_REVIEW
    requested_from: str = ""
    decision_reason: str = ""
    reviewed_by: str = ""
    reviewed_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None  # while it waits: when it lapses (with its link, or unreviewed)

    def contact(self, role: str) -> ContactDetails:
        return ContactDetails(**(self.signatory if role == "signatory" else self.administrator))

    @property
    def waiting(self) -> bool:
        return self.status in WAITING_STATUSES

    def due(self, now: dt.datetime) -> bool:
        return self.waiting and self.expires_at is not None and now >= self.expires_at

    def close(self, status: RequestStatus, now: dt.datetime, *, reason: str = "", by: str = "") -> None:
        """A waiting request ends (superseded, declined, expired); a reset also ends an accepted one (its ASL is
        void). A request that has ended stays as it ended."""
        resettable = self.waiting or self.status == RequestStatus.ACCEPTED
        if not (self.waiting or (status == RequestStatus.RESET and resettable)):
            return
        self.status, self.expires_at = status, None
        if reason:
            self.decision_reason = reason
        if by:
            self.reviewed_by, self.reviewed_at = by, now


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
