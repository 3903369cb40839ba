"""Portal access for the public: requests (straight to the signatory of record, or to purchasing's review), the
acceptance link and the terms. Purchasing's side is in access_review.py. The rules are the Supplier's
(domain/model.py); these use cases load, call them, and turn what happened into links, mails and events."""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from portal.cofor.v1 import events_pb2 as ev

from kit import ratelimit, validation
from kit.clock import to_timestamp
from kit.digests import token_digest
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Violations
from notify import mails, send_mail

from cofor.adapters import protos
from cofor.domain.access import (
    TERMS_LINK_LIFETIME,
    AcceptanceLink,
    AccessRequest,
    ContactDetails,
    LinkState,
    RequestStatus,
)
from cofor.domain.codes import MalformedCofor, parse_cofor
from cofor.domain.model import Supplier
from cofor.service_layer.base import (
    RegistryBase,
    clean_contact,
    contact_record,
    request_id_violation,
)
from cofor.service_layer.unit_of_work import CoforUnitOfWork

# Public calls are counted per client address (the gateway forwards it). Nothing per company refuses a request
# (a stranger could then keep the company out): past the daily budget of mails to its signatory of record, a request
# that names that person waits for purchasing instead, and no more notices go out.
REQUEST_LIMIT = ratelimit.Limit("request-access", 10, 3600)
SIGNATORY_MAILS = ratelimit.Limit("signatory-mails", 5, 86_400)
RESEND_CLIENT_LIMIT = ratelimit.Limit("resend-terms", 10, 3600)
RESEND_COMPANY_LIMIT = ratelimit.Limit("resend-terms-company", 3, 3600)
ACCEPT_LIMIT = ratelimit.Limit("accept-terms", 20, 3600)


@dataclass(frozen=True)
class TermsLinkView:
    legal_name: str
    cofor: str
    signatory_name: str
    language: str
    terms_version: str
    state: LinkState
    expires_at: dt.datetime
    administrator: dict[str, str]
    requested_from: str
    requested_at: dt.datetime


class Access(RegistryBase):
    async def request_access(self, cofor: str, signatory: ContactDetails, administrator: ContactDetails,
                             request_id: str = "", client: str = "") -> tuple[Supplier, AccessRequest]:
        signatory, administrator = clean_contact(signatory), clean_contact(administrator)
        v = Violations()
        try:
            parse_cofor(cofor)
        except MalformedCofor as exc:
            v.add("cofor", str(exc))
        validation.contact_violations(v, "signatory", vars(signatory))
        validation.contact_violations(v, "administrator", vars(administrator))
        request_id_violation(v, request_id)
        v.raise_if_any()
        now = self.now()
        replay_owner = f"{cofor.strip().upper()} {signatory.email.lower()} {administrator.email.lower()}"
        async with self.uow() as uow:
            if done := await uow.remembered("RequestPortalAccess", request_id, owner=replay_owner):
                request = await uow.requests.get(done)
                assert request is not None
                return await self._supplier(uow, request.cofor_root), request
            if client:
                await uow.rate_limits.enforce(REQUEST_LIMIT, client)
            s = await self._head_office_supplier(uow, cofor)
            waiting = await self._waiting(uow, s, now)
            request = AccessRequest(id=str(uuid.uuid4()), cofor_root=s.cofor_root,
                                    signatory=contact_record(signatory), administrator=contact_record(administrator),
                                    terms_version=self.terms_version, created_at=now, requested_from=client[:100])
            # Every mail to the signatory of record, link or notice, is counted against the company's daily budget.
            may_mail = bool(s.signatory) and await uow.rate_limits.within(SIGNATORY_MAILS, s.cofor_root)
            s.request_access(request, waiting, now, may_mail_signatory=may_mail)
            uow.requests.add(request)
            await uow.flush()  # the request row first: its links refer to it
            if request.status == RequestStatus.TERMS_PENDING:
                await self._issue_link(uow, s, request, waiting + [request], now)
            elif may_mail:
                self._tell_signatory_of_review(uow, s, request)
            uow.remember("RequestPortalAccess", request_id, request.id, owner=replay_owner)
            uow.publish("cofor.access.requested", ev.AccessRequested(
                cofor_root=s.cofor_root, head_office_cofor=s.head_office_cofor, legal_name=s.legal_name,
                access_request_id=request.id, signatory=protos.contact(request.signatory),
                administrator=protos.contact(request.administrator),
                acceptance_expire_time=to_timestamp(request.expires_at if request.status == RequestStatus.TERMS_PENDING
                                                 else None),
                review_required=request.status == RequestStatus.UNDER_REVIEW, requested_from=request.requested_from))
            await uow.commit()
            return s, request

    async def _waiting(self, uow: CoforUnitOfWork, s: Supplier, now: dt.datetime) -> list[AccessRequest]:
        """The company's waiting requests, those past their expiry lapsed (and their links voided) on the way."""
        waiting = await uow.requests.waiting(s.cofor_root)
        for lapsed in s.lapse(waiting, now):
            await self._void_links(uow, lapsed.id, now)
        return [r for r in waiting if r.waiting]

    async def _void_links(self, uow: CoforUnitOfWork, access_request_id: str, now: dt.datetime) -> None:
        for old in await uow.links.open_of_request(access_request_id):
            old.voided_at = now

    async def _issue_link(self, uow: CoforUnitOfWork, s: Supplier, request: AccessRequest,
                          waiting: list[AccessRequest], now: dt.datetime) -> dt.datetime:
        """A new one-time acceptance link for ``request``, mailed to its signatory — always the signatory of record,
        or the one purchasing checked — naming the nominee and where the request came from; the request's earlier
        link is voided (never another request's)."""
        await self._void_links(uow, request.id, now)
        token = secrets.token_urlsafe(32)
        expires = now + TERMS_LINK_LIFETIME
        uow.links.add(AcceptanceLink(token_digest=token_digest(token), access_request_id=request.id,
                                       cofor_root=s.cofor_root, issued_at=now, expires_at=expires))
        s.links_reissued(request, waiting, now)
        signatory, admin = request.contact("signatory"), request.contact("administrator")
        send_mail(uow, mails.terms_acceptance(
            legal_name=s.legal_name, cofor=s.head_office_cofor, signatory_name=signatory.display_name,
            administrator_name=admin.display_name, administrator_email=admin.email,
            requested_from=request.requested_from, request_time=request.created_at, expire_time=expires,
            acceptance_token=token), to=[(signatory.email, signatory.display_name)], language=signatory.language,
            seal_key=self.seal_key)
        return expires

    def _tell_signatory_of_review(self, uow: CoforUnitOfWork, s: Supplier, request: AccessRequest) -> None:
        """A request naming someone else: the signatory of record hears of it before purchasing decides. Only the
        nominee's address and where it came from: no text a stranger typed is relayed."""
        record = s.signatory
        send_mail(uow, mails.access_request_under_review(
            legal_name=s.legal_name, cofor=s.head_office_cofor,
            administrator_email=request.administrator.get("email", ""), requested_from=request.requested_from,
            request_time=request.created_at),
            to=[(record["email"], f"{record['given_name']} {record['family_name']}")],
            language=record.get("language") or "fr")

    # ---- the signatory's link -------------------------------------------------------------------------------------

    async def resend_terms(self, cofor: str, client: str = "") -> dt.datetime:
        try:
            parse_cofor(cofor)
        except MalformedCofor as exc:
            raise InvalidArgument([FieldViolation("cofor", str(exc))]) from None
        now = self.now()
        async with self.uow() as uow:
            if client:
                await uow.rate_limits.enforce(RESEND_CLIENT_LIMIT, client)
            s = await self._head_office_supplier(uow, cofor)
            waiting = await self._waiting(uow, s, now)
            pending = [r for r in waiting if r.status == RequestStatus.TERMS_PENDING]
            if not pending:
                raise FailedPrecondition("TERMS_NOT_PENDING", f"portal access is {s.access_state_at(now).value}",
                                         metadata={"accessState": s.access_state_at(now).value})
            await uow.rate_limits.enforce(RESEND_COMPANY_LIMIT, s.cofor_root)
            expires = await self._issue_link(uow, s, pending[-1], waiting, now)
            await uow.commit()
            return expires

    async def describe_terms(self, token: str) -> TermsLinkView:
        """What the acceptance page shows. The nominee and the request's origin only while the link is usable: a
        used, voided or expired link tells nobody who was nominated."""
        async with self.uow(readonly=True) as uow:
            link = await uow.links.get(token_digest(token)) if token else None
            if link is None:
                raise NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist")
            request = await uow.requests.get(link.access_request_id)
            s = await uow.suppliers.get(link.cofor_root)
            assert request is not None and s is not None
            signatory, state = request.contact("signatory"), link.state(self.now())
            valid = state == LinkState.VALID
            admin = {k: request.administrator.get(k, "") for k in ("given_name", "family_name", "email", "job_title")}
            return TermsLinkView(s.legal_name, s.head_office_cofor, signatory.display_name, signatory.language,
                                 self.terms_version if request.accepted_at is None else request.terms_version,
                                 state, link.expires_at, admin if valid else {}, request.requested_from if valid
                                 else "", request.created_at)

    async def accept_terms(self, token: str, terms_version: str, client: str = "") -> Supplier:
        if not token:
            raise InvalidArgument([FieldViolation("acceptance_token", "is required")])
        if not terms_version:
            raise InvalidArgument([FieldViolation("terms_version", "is required")])
        now = self.now()
        async with self.uow() as uow:
            if client:
                await uow.rate_limits.enforce(ACCEPT_LIMIT, client)
            link = await uow.links.get(token_digest(token), for_update=True)
            if link is None:
                await uow.commit()  # keep the rate-limit count: guessing tokens costs attempts
                raise NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist")
            state = link.state(now)
            if state != LinkState.VALID:
                raise FailedPrecondition(f"ACCEPTANCE_TOKEN_{state.value}", f"this link is {state.value.lower()}")
            if terms_version != self.terms_version:
                raise FailedPrecondition("TERMS_VERSION_MISMATCH", "these terms are no longer the ones in force",
                                         metadata={"termsVersion": self.terms_version})
            s = await uow.suppliers.get(link.cofor_root, for_update=True)
            request = await uow.requests.get(link.access_request_id)
            assert s is not None and request is not None
            for other in s.accept_terms(request, await uow.requests.waiting(s.cofor_root), now):
                await self._void_links(uow, other.id, now)  # the other requests close with their links
            link.used_at = now
            request.terms_version = terms_version
            uow.publish("cofor.access.terms_accepted", ev.TermsAccepted(
                cofor_root=s.cofor_root, head_office_cofor=s.head_office_cofor, legal_name=s.legal_name,
                access_request_id=request.id, administrator=protos.contact(request.administrator),
                signatory=protos.contact(request.signatory), terms_version=terms_version))
            await uow.commit()
            return s
