"""Purchasing's side of the company files: rejecting one (a submitted file, or a draft squatting a D-U-N-S),
referencing one as a supplier — whose legal representative becomes the signatory of record — and the housekeeping
that lapses files past their lifetime. Listing them is a read (cofor/views.py)."""
from __future__ import annotations

from portal.cofor.v1 import events_pb2 as ev

from kit import validation
from kit.errors import FieldViolation, InvalidArgument, ResourceExhausted, Violations
from notify import mails, send_mail

from cofor.adapters import protos
from cofor.domain.codes import HEAD_OFFICE_SITE, random_root
from cofor.domain.model import Site, Supplier
from cofor.domain.presentations import Presentation
from cofor.service_layer.base import reason_error, request_id_violation
from cofor.service_layer.presentations import Presentations
from cofor.service_layer.unit_of_work import KeyTaken


class Referencing(Presentations):
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
            except KeyTaken:
                continue  # the random root was taken by a concurrent referencing: draw again
        raise ResourceExhausted("COFOR_ALLOCATION_FAILED", "could not allocate a COFOR root; try again")

    async def _reference_once(self, presentation_id: str, request_id: str) -> Supplier:
        now = self.now()
        async with self.uow() as uow:
            if done := await uow.remembered("ReferenceSupplier", request_id, owner=presentation_id):
                supplier = await uow.suppliers.get(done)
                assert supplier is not None
                return supplier
            p = await self._presenter_file(uow, presentation_id, None, purchasing=True)
            root = random_root()
            while await uow.suppliers.exists(root):
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
            uow.suppliers.add(supplier)
            uow.remember("ReferenceSupplier", request_id, root, owner=presentation_id)
            uow.publish("cofor.supplier.referenced", ev.SupplierReferenced(
                cofor_root=root, head_office_cofor=supplier.head_office_cofor, legal_name=p.legal_name,
                duns=p.duns, country_code=p.country_code, presentation_id=p.id, head_office_site=protos.site(head)))
            send_mail(uow, mails.supplier_referenced(legal_name=p.legal_name, cofor_root=root,
                                                     head_office_cofor=supplier.head_office_cofor),
                      to=[(p.email, "")], language=p.language)
            await uow.flush()  # the root (or the request id) taken meanwhile by a concurrent referencing fails here
            await uow.commit()
            return supplier

    async def expire_due_presentations(self) -> int:
        """Housekeeping: every draft past its lifetime lapses (the presenter paths also lapse one on sight)."""
        now = self.now()
        async with self.uow() as uow:
            expired = await uow.presentations.expire_due(now)
            await uow.commit()
        return expired
