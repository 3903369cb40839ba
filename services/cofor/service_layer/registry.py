"""The registry's use cases. Each opens one unit of work: rules from the domain, state + events committed
together. Field checks name the request field (proto path) so callers see every bad field at once."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.cofor.v1 import events_pb2 as ev
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kit import ratelimit, validation
from kit.db import Database
from kit.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, \
    ResourceExhausted, Unauthenticated, Unavailable, Violations
from kit.notify import Template, request_email
from kit.paging import page_of

from cofor.adapters import protos
from cofor.adapters.directory import Entry, SupplierDirectory
from cofor.adapters.orm import start_mappers
from cofor.domain.analysis import Analysis, analyze, parse_analysis_input
from cofor.domain.codes import HEAD_OFFICE_SITE, MalformedCofor, canonical, normalize_duns, parse_cofor, parse_site_code, \
    random_root, site_codes
from cofor.domain.model import TERMS_LINK_LIFETIME, AcceptanceLink, AccessRequest, AccessState, ContactDetails, \
    LinkState, Presentation, PresentationState, Site, Supplier, SupplierStatus, SuspensionCause
from cofor.service_layer.unit_of_work import CoforUnitOfWork

# Public calls are counted per client address (the gateway forwards it); resends also per company.
START_LIMIT = ratelimit.Limit("start-presentation", 10, 3600)
REQUEST_LIMIT = ratelimit.Limit("request-access", 10, 3600)
RESEND_CLIENT_LIMIT = ratelimit.Limit("resend-terms", 10, 3600)
RESEND_COMPANY_LIMIT = ratelimit.Limit("resend-terms-company", 3, 3600)
ACCEPT_LIMIT = ratelimit.Limit("accept-terms", 20, 3600)

UPDATABLE = {
    "legal_name", "national_registration_number", "tax_number", "head_office_address",
    "head_office_address.lines", "head_office_address.postal_code", "head_office_address.city",
    "head_office_address.country_code", "country_code", "legal_existence_proof_ref",
}
_ADDRESS_ATTR = {"lines": "address_lines", "postal_code": "postal_code", "city": "city",
                 "country_code": "address_country"}


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class AddressInput:
    lines: list[str]
    postal_code: str
    city: str
    country_code: str


@dataclass(frozen=True)
class Validation:
    input: str
    valid: bool
    reason: str = ""  # MALFORMED, UNKNOWN_SUPPLIER, UNKNOWN_SITE
    cofor: str = ""
    entry: Entry | None = None
    head_office_cofor: str = ""

    @property
    def is_head_office(self) -> bool:
        return self.valid and self.cofor == self.head_office_cofor


@dataclass(frozen=True)
class TermsLinkView:
    legal_name: str
    cofor: str
    signatory_name: str
    language: str
    terms_version: str
    state: LinkState
    expires_at: dt.datetime


def _address_violations(v: Violations, prefix: str, a: AddressInput) -> None:
    if len(a.lines) > 4:
        v.add(f"{prefix}.lines", "at most 4 lines")
    for i, line in enumerate(a.lines):
        if err := validation.text_error(line, max_length=100):
            v.add(f"{prefix}.lines[{i}]", err)
    for name, value, limit in (("postal_code", a.postal_code, 20), ("city", a.city, 100)):
        if err := validation.text_error(value, required=False, max_length=limit):
            v.add(f"{prefix}.{name}", err)
    if err := validation.country_error(a.country_code, required=False):
        v.add(f"{prefix}.country_code", err)


def _clean_address(a: AddressInput) -> AddressInput:
    return AddressInput([validation.clean(x) for x in a.lines if x.strip()], validation.clean(a.postal_code),
                        validation.clean(a.city), a.country_code.strip().upper())


def _clean_contact(c: ContactDetails) -> ContactDetails:
    return ContactDetails(validation.clean(c.given_name), validation.clean(c.family_name), c.email.strip(),
                        c.phone.strip(), validation.clean(c.job_title), c.language)


def _contact_violations(v: Violations, prefix: str, c: ContactDetails) -> None:
    for name, value in (("given_name", c.given_name), ("family_name", c.family_name), ("job_title", c.job_title)):
        if err := validation.text_error(value, max_length=100):
            v.add(f"{prefix}.{name}", err)
    if err := validation.email_error(c.email):
        v.add(f"{prefix}.email", err)
    if err := validation.phone_error(c.phone):
        v.add(f"{prefix}.phone", err)
    if validation.language_of(c.language) is None:
        v.add(f"{prefix}.language", "must be fr or en")


class Registry:
    def __init__(self, database: Database, *, seal_key: str, terms_version: str,
                 clock: Callable[[], dt.datetime] = utcnow, directory: SupplierDirectory | None = None) -> None:
        start_mappers()  # queries are built before any unit of work opens: the mapping must exist first
        self.db = database
        self.directory = directory or SupplierDirectory(database)
        self.seal_key = seal_key
        self.terms_version = terms_version
        self.now = clock

    def uow(self, *, readonly: bool = False) -> CoforUnitOfWork:
        return CoforUnitOfWork(self.db, readonly=readonly)

    # ---- present your company -------------------------------------------------------------------------

    async def start_presentation(self, *, duns: str, email: str, legal_name: str, language: str,
                                 request_id: str = "", client: str = "") -> tuple[Presentation, str]:
        v = Violations()
        try:
            duns = normalize_duns(duns)
        except ValueError as exc:
            v.add("duns", str(exc))
        email, legal_name = email.strip(), validation.clean(legal_name)
        if err := validation.email_error(email):
            v.add("email", err)
        if err := validation.text_error(legal_name):
            v.add("legal_name", err)
        lang = validation.language_of(language)
        if lang is None:
            v.add("language", "must be fr or en")
        _request_id_violation(v, request_id)
        v.raise_if_any()
        token = secrets.token_urlsafe(32)
        now = self.now()
        try:
            async with self.uow() as uow:
                if existing_id := await uow.remembered("StartPresentation", request_id, owner=f"{duns} {email}"):
                    existing = await uow.presentation(existing_id)
                    assert existing is not None
                    existing.presenter_token_digest = digest(token)  # the retry gets a fresh token
                    self._mail_presentation_started(uow, existing, token)
                    await uow.commit()
                    return existing, token
                if client:
                    await ratelimit.enforce(uow.session, START_LIMIT, client)
                if await uow.session.scalar(select(func.count()).select_from(Presentation).where(
                        Presentation.duns == duns)):  # type: ignore[arg-type]
                    raise _duns_taken(duns)
                presentation = Presentation(id=str(uuid.uuid4()), duns=duns, email=email, language=lang or "fr",
                                            legal_name=legal_name, presenter_token_digest=digest(token),
                                            created_at=now, updated_at=now)
                uow.session.add(presentation)
                uow.remember("StartPresentation", request_id, presentation.id, owner=f"{duns} {email}")
                self._mail_presentation_started(uow, presentation, token)
                await uow.commit()
                return presentation, token
        except IntegrityError:
            # Two racing requests for one D-U-N-S: the unique index let exactly one file through.
            raise _duns_taken(duns) from None

    def _mail_presentation_started(self, uow: CoforUnitOfWork, p: Presentation, token: str) -> None:
        request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_STARTED, to=[(p.email, "")],
                      language=p.language, params={"legal_name": p.legal_name, "duns": p.duns,
                                                   "presentation_id": p.id},
                      secrets={"presenter_token": token}, seal_key=self.seal_key)

    async def _presenter_file(self, uow: CoforUnitOfWork, presentation_id: str, token: str | None,
                              *, purchasing: bool = False) -> Presentation:
        presentation = await uow.presentation(presentation_id, for_update=not uow.readonly) \
            if validation.is_uuid(presentation_id) else None
        if not purchasing:
            # Same answer for an unknown file and a wrong token: the token is the only proof.
            expected = presentation.presenter_token_digest if presentation else digest("x")
            if not token or not hmac.compare_digest(digest(token), expected) or presentation is None:
                raise Unauthenticated("PRESENTER_TOKEN_INVALID", "this link or token does not open this file")
        if presentation is None:
            raise NotFound("PRESENTATION_NOT_FOUND", "no such company file")
        return presentation

    async def update_presentation(self, presentation_id: str, token: str | None, values: dict[str, Any],
                                  paths: list[str]) -> Presentation:
        """``values`` holds every field of the request; ``paths`` (the update mask) says which to apply."""
        v = Violations()
        unknown = [p for p in paths if p not in UPDATABLE]
        for p in unknown:
            v.add("update_mask", f"{p} is not an updatable field")
        changes: dict[str, Any] = {}
        selected = paths or [name for name in ("legal_name", "national_registration_number", "tax_number",
                                               "head_office_address", "country_code", "legal_existence_proof_ref")
                             if values.get(name)]
        address: AddressInput = _clean_address(values["head_office_address"])
        for path in selected:
            if path == "head_office_address":
                _address_violations(v, "presentation.head_office_address", address)
                changes.update(address_lines=address.lines, postal_code=address.postal_code, city=address.city,
                               address_country=address.country_code)
            elif path.startswith("head_office_address."):
                part = path.split(".", 1)[1]
                value = getattr(address, part)
                _address_violations(v, "presentation.head_office_address",
                                    AddressInput(**{**{k: [] if k == "lines" else "" for k in _ADDRESS_ATTR},
                                                    part: value}))
                changes[_ADDRESS_ATTR[part]] = value
            elif path in UPDATABLE:
                value = values.get(path, "")
                value = value.strip().upper() if path == "country_code" else validation.clean(value)
                limit = {"legal_existence_proof_ref": 300, "legal_name": 200}.get(path, 100)
                err = validation.country_error(value, required=False) if path == "country_code" else \
                    validation.text_error(value, required=path == "legal_name", max_length=limit)
                if err:
                    v.add(f"presentation.{path}", err)
                changes[path] = value
        v.raise_if_any()
        async with self.uow() as uow:
            presentation = await self._presenter_file(uow, presentation_id, token)
            presentation.update(changes, self.now())
            await uow.commit()
            return presentation

    async def submit_presentation(self, presentation_id: str, token: str | None) -> Presentation:
        async with self.uow() as uow:
            p = await self._presenter_file(uow, presentation_id, token)
            if p.submit(self.now()):
                uow.publish("cofor.presentation.submitted", ev.PresentationSubmitted(
                    presentation_id=p.id, duns=p.duns, legal_name=p.legal_name, email=p.email,
                    language=p.language, country_code=p.country_code))
                request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, to=[(p.email, "")],
                              language=p.language,
                              params={"legal_name": p.legal_name, "duns": p.duns, "presentation_id": p.id})
                await uow.commit()
            return p

    async def get_presentation(self, presentation_id: str, token: str | None, *, purchasing: bool) -> Presentation:
        async with self.uow(readonly=True) as uow:
            return await self._presenter_file(uow, presentation_id, token, purchasing=purchasing)

    async def list_presentations(self, state: str, duns: str, page_size: int,
                                 page_token: str) -> tuple[list[Presentation], str]:
        page = page_of(page_size, page_token, state=state, duns=duns)
        query = select(Presentation).order_by(Presentation.created_at.desc(), Presentation.id.desc())  # type: ignore[attr-defined]
        if state:
            query = query.where(Presentation.state == state)  # type: ignore[arg-type]
        if duns:
            try:
                query = query.where(Presentation.duns == normalize_duns(duns))  # type: ignore[arg-type]
            except ValueError as exc:
                raise InvalidArgument([FieldViolation("duns", str(exc))]) from None
        if page.after:
            created, ident = page.after
            query = query.where((Presentation.created_at < dt.datetime.fromisoformat(created)) | (  # type: ignore[operator]
                (Presentation.created_at == dt.datetime.fromisoformat(created)) & (Presentation.id < ident)))  # type: ignore[operator]
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.scalars(query.limit(page.size))).all())
        last = [rows[-1].created_at.isoformat(), rows[-1].id] if rows else None
        return rows, page.next_token(last, len(rows))

    async def reject_presentation(self, presentation_id: str, reason: str) -> Presentation:
        reason = validation.clean(reason)
        if err := validation.text_error(reason, max_length=2000, multiline=True):
            raise InvalidArgument([FieldViolation("reason", err)])
        async with self.uow() as uow:
            p = await self._presenter_file(uow, presentation_id, None, purchasing=True)
            p.reject(reason, self.now())
            uow.publish("cofor.presentation.rejected", ev.PresentationRejected(
                presentation_id=p.id, duns=p.duns, legal_name=p.legal_name, email=p.email, language=p.language,
                reason=reason))
            request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_REJECTED, to=[(p.email, "")],
                          language=p.language, params={"legal_name": p.legal_name, "duns": p.duns,
                                                       "presentation_id": p.id, "reason": reason})
            await uow.commit()
            return p

    # ---- purchasing ------------------------------------------------------------------------------------

    async def reference_supplier(self, presentation_id: str, request_id: str = "") -> Supplier:
        v = Violations()
        _request_id_violation(v, request_id)
        v.raise_if_any()
        for _attempt in range(5):
            try:
                return await self._reference_once(presentation_id, request_id)
            except IntegrityError:
                continue  # the random root was taken by a concurrent referencing: draw again
        raise ResourceExhausted("COFOR_ALLOCATION_FAILED", "could not allocate a COFOR root; try again")

    async def _reference_once(self, presentation_id: str, request_id: str) -> Supplier:
        now = self.now()
        async with self.uow() as uow:
            if done := await uow.remembered("ReferenceSupplier", request_id, owner=presentation_id):
                supplier = await uow.supplier(done)
                assert supplier is not None
                return supplier
            p = await self._presenter_file(uow, presentation_id, None, purchasing=True)
            root = random_root()
            while await uow.session.get(Supplier, root) is not None:
                root = random_root()
            p.reference(root, now)
            head = Site(cofor_root=root, site_code=HEAD_OFFICE_SITE, name=p.legal_name, is_head_office=True,
                        created_at=now, address_lines=list(p.address_lines), postal_code=p.postal_code,
                        city=p.city, address_country=p.address_country)
            supplier = Supplier(cofor_root=root, legal_name=p.legal_name, duns=p.duns, country_code=p.country_code,
                                presentation_id=p.id, created_at=now, updated_at=now, sites=[head])
            uow.session.add(supplier)
            uow.remember("ReferenceSupplier", request_id, root, owner=presentation_id)
            uow.publish("cofor.supplier.referenced", ev.SupplierReferenced(
                cofor_root=root, head_office_cofor=supplier.head_office_cofor, legal_name=p.legal_name,
                duns=p.duns, country_code=p.country_code, presentation_id=p.id, head_office_site=protos.site(head)))
            request_email(uow, template=Template.EMAIL_TEMPLATE_SUPPLIER_REFERENCED, to=[(p.email, "")],
                          language=p.language, params={"legal_name": p.legal_name, "cofor_root": root,
                                                       "head_office_cofor": supplier.head_office_cofor})
            await uow.commit()
            return supplier

    async def _supplier(self, uow: CoforUnitOfWork, cofor_root: str, field: str = "cofor_root") -> Supplier:
        try:
            wanted = parse_cofor(cofor_root)
        except MalformedCofor as exc:
            raise InvalidArgument([FieldViolation(field, str(exc))]) from None
        supplier = await uow.supplier(wanted.root, for_update=not uow.readonly)
        if supplier is None:
            raise NotFound("SUPPLIER_NOT_FOUND", "no supplier with this COFOR", metadata={"cofor": wanted.root})
        return supplier

    async def add_site(self, cofor_root: str, site_code: str, name: str, address: AddressInput,
                       request_id: str = "") -> Site:
        v = Violations()
        name, address = validation.clean(name), _clean_address(address)
        code = None
        if site_code.strip():
            try:
                code = parse_site_code(site_code)
                if code == HEAD_OFFICE_SITE:
                    v.add("site_code", "01 is the head office's code")
            except MalformedCofor as exc:
                v.add("site_code", str(exc))
        if err := validation.text_error(name):
            v.add("name", err)
        _address_violations(v, "address", address)
        _request_id_violation(v, request_id)
        v.raise_if_any()
        async with self.uow() as uow:
            supplier = await self._supplier(uow, cofor_root)
            if done := await uow.remembered("AddSite", request_id, owner=cofor_root):
                found = supplier.site(done)
                assert found is not None  # the key is this supplier's: its resource is one of its sites
                return found
            supplier.require_active()
            taken = {s.site_code for s in supplier.sites}
            if code is None:
                code = next((c for c in site_codes() if c not in taken), None)
                if code is None:
                    raise ResourceExhausted("SITE_CODES_EXHAUSTED", "no free site code is left")
            elif code in taken:
                raise AlreadyExists("SITE_ALREADY_EXISTS", "this site code is taken", metadata={"siteCode": code})
            site = Site(cofor_root=supplier.cofor_root, site_code=code, name=name, is_head_office=False,
                        created_at=self.now(), address_lines=address.lines, postal_code=address.postal_code,
                        city=address.city, address_country=address.country_code)
            supplier.sites.append(site)
            supplier.updated_at = self.now()
            uow.remember("AddSite", request_id, code, owner=cofor_root)
            uow.publish("cofor.supplier.site_added", ev.SiteAdded(cofor_root=supplier.cofor_root,
                                                                  site=protos.site(site)))
            await uow.commit()
            return site

    async def deactivate(self, cofor_root: str, reason: str) -> Supplier:
        reason = validation.clean(reason)
        if err := validation.text_error(reason, required=False, max_length=2000, multiline=True):
            raise InvalidArgument([FieldViolation("reason", err)])
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor_root)
            if s.deactivate(reason, self.now()):
                uow.publish("cofor.supplier.deactivated", ev.SupplierDeactivated(
                    cofor_root=s.cofor_root, legal_name=s.legal_name, reason=reason, revision=s.revision))
                await uow.commit()
            return s

    async def reactivate(self, cofor_root: str) -> Supplier:
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor_root)
            if s.reactivate(self.now()):
                uow.publish("cofor.supplier.reactivated", ev.SupplierReactivated(
                    cofor_root=s.cofor_root, legal_name=s.legal_name,
                    portal_access_state=protos.access_state(s.access_state.value),  # type: ignore[arg-type]
                    revision=s.revision))
                await uow.commit()
            return s

    async def suspend(self, cofor_root: str, reason: str) -> Supplier:
        reason = validation.clean(reason)
        if err := validation.text_error(reason, required=False, max_length=2000, multiline=True):
            raise InvalidArgument([FieldViolation("reason", err)])
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor_root)
            if s.suspend(SuspensionCause.OPERATOR, self.now()):
                self._publish_suspended(uow, s, reason)
                await uow.commit()
            return s

    @staticmethod
    def _publish_suspended(uow: CoforUnitOfWork, s: Supplier, reason: str) -> None:
        cause = protos.suspension_cause(s.suspension_cause.value)
        uow.publish("cofor.access.suspended", ev.AccessSuspended(cofor_root=s.cofor_root, legal_name=s.legal_name,
                                                                 cause=cause, reason=reason, revision=s.revision))

    async def reopen(self, cofor_root: str) -> Supplier:
        async with self.uow() as uow:
            s = await self._supplier(uow, cofor_root)
            s.reopen(self.now())
            uow.publish("cofor.access.opened", ev.AccessOpened(cofor_root=s.cofor_root, legal_name=s.legal_name,
                                                               reopened=True, revision=s.revision))
            await uow.commit()
            return s

    async def get_supplier(self, cofor: str) -> tuple[Supplier, AccessRequest | None]:
        async with self.uow(readonly=True) as uow:
            s = await self._supplier(uow, cofor, field="cofor")
            wanted = parse_cofor(cofor)
            if wanted.site and s.site(wanted.site) is None:
                raise NotFound("SITE_NOT_FOUND", "the supplier has no site with this code",
                               metadata={"siteCode": wanted.site})
            request = await uow.access_request(s.access_request_id) if s.access_request_id else None
            return s, request

    async def list_suppliers(self, status: str, access_state: str, page_size: int,
                             page_token: str) -> tuple[list[Supplier], str]:
        page = page_of(page_size, page_token, status=status, access_state=access_state)
        query = select(Supplier).order_by(Supplier.cofor_root)  # type: ignore[arg-type]
        if status:
            query = query.where(Supplier.status == status)  # type: ignore[arg-type]
        if access_state:
            query = query.where(Supplier.access_state == access_state)  # type: ignore[arg-type]
        if page.after:
            query = query.where(Supplier.cofor_root > page.after)  # type: ignore[operator]
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.scalars(query.limit(page.size))).all())
        return rows, page.next_token(rows[-1].cofor_root if rows else None, len(rows))

    # ---- validation and analysis ------------------------------------------------------------------------

    async def validate(self, inputs: list[str]) -> list[Validation]:
        """Answered from the in-memory directory (see adapters/directory.py), not the database."""
        try:
            if not self.directory.is_current():  # the common case skips the (task-creating) wait
                await asyncio.wait_for(self.directory.current(), 10)
        except TimeoutError:
            raise Unavailable("DIRECTORY_LOADING", "the supplier directory is still loading; retry") from None
        results = []
        for text in inputs:
            try:
                wanted = parse_cofor(text)
            except MalformedCofor:
                results.append(Validation(text, False, "MALFORMED"))
                continue
            entry = self.directory.get(wanted.root)
            if entry is None:
                results.append(Validation(text, False, "UNKNOWN_SUPPLIER"))
                continue
            code = wanted.site or entry.head_office_site_code
            if code not in entry.site_codes:
                results.append(Validation(text, False, "UNKNOWN_SITE"))
                continue
            results.append(Validation(text, True, cofor=canonical(wanted.root, code), entry=entry,
                                      head_office_cofor=canonical(wanted.root, entry.head_office_site_code)))
        return results

    async def analyze(self, cofor: str, site_code: str) -> Analysis:
        wanted = parse_analysis_input(cofor, site_code)
        supplier = None
        if wanted is not None:
            async with self.uow(readonly=True) as uow:
                supplier = await uow.supplier(wanted.root)
        return analyze(wanted, supplier)

    # ---- portal access ---------------------------------------------------------------------------------

    async def _head_office_supplier(self, uow: CoforUnitOfWork, cofor: str) -> Supplier:
        s = await self._supplier(uow, cofor, field="cofor")
        wanted = parse_cofor(cofor)
        if wanted.site and s.site(wanted.site) is None:
            raise NotFound("SITE_NOT_FOUND", "the supplier has no site with this code",
                           metadata={"siteCode": wanted.site})
        if wanted.site and wanted.site != s.head_office_site_code:
            raise FailedPrecondition("SITE_NOT_ELIGIBLE", "portal access is opened for the head office only",
                                     metadata={"headOfficeCofor": s.head_office_cofor})
        return s

    async def request_access(self, cofor: str, signatory: ContactDetails, administrator: ContactDetails,
                             request_id: str = "", client: str = "") -> tuple[Supplier, AccessRequest, dt.datetime]:
        signatory, administrator = _clean_contact(signatory), _clean_contact(administrator)
        v = Violations()
        try:
            parse_cofor(cofor)
        except MalformedCofor as exc:
            v.add("cofor", str(exc))
        _contact_violations(v, "signatory", signatory)
        _contact_violations(v, "administrator", administrator)
        _request_id_violation(v, request_id)
        v.raise_if_any()
        now = self.now()
        replay_owner = f"{cofor.strip().upper()} {signatory.email.lower()} {administrator.email.lower()}"
        async with self.uow() as uow:
            if done := await uow.remembered("RequestPortalAccess", request_id, owner=replay_owner):
                request = await uow.access_request(done)
                assert request is not None
                s = await self._supplier(uow, request.cofor_root)
                return s, request, request.created_at + TERMS_LINK_LIFETIME
            if client:
                await ratelimit.enforce(uow.session, REQUEST_LIMIT, client)
            s = await self._head_office_supplier(uow, cofor)
            contact = {k: v for k, v in vars(signatory).items()}
            contact["language"] = validation.language_of(signatory.language) or "fr"
            admin = {k: v for k, v in vars(administrator).items()}
            admin["language"] = validation.language_of(administrator.language) or "fr"
            request = AccessRequest(id=str(uuid.uuid4()), cofor_root=s.cofor_root, signatory=contact,
                                    administrator=admin, terms_version=self.terms_version, created_at=now)
            s.request_access(request, now)
            uow.session.add(request)
            await uow.session.flush()  # the request row first: its links refer to it
            expires = await self._issue_link(uow, s, request, now)
            uow.remember("RequestPortalAccess", request_id, request.id, owner=replay_owner)
            uow.publish("cofor.access.requested", ev.AccessRequested(
                cofor_root=s.cofor_root, head_office_cofor=s.head_office_cofor, legal_name=s.legal_name,
                access_request_id=request.id, signatory=protos.contact(contact),
                administrator=protos.contact(admin), acceptance_expire_time=protos.ts(expires)))
            await uow.commit()
            return s, request, expires

    async def _issue_link(self, uow: CoforUnitOfWork, s: Supplier, request: AccessRequest,
                          now: dt.datetime) -> dt.datetime:
        """A new one-time acceptance link, mailed to the signatory; every earlier open link is voided."""
        for old in await uow.open_links(request.id):
            old.voided_at = now
        token = secrets.token_urlsafe(32)
        expires = now + TERMS_LINK_LIFETIME
        uow.session.add(AcceptanceLink(token_digest=digest(token), access_request_id=request.id,
                                       cofor_root=s.cofor_root, issued_at=now, expires_at=expires))
        signatory, admin = request.contact("signatory"), request.contact("administrator")
        request_email(uow, template=Template.EMAIL_TEMPLATE_TERMS_ACCEPTANCE, to=[(signatory.email,
                                                                                  signatory.display_name)],
                      language=signatory.language,
                      params={"legal_name": s.legal_name, "cofor": s.head_office_cofor,
                              "signatory_name": signatory.display_name, "administrator_name": admin.display_name,
                              "expire_time": expires.isoformat()},
                      secrets={"acceptance_token": token}, seal_key=self.seal_key)
        return expires

    async def resend_terms(self, cofor: str, client: str = "") -> dt.datetime:
        try:
            parse_cofor(cofor)
        except MalformedCofor as exc:
            raise InvalidArgument([FieldViolation("cofor", str(exc))]) from None
        async with self.uow() as uow:
            if client:
                await ratelimit.enforce(uow.session, RESEND_CLIENT_LIMIT, client)
            s = await self._head_office_supplier(uow, cofor)
            if s.access_state != AccessState.TERMS_PENDING:
                raise FailedPrecondition("TERMS_NOT_PENDING", f"portal access is {s.access_state.value}",
                                         metadata={"accessState": s.access_state.value})
            await ratelimit.enforce(uow.session, RESEND_COMPANY_LIMIT, s.cofor_root)
            request = await uow.access_request(s.access_request_id)
            assert request is not None
            expires = await self._issue_link(uow, s, request, self.now())
            await uow.commit()
            return expires

    async def describe_terms(self, token: str) -> TermsLinkView:
        async with self.uow(readonly=True) as uow:
            link = await uow.acceptance_link(digest(token)) if token else None
            if link is None:
                raise NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist")
            request = await uow.access_request(link.access_request_id)
            s = await uow.supplier(link.cofor_root)
            assert request is not None and s is not None
            signatory = request.contact("signatory")
            return TermsLinkView(s.legal_name, s.head_office_cofor, signatory.display_name, signatory.language,
                                 self.terms_version if request.accepted_at is None else request.terms_version,
                                 link.state(self.now()), link.expires_at)

    async def accept_terms(self, token: str, terms_version: str, client: str = "") -> Supplier:
        if not token:
            raise InvalidArgument([FieldViolation("acceptance_token", "is required")])
        if not terms_version:
            raise InvalidArgument([FieldViolation("terms_version", "is required")])
        now = self.now()
        async with self.uow() as uow:
            if client:
                await ratelimit.enforce(uow.session, ACCEPT_LIMIT, client)
            link = await uow.acceptance_link(digest(token), for_update=True)
            if link is None:
                await uow.commit()  # keep the rate-limit count: guessing tokens costs attempts
                raise NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist")
            state = link.state(now)
            if state != LinkState.VALID:
                raise FailedPrecondition(f"ACCEPTANCE_TOKEN_{state.value}", f"this link is {state.value.lower()}")
            if terms_version != self.terms_version:
                raise FailedPrecondition("TERMS_VERSION_MISMATCH", "these terms are no longer the ones in force",
                                         metadata={"termsVersion": self.terms_version})
            s = await uow.supplier(link.cofor_root, for_update=True)
            request = await uow.access_request(link.access_request_id)
            assert s is not None and request is not None
            s.accept_terms(now)
            link.used_at = now
            request.accepted_at, request.terms_version = now, terms_version
            uow.publish("cofor.access.terms_accepted", ev.TermsAccepted(
                cofor_root=s.cofor_root, head_office_cofor=s.head_office_cofor, legal_name=s.legal_name,
                access_request_id=request.id, administrator=protos.contact(request.administrator),
                signatory=protos.contact(request.signatory), terms_version=terms_version))
            await uow.commit()
            return s

    # ---- reactions to identity's events -----------------------------------------------------------------

    async def on_administrator_created(self, uow: CoforUnitOfWork, cofor_root: str, identifier: str,
                                       display_name: str) -> None:
        s = await uow.supplier(cofor_root, for_update=True)
        if s is None:
            return
        if not any(a["identifier"] == identifier for a in s.administrators):
            s.administrators = [*s.administrators, {"identifier": identifier, "display_name": display_name}]
        if s.administrator_created(self.now()):
            uow.publish("cofor.access.opened", ev.AccessOpened(cofor_root=s.cofor_root, legal_name=s.legal_name,
                                                               administrator_identifier=identifier,
                                                               revision=s.revision))

    async def on_administrators_changed(self, uow: CoforUnitOfWork, cofor_root: str,
                                        administrators: list[dict[str, str]], revision: int) -> None:
        s = await uow.supplier(cofor_root, for_update=True)
        if s is None:
            return
        if s.administrators_changed(administrators, revision, self.now()) == "suspended":
            self._publish_suspended(uow, s, "no active administrator left")


def _duns_taken(duns: str) -> AlreadyExists:
    return AlreadyExists("DUNS_ALREADY_PRESENTED", "a company file already exists for this D-U-N-S number",
                         metadata={"duns": duns})


def _request_id_violation(v: Violations, request_id: str) -> None:
    if err := validation.request_id_error(request_id):
        v.add("request_id", err)
