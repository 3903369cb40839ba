"""A cofor registry on the fakes, and the steps the handler tests share: a company file presented (its mailed token
read back), a supplier referenced straight into the store."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from portal.support.v1 import events_pb2 as mail_events

from kit.db import Database
from kit.sealed import SealKeyPair
from tests.unit.cofor.fakes import Store, unit_of_work

from cofor.domain.access import AccessState, ContactDetails
from cofor.domain.model import Site, Supplier
from cofor.service_layer.registry import AddressInput, Registry

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
TERMS = "2026-01"
SEAL = SealKeyPair.generate()
T = mail_events.EmailTemplate
SIGNATORY = ContactDetails("Claire", "Martin", "claire.martin@forges.example", "+33 3 83 00 00 00", "CEO", "fr")
NOMINEE = ContactDetails("Paul", "Durand", "paul.durand@forges.example", "+33 3 83 00 00 01", "IT", "en")


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class FakeDatabase:
    """What the supplier directory registers on (unused: validation reads the directory, not the fakes)."""

    is_postgres: bool = False
    commit_listeners: list[Any] = field(default_factory=list)


@dataclass
class World:
    store: Store
    clock: Clock
    registry: Registry

    def token_of(self, mail: mail_events.EmailRequested, name: str) -> str:
        return self.store.secrets(mail, SEAL.private_key)[name]

    async def present(self, duns: str = "123456789", email: str = "ann@forges.example") -> tuple[str, str]:
        """A company file started by the public: (its id, the presenter token mailed)."""
        p = await self.registry.start_presentation(duns=duns, email=email, legal_name="Forges SA", language="en")
        return p.id, self.token_of(self.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_STARTED, email)[-1],
                                   "presenter_token")

    async def complete(self, presentation_id: str, token: str) -> None:
        """Every field a submitted file needs, the presenter's first visit confirming the file."""
        values: dict[str, Any] = dict(
            legal_name="Forges SA", national_registration_number="RCS 123", tax_number="FR12345678901",
            head_office_address=AddressInput(["1 rue de la Forge"], "54000", "Nancy", "FR"), country_code="FR",
            legal_existence_proof_ref="kbis.pdf", legal_representative=SIGNATORY)
        await self.registry.update_presentation(presentation_id, token, values, [])

    def supplier(self, root: str = "ABC123", *, signatory: ContactDetails | None = SIGNATORY,
                 access_state: AccessState = AccessState.NOT_REQUESTED, **changes: Any) -> Supplier:
        """A referenced supplier with its head office (01) and a plant (02), stored as committed."""
        sites = [Site(cofor_root=root, site_code=code, name=name, is_head_office=code == "01", created_at=NOW)
                 for code, name in (("01", "Head office"), ("02", "Plant"))]
        s = Supplier(cofor_root=root, legal_name="Forges SA", duns="987654321", country_code="FR",
                     presentation_id="p-1", created_at=NOW, updated_at=NOW, sites=sites, access_state=access_state,
                     signatory=dict(vars(signatory)) if signatory else {}, **changes)
        self.store.suppliers[root] = s
        return s


def world() -> World:
    store, clock = Store(), Clock()
    registry = Registry(cast(Database, FakeDatabase()), seal_key=SEAL.public_key, terms_version=TERMS, clock=clock,
                        uow=unit_of_work(store))
    return World(store, clock, registry)
