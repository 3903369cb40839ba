"""Help & Contact tickets: categories, statuses and the allowed moves between them. Pure Python."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from kit.errors import FailedPrecondition


class Category(enum.StrEnum):
    UNKNOWN_COFOR = "UNKNOWN_COFOR"
    ACCESS_REQUEST = "ACCESS_REQUEST"
    LOGIN_PROBLEM = "LOGIN_PROBLEM"
    BLOCKED_ACCOUNT = "BLOCKED_ACCOUNT"
    COMPANY_PRESENTATION = "COMPANY_PRESENTATION"
    OTHER = "OTHER"


class Status(enum.StrEnum):
    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_ON_REQUESTER = "WAITING_ON_REQUESTER"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER)

# Forward along NEW → IN_PROGRESS → WAITING_ON_REQUESTER → RESOLVED → CLOSED (steps may be skipped), or back to
# IN_PROGRESS from WAITING_ON_REQUESTER or RESOLVED (the requester answered, the fix did not hold). CLOSED is final.
_ORDER = [Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER, Status.RESOLVED, Status.CLOSED]


def can_move(current: Status, target: Status) -> bool:
    if current == Status.CLOSED or current == target:
        return False
    if _ORDER.index(target) > _ORDER.index(current):
        return True
    return target == Status.IN_PROGRESS and current in (Status.WAITING_ON_REQUESTER, Status.RESOLVED)


def reference(year: int, number: int) -> str:
    return f"B2B-{year}-{number:06d}"


@dataclass(frozen=True)
class Requester:
    """Who sends a ticket as the transport knows it, never as the request body says: the client address and, when
    the portal vouched for a live session, that session's V-identifier and COFOR root ("proven")."""

    client: str = ""
    identifier: str = ""
    cofor_root: str = ""

    @property
    def proven(self) -> bool:
        return bool(self.identifier)


def flood_key(email: str, requester: Requester) -> str:
    """Which open tickets a new one counts against. A proven requester's own, by identifier: strangers can fill
    neither that count nor the anonymous one of the same e-mail. An anonymous ticket's, by e-mail among anonymous
    tickets only, case and "+tag" folded so that variants of one mailbox share one count."""
    if requester.proven:
        return f"id:{requester.identifier.upper()}"
    local, _, domain = email.strip().lower().rpartition("@")
    return f"email:{local.split('+', 1)[0]}@{domain}"


@dataclass
class Contact:
    name: str
    email: str
    phone: str
    company: str
    identifier: str = ""
    cofor: str = ""
    language: str = "fr"


@dataclass
class Ticket:
    reference: str
    category: Category
    status: Status
    subject: str
    text: str
    contact: Contact
    created_at: dt.datetime
    updated_at: dt.datetime
    screenshot: dict[str, object] | None = None  # filename, content_type, size, width, height
    identity_proven: bool = False  # contact.identifier and .cofor are a live session's, not typed
    replies: list[dict[str, object]] = field(default_factory=list)
    status_changes: list[dict[str, object]] = field(default_factory=list)

    def move_to(self, target: Status, now: dt.datetime) -> Status:
        if not can_move(self.status, target):
            raise FailedPrecondition("INVALID_STATUS_TRANSITION", f"a {self.status.value} ticket cannot become "
                                     f"{target.value}", metadata={"from": self.status.value, "to": target.value})
        previous, self.status, self.updated_at = self.status, target, now
        return previous

    def require_open_for_reply(self) -> None:
        if self.status == Status.CLOSED:
            raise FailedPrecondition("TICKET_CLOSED", "the ticket is closed")
