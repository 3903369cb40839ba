"""The supplier registry for purchasing and internal systems: sites, status, suspension, reading one supplier
(listing them is in cofor/views.py), COFOR validation and the get-access analysis; and cofor's reactions to
identity's administrator events."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from portal.cofor.v1 import events_pb2 as ev

from kit import validation
from kit.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
    Violations,
)

from cofor.adapters import protos
from cofor.adapters.directory import Entry
from cofor.domain.access import AccessRequest, SuspensionCause
from cofor.domain.analysis import Analysis, analyze, parse_analysis_input
from cofor.domain.codes import HEAD_OFFICE_SITE, MalformedCofor, canonical, parse_cofor, parse_site_code, site_codes
from cofor.domain.model import Site, Supplier
from cofor.service_layer.base import (
    AddressInput,
    RegistryBase,
    address_violations,
    clean_address,
    reason_error,
    request_id_violation,
)
from cofor.service_layer.unit_of_work import CoforUnitOfWork


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


class Suppliers(RegistryBase):
    async def add_site(self, cofor_root: str, site_code: str, name: str, address: AddressInput,
                       request_id: str = "") -> Site:
        v = Violations()
        name, address = validation.clean(name), clean_address(address)
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
        address_violations(v, "address", address)
        request_id_violation(v, request_id)
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
        if err := reason_error(reason, required=False):
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
                    portal_access_state=protos.access_state(s.access_state.value),
                    revision=s.revision))
                await uow.commit()
            return s

    async def suspend(self, cofor_root: str, reason: str) -> Supplier:
        reason = validation.clean(reason)
        if err := reason_error(reason, required=False):
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

    async def get_supplier(self, cofor: str) -> tuple[Supplier, AccessRequest | None, list[AccessRequest]]:
        """The supplier, its latest (or accepted) request, and every request still waiting."""
        async with self.uow(readonly=True) as uow:
            s = await self._supplier(uow, cofor, field="cofor")
            wanted = parse_cofor(cofor)
            if wanted.site and s.site(wanted.site) is None:
                raise NotFound("SITE_NOT_FOUND", "the supplier has no site with this code",
                               metadata={"siteCode": wanted.site})
            pending = [r for r in await uow.requests.waiting(s.cofor_root, for_update=False) if not r.due(self.now())]
            return s, await uow.requests.get(s.access_request_id), pending

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
                supplier = await uow.suppliers.get(wanted.root)
        return analyze(wanted, supplier, self.now())

    # ---- reactions to identity's events -----------------------------------------------------------------

    async def on_administrator_created(self, uow: CoforUnitOfWork, cofor_root: str, identifier: str,
                                       display_name: str) -> None:
        s = await uow.suppliers.get(cofor_root, for_update=True)
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
        s = await uow.suppliers.get(cofor_root, for_update=True)
        if s is None:
            return
        if s.administrators_changed(administrators, revision, self.now()) == "suspended":
            self._publish_suspended(uow, s, "no active administrator left")
