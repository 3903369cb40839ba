"""Purchasing's side of portal access: the review of requests naming someone other than the signatory of record,
the signatory of record itself, the reset that undoes a rogue first ASL, and the housekeeping that lapses requests
nobody answered."""
from __future__ import annotations

from portal.cofor.v1 import events_pb2 as ev

from kit import validation
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, Violations

from cofor.domain.access import AccessRequest, ContactDetails
from cofor.domain.model import Supplier
from cofor.service_layer.access import Access
from cofor.service_layer.base import clean_contact, contact_record, reason_error, require_agent


class AccessReview(Access):
    async def review_request(self, cofor: str, access_request_id: str, decision: str, signatory: ContactDetails,
                             administrator: ContactDetails | None, reason: str,
                             agent: str) -> tuple[Supplier, AccessRequest]:
        """``administrator``: on approval, purchasing may correct the nominee (None keeps the requester's)."""
        agent, reason, signatory = require_agent(agent), validation.clean(reason), clean_contact(signatory)
        v = Violations()
        if decision not in ("APPROVE", "DECLINE"):
            v.add("decision", "must be APPROVE or DECLINE")
        if decision == "APPROVE":
            validation.contact_violations(v, "signatory", vars(signatory))
            if administrator is not None:
                administrator = clean_contact(administrator)
                validation.contact_violations(v, "administrator", vars(administrator))
        if err := reason_error(reason, required=decision == "DECLINE"):
            v.add("reason", err)
        v.raise_if_any()
        now = self.now()
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor, field="cofor")
            waiting = await self._waiting(uow, s, now)
            request = next((r for r in waiting if r.id == access_request_id), None)
            if request is None:
                raise FailedPrecondition("REQUEST_NOT_UNDER_REVIEW",
                                         "this is not a request of the company under review")
            if decision == "APPROVE":
                nominee = contact_record(administrator) if administrator is not None else None
                for moved in s.approve(request, waiting, contact_record(signatory), nominee, agent, reason, now):
                    await self._void_links(uow, moved.id, now)
                await self._issue_link(uow, s, request, waiting, now)
            else:
                s.decline(request, waiting, agent, reason, now)
            await uow.commit()
            return s, request

    async def update_signatory(self, cofor: str, signatory: ContactDetails, agent: str) -> Supplier:
        agent, signatory = require_agent(agent), clean_contact(signatory)
        v = Violations()
        validation.contact_violations(v, "signatory", vars(signatory))
        v.raise_if_any()
        now = self.now()
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor, field="cofor")
            for moved in s.record_signatory(contact_record(signatory), now, await self._waiting(uow, s, now)):
                await self._void_links(uow, moved.id, now)  # links sent to the previous signatory
            await uow.commit()
            return s

    async def reset_access(self, cofor: str, reason: str, agent: str) -> Supplier:
        agent, reason = require_agent(agent), validation.clean(reason)
        if err := reason_error(reason):
            raise InvalidArgument([FieldViolation("reason", err)])
        now = self.now()
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor, field="cofor")
            current = await uow.requests.get(s.access_request_id)
            ending = await uow.requests.waiting(s.cofor_root)
            s.reset_access([*ending, *([current] if current is not None and current not in ending else [])], reason,
                           agent, now)
            for link in await uow.links.open_of_company(s.cofor_root):
                link.voided_at = now
            uow.publish("cofor.access.reset", ev.AccessReset(cofor_root=s.cofor_root, legal_name=s.legal_name,
                                                             reason=reason, actor=agent, revision=s.revision))
            await uow.commit()
            return s

    async def lapse_due_requests(self) -> int:
        """Housekeeping: waiting requests past their expiry lapse (every path that meets one lapses it too)."""
        now, lapsed = self.now(), 0
        async with self.uow(readonly=True) as uow:
            roots = await uow.requests.companies_waiting_past(now)
        for root in roots:
            async with self.uow() as uow:
                s = await self._supplier(uow, root)
                for request in s.lapse(await uow.requests.waiting(root), now):
                    await self._void_links(uow, request.id, now)
                    lapsed += 1
                await uow.commit()
        return lapsed
