"""What every cofor use case shares: the unit of work, the mail seal key, the clock, loading a supplier, and the
field checks of addresses and contacts (each names the request field, so callers see every bad field at once)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from kit import validation
from kit.clock import utcnow
from kit.db import Database
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Violations

from cofor.adapters.directory import SupplierDirectory
from cofor.domain.access import ContactDetails
from cofor.domain.codes import MalformedCofor, parse_cofor
from cofor.domain.model import Supplier
from cofor.service_layer.unit_of_work import CoforUnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class AddressInput:
    lines: list[str]
    postal_code: str
    city: str
    country_code: str


def address_violations(v: Violations, prefix: str, a: AddressInput) -> None:
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


def clean_address(a: AddressInput) -> AddressInput:
    return AddressInput([validation.clean(x) for x in a.lines if x.strip()], validation.clean(a.postal_code),
                        validation.clean(a.city), a.country_code.strip().upper())


def clean_contact(c: ContactDetails) -> ContactDetails:
    return ContactDetails(validation.clean(c.given_name), validation.clean(c.family_name), c.email.strip(),
                          c.phone.strip(), validation.clean(c.job_title), c.language)


def contact_record(c: ContactDetails) -> dict[str, str]:
    """A checked contact as stored (language resolved)."""
    return {**vars(c), "language": validation.language_of(c.language) or "fr"}


def request_id_violation(v: Violations, request_id: str) -> None:
    if err := validation.request_id_error(request_id):
        v.add("request_id", err)


def reason_error(reason: str, *, required: bool = True) -> str | None:
    return validation.text_error(reason, required=required, max_length=2000, multiline=True)


def require_agent(agent: str) -> str:
    """Purchasing's decisions are made by a named person (``x-portal-agent``), recorded with the decision."""
    agent = validation.clean(agent)
    if err := validation.text_error(agent, max_length=200):
        raise InvalidArgument([FieldViolation("x-portal-agent", err)])
    return agent


class RegistryBase:
    def __init__(self, database: Database, *, seal_key: str, terms_version: str,
                 clock: Callable[[], dt.datetime] = utcnow, directory: SupplierDirectory | None = None,
                 uow: UnitOfWorkFactory | None = None) -> None:
        """``uow``: how each use case opens its unit of work (``uow(readonly=False)``); a CoforUnitOfWork on
        ``database`` unless given (the unit tests give fakes)."""
        self.db = database
        self.directory = directory or SupplierDirectory(database)
        self.uow: UnitOfWorkFactory = uow or partial(CoforUnitOfWork, database)
        self.seal_key = seal_key
        self.terms_version = terms_version
        self.now = clock

    async def _supplier(self, uow: CoforUnitOfWork, cofor_root: str, field: str = "cofor_root") -> Supplier:
        try:
            wanted = parse_cofor(cofor_root)
        except MalformedCofor as exc:
            raise InvalidArgument([FieldViolation(field, str(exc))]) from None
        supplier = await uow.suppliers.get(wanted.root, for_update=not uow.readonly)
        if supplier is None:
            raise NotFound("SUPPLIER_NOT_FOUND", "no supplier with this COFOR", metadata={"cofor": wanted.root})
        return supplier

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
