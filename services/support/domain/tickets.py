"""Help & Contact tickets: categories, statuses and the allowed moves between them. Pure Python."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

from kit.errors import FailedPrecondition, ResourceExhausted


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


def refuse_if_too_many_open(open_count: int, limit: int, requester: Requester) -> None:
    """The cap on open tickets per flood key: a requester's earlier requests are answered before new ones."""
    if open_count >= limit:
        raise ResourceExhausted("TOO_MANY_OPEN_TICKETS", "this requester already has the maximum number of "
                                "open requests; we will answer them first",
                                metadata={"maxOpenTickets": str(limit),
                                          "countedBy": "identifier" if requester.proven else "email"})


@dataclass(eq=False)
class Screenshot:
    filename: str
    content_type: str
    width: int
    height: int
    size: int  # bytes; read from the stored image, never sent twice
    data: bytes = field(default=b"", repr=False)  # loaded only when a mail attaches it


@dataclass(eq=False)
class Reply:
    id: str
    author: str
    text: str
    created_at: dt.datetime


@dataclass(eq=False)
class StatusChange:
    id: str
    previous_status: Status
    status: Status
    note: str
    author: str
    changed_at: dt.datetime


@dataclass(eq=False)
class Ticket:
    reference: str
    category: Category
    status: Status
    subject: str
    text: str
    contact: Contact
    created_at: dt.datetime
    updated_at: dt.datetime
    screenshot: Screenshot | None = None
    identity_proven: bool = False  # contact.identifier and .cofor are a live session's, not typed
    replies: list[Reply] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    flood_key: str = ""  # which open tickets this one counts against (flood_key())

    @classmethod
    def open(cls, ref: str, category: Category, subject: str, text: str, contact: Contact, requester: Requester,
             now: dt.datetime, screenshot: Screenshot | None = None) -> Ticket:
        return cls(reference=ref, category=category, status=Status.NEW, subject=subject, text=text, contact=contact,
                   created_at=now, updated_at=now, screenshot=screenshot, identity_proven=requester.proven,
                   flood_key=flood_key(contact.email, requester))

    def move_to(self, target: Status, now: dt.datetime, *, note: str = "", author: str = "") -> Status:
        """Moves along the allowed transitions (can_move) and keeps the change in the ticket's history."""
        if not can_move(self.status, target):
            raise FailedPrecondition("INVALID_STATUS_TRANSITION", f"a {self.status.value} ticket cannot become "
                                     f"{target.value}", metadata={"from": self.status.value, "to": target.value})
        previous, self.status, self.updated_at = self.status, target, now
        self.status_changes.append(StatusChange(str(uuid.uuid4()), previous, target, note, author, now))
        return previous

    def require_open_for_reply(self) -> None:
        if self.status == Status.CLOSED:
            raise FailedPrecondition("TICKET_CLOSED", "the ticket is closed")

    def reply(self, author: str, text: str, now: dt.datetime) -> Reply:
        """An agent's answer; a closed ticket takes none."""
        self.require_open_for_reply()
        added = Reply(str(uuid.uuid4()), author, text, now)
        self.replies.append(added)
        self.updated_at = now
        return added
