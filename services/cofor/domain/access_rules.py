"""How a company's portal access moves while it is being requested: the Supplier aggregate's rules (Supplier
inherits them; they read and write only its fields and the requests handed in).

Knowing a COFOR proves nothing. A request that names the signatory of record goes to that person (the recorded
contact, never the typed one); any other waits for purchasing's review. Nothing a stranger files voids anything:
every waiting request stays until it is accepted, decided, or lapses; accepting one closes the others. So the
company's state while requests wait is TERMS_PENDING when a link is out, else UNDER_REVIEW, each lapsing with the
last request of its kind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kit.errors import FailedPrecondition

from cofor.domain.access import (
    REVIEW_LIFETIME,
    TERMS_LINK_LIFETIME,
    WAITING,
    AccessRequest,
    AccessState,
    ContactDetails,
    RequestStatus,
    SuspensionCause,
    same_address,
)

Waiting = list[AccessRequest]


class AccessRules:
    if TYPE_CHECKING:  # the Supplier fields and methods these rules read and write (Supplier declares them)
        access_state: AccessState
        suspension_cause: SuspensionCause
        access_request_id: str
        administrators: list[dict[str, str]]
        signatory: dict[str, str]
        signatory_updated_at: dt.datetime | None
        terms_expires_at: dt.datetime | None
        review_expires_at: dt.datetime | None
        state_before_request: AccessState

        def _touch(self, now: dt.datetime) -> None: ...

        def require_active(self) -> None: ...

    def access_state_at(self, now: dt.datetime) -> AccessState:
        """The state as the company sees it: waiting requests past their expiry count as never filed."""
        if self.access_state not in WAITING:
            return self.access_state
        if self.terms_expires_at is not None and now < self.terms_expires_at:
            return AccessState.TERMS_PENDING
        if self.review_expires_at is not None and now < self.review_expires_at:
            return AccessState.UNDER_REVIEW
        return self.state_before_request

    def _settle(self, waiting: Waiting, now: dt.datetime) -> None:
        """The state and deadlines that follow from the requests still waiting."""
        live = [r for r in waiting if r.waiting]
        terms = [r.expires_at for r in live if r.status == RequestStatus.TERMS_PENDING and r.expires_at]
        review = [r.expires_at for r in live if r.status == RequestStatus.UNDER_REVIEW and r.expires_at]
        self.terms_expires_at, self.review_expires_at = max(terms, default=None), max(review, default=None)
        self.access_state = AccessState.TERMS_PENDING if terms else AccessState.UNDER_REVIEW if review else \
            self.state_before_request
        self._touch(now)

    def lapse(self, waiting: Waiting, now: dt.datetime) -> Waiting:
        """Requests past their expiry end; returns them (the caller voids their links)."""
        lapsed = [r for r in waiting if r.due(now)]
        for request in lapsed:
            request.close(RequestStatus.EXPIRED, now)
        if lapsed or (self.access_state in WAITING and self.access_state_at(now) != self.access_state):
            self._settle(waiting, now)
        return lapsed

    def can_request_access(self, now: dt.datetime) -> bool:
        state = self.access_state_at(now)
        return state in (AccessState.NOT_REQUESTED, *WAITING) or (
            state == AccessState.SUSPENDED and not self.administrators)

    def names_signatory_of_record(self, contact: ContactDetails) -> bool:
        return bool(self.signatory) and same_address(self.signatory.get("email", ""), contact.email)

    def request_access(self, request: AccessRequest, waiting: Waiting, now: dt.datetime, *,
                       may_mail_signatory: bool = True) -> None:
        """File ``request`` beside those waiting. It goes to the signatory of record when it names that person and
        the company's daily budget of mails to them is not spent (``may_mail_signatory``); else to review."""
        self.require_active()
        if not self.can_request_access(now):
            raise FailedPrecondition("ACCESS_ALREADY_REQUESTED", f"portal access is {self.access_state.value}",
                                     metadata={"accessState": self.access_state.value})
        if self.access_state not in WAITING:
            self.state_before_request = self.access_state
        if may_mail_signatory and self.names_signatory_of_record(request.contact("signatory")):
            request.signatory = dict(self.signatory)
            request.status, request.expires_at = RequestStatus.TERMS_PENDING, now + TERMS_LINK_LIFETIME
        else:
            request.status, request.expires_at = RequestStatus.UNDER_REVIEW, now + REVIEW_LIFETIME
        self.suspension_cause = SuspensionCause.NONE
        self.access_request_id = request.id
        self._settle([*waiting, request], now)

    def _require_waiting(self, request: AccessRequest, waiting: Waiting, status: RequestStatus,
                         reason: str, now: dt.datetime) -> None:
        if request not in waiting or request.status != status or request.due(now):
            raise FailedPrecondition(reason, f"the request is {request.status.value}",
                                     metadata={"requestStatus": request.status.value})

    def approve(self, request: AccessRequest, waiting: Waiting, signatory: dict[str, str],
                administrator: dict[str, str] | None, reviewer: str, note: str, now: dt.datetime) -> Waiting:
        """Purchasing checked the signatory (and may correct the nominee): recorded, and the request goes to that
        person. Returns the other requests whose links went elsewhere (the caller voids them)."""
        self._require_waiting(request, waiting, RequestStatus.UNDER_REVIEW, "REQUEST_NOT_UNDER_REVIEW", now)
        moved = self.record_signatory(signatory, now, [r for r in waiting if r is not request])
        request.signatory, request.status = dict(signatory), RequestStatus.TERMS_PENDING
        if administrator:
            request.administrator = dict(administrator)
        request.expires_at = now + TERMS_LINK_LIFETIME
        request.reviewed_by, request.reviewed_at, request.decision_reason = reviewer, now, note
        self._settle(waiting, now)
        return moved

    def decline(self, request: AccessRequest, waiting: Waiting, reviewer: str, reason: str,
                now: dt.datetime) -> None:
        self._require_waiting(request, waiting, RequestStatus.UNDER_REVIEW, "REQUEST_NOT_UNDER_REVIEW", now)
        request.close(RequestStatus.DECLINED, now, reason=reason, by=reviewer)
        self._settle(waiting, now)

    def record_signatory(self, signatory: dict[str, str], now: dt.datetime,
                         waiting: Sequence[AccessRequest] = ()) -> Waiting:
        """A new signatory of record. Pending links sent to another address go back to review: returns those
        requests (the caller voids their links)."""
        moved = [r for r in waiting if r.status == RequestStatus.TERMS_PENDING
                 and not same_address(r.signatory.get("email", ""), signatory.get("email", ""))]
        for request in moved:
            request.status, request.expires_at = RequestStatus.UNDER_REVIEW, now + REVIEW_LIFETIME
        self.signatory, self.signatory_updated_at = dict(signatory), now
        if waiting:
            self._settle(list(waiting), now)
        else:
            self._touch(now)
        return moved

    def links_reissued(self, request: AccessRequest, waiting: Waiting, now: dt.datetime) -> None:
        """A fresh acceptance link for ``request``: it now lapses with that link."""
        request.expires_at = now + TERMS_LINK_LIFETIME
        self._settle(waiting, now)

    def accept_terms(self, request: AccessRequest, waiting: Waiting, now: dt.datetime) -> Waiting:
        """The signatory accepts the terms and the nomination: the others close. Returns them (links to void)."""
        self.require_active()
        self._require_waiting(request, waiting, RequestStatus.TERMS_PENDING, "ACCESS_NOT_PENDING", now)
        request.status, request.accepted_at, request.expires_at = RequestStatus.ACCEPTED, now, None
        others = [r for r in waiting if r is not request and r.waiting]
        for other in others:
            other.close(RequestStatus.SUPERSEDED, now)
        self.access_state, self.access_request_id = AccessState.ADMINISTRATOR_PENDING, request.id
        self.terms_expires_at = self.review_expires_at = None
        self._touch(now)
        return others

    def reset_access(self, requests: Waiting, reason: str, by: str, now: dt.datetime) -> None:
        """Purchasing starts the company's access again from nothing (the way to undo a rogue first ASL): every
        waiting request and the accepted one end."""
        for request in requests:
            request.close(RequestStatus.RESET, now, reason=reason, by=by)
        self.access_state, self.state_before_request = AccessState.NOT_REQUESTED, AccessState.NOT_REQUESTED
        self.suspension_cause = SuspensionCause.NONE
        self.terms_expires_at = self.review_expires_at = None
        self._touch(now)
