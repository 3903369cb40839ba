"""Purchasing's side of the company files: listing them, rejecting one (a submitted file, or a draft squatting a
D-U-N-S), referencing one as a supplier — whose legal representative becomes the signatory of record — and the
housekeeping that lapses files past their lifetime."""
from __future__ import annotations

import datetime as dt

from portal.cofor.v1 import events_pb2 as ev
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kit import validation
from kit.errors import FieldViolation, InvalidArgument, ResourceExhausted, Violations
from kit.paging import page_of
from notify import Template, request_email

from cofor.adapters import protos
from cofor.adapters.orm import presentations
from cofor.domain.codes import HEAD_OFFICE_SITE, normalize_duns, random_root
from cofor.domain.model import Site, Supplier
from cofor.domain.presentations import IDLE_DRAFT_LIFETIME, UNCONFIRMED_LIFETIME, Presentation, PresentationState
from cofor.service_layer.base import reason_error, request_id_violation
from cofor.service_layer.presentations import Presentations


class Referencing(Presentations):
    async def list_presentations(self, state: str, duns: str, page_size: int,
                                 page_token: str) -> tuple[list[Presentation], str]:
        page = page_of(page_size, page_token, state=state, duns=duns)
        column = presentations.c
        query = select(Presentation).order_by(column.created_at.desc(), column.id.desc())
        if state:
            query = query.where(column.state == state)
        if duns:
            try:
                query = query.where(column.duns == normalize_duns(duns))
            except ValueError as exc:
                raise InvalidArgument([FieldViolation("duns", str(exc))]) from None
        if page.after:
            created, ident = page.after
            query = query.where((column.created_at < dt.datetime.fromisoformat(created)) | (
                (column.created_at == dt.datetime.fromisoformat(created)) & (column.id < ident)))
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.scalars(query.limit(page.size))).all())
        last = [rows[-1].created_at.isoformat(), rows[-1].id] if rows else None
        return rows, page.next_token(last, len(rows))

    async def reject_presentation(self, presentation_id: str, reason: str) -> Presentation:
        reason = validation.clean(reason)
        if err := reason_error(reason):
            raise InvalidArgument([FieldViolation("reason", err)])
        async with self.uow() as uow:
            p = await self._presenter_file(uow, presentation_id, None, purchasing=True)
            p.reject(reason, self.now())
            self._rejected(uow, p, reason)
            await uow.commit()
            return p

    async def reference_supplier(self, presentation_id: str, request_id: str = "") -> Supplier:
        v = Violations()
        request_id_violation(v, request_id)
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
            representative = {k: v for k, v in (p.representative or {}).items() if v}
            if representative.get("email"):  # the file's legal representative becomes the signatory of record
                supplier.record_signatory({"phone": "", **representative,
                                           "language": representative.get("language") or p.language}, now)
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

    async def expire_due_presentations(self) -> int:
        """Housekeeping: every draft past its lifetime lapses (the presenter paths also lapse one on sight)."""
        now = self.now()
        table = presentations
        due = (table.c.state == PresentationState.DRAFT.value) & (
            (table.c.confirmed_at.is_(None) & (table.c.created_at <= now - UNCONFIRMED_LIFETIME))
            | (table.c.confirmed_at.is_not(None) & (table.c.updated_at <= now - IDLE_DRAFT_LIFETIME)))
        async with self.uow() as uow:
            result = await uow.session.execute(update(table).where(due).values(
                state=PresentationState.EXPIRED.value, duns_claim=None, decided_at=now, updated_at=now))
            await uow.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
