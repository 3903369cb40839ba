"""Purchasing's supplier use cases and cofor's reactions to identity's events, on a fake unit of work: sites, status,
suspension, the reads, and the events each change publishes (none when nothing changed)."""
from __future__ import annotations

import pytest

from kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tests.unit.cofor.builders import NOMINEE, SIGNATORY, world

from cofor.domain.access import AccessState, SuspensionCause
from cofor.domain.model import SupplierStatus
from cofor.service_layer.registry import AddressInput

RID = "0f3e2d1c-4b5a-4978-8a6b-5c4d3e2f1a0b"
ADDRESS = AddressInput(["2 rue de l'Usine"], "57000", "Metz", "fr")
ASL = [{"identifier": "V123456", "display_name": "Paul Durand"}]


async def test_a_site_takes_the_next_free_code_and_a_replay_returns_it() -> None:
    w = world()
    w.supplier()
    site = await w.registry.add_site("ABC123", "", " Forge north ", ADDRESS, RID)
    again = await w.registry.add_site("ABC123", "", "Forge north", ADDRESS, RID)
    assert (site.site_code, site.name, site.address_country) == ("03", "Forge north", "FR")
    assert again.site_code == "03"
    assert [s.site_code for s in w.store.suppliers["ABC123"].sites] == ["01", "02", "03"]
    [event] = w.store.of("cofor.supplier.site_added")
    assert event.cofor_root == "ABC123" and event.site.site_code == "03"


async def test_a_taken_or_head_office_code_is_refused() -> None:
    w = world()
    w.supplier()
    with pytest.raises(AlreadyExists) as taken:
        await w.registry.add_site("ABC123", "02", "Plant bis", ADDRESS)
    assert taken.value.reason == "SITE_ALREADY_EXISTS"
    with pytest.raises(InvalidArgument) as head:
        await w.registry.add_site("ABC123", "01", "", ADDRESS)
    assert {v.field for v in head.value.violations} == {"site_code", "name"}
    assert w.store.commits == 0


async def test_an_unknown_supplier_is_not_found() -> None:
    w = world()
    with pytest.raises(NotFound) as refused:
        await w.registry.deactivate("ZZZ999", "")
    assert refused.value.reason == "SUPPLIER_NOT_FOUND"


async def test_deactivation_is_published_once_and_reactivation_undoes_it() -> None:
    w = world()
    w.supplier()
    await w.registry.deactivate("ABC123", "  closed down ")
    await w.registry.deactivate("ABC123", "again")
    stored = w.store.suppliers["ABC123"]
    assert stored.status == SupplierStatus.DEACTIVATED and stored.status_reason == "closed down"
    [event] = w.store.of("cofor.supplier.deactivated")
    assert event.reason == "closed down" and event.revision == stored.revision
    with pytest.raises(FailedPrecondition) as refused:
        await w.registry.add_site("ABC123", "", "Plant", ADDRESS)
    assert refused.value.reason == "SUPPLIER_DEACTIVATED"
    await w.registry.reactivate("ABC123")
    assert w.store.suppliers["ABC123"].status == SupplierStatus.ACTIVE
    assert len(w.store.of("cofor.supplier.reactivated")) == 1


async def test_only_an_open_access_is_suspended_and_reopened() -> None:
    w = world()
    w.supplier()
    with pytest.raises(FailedPrecondition) as refused:
        await w.registry.suspend("ABC123", "")
    assert refused.value.reason == "ACCESS_NOT_OPEN"
    w.supplier("DEF456", access_state=AccessState.OPEN, administrators=ASL)
    s = await w.registry.suspend("DEF456", "audit")
    assert (s.access_state, s.suspension_cause) == (AccessState.SUSPENDED, SuspensionCause.OPERATOR)
    [suspended] = w.store.of("cofor.access.suspended")
    assert suspended.reason == "audit"
    await w.registry.reopen("DEF456")
    assert w.store.suppliers["DEF456"].access_state == AccessState.OPEN
    [opened] = w.store.of("cofor.access.opened")
    assert opened.reopened


async def test_the_administrator_created_opens_access_and_the_last_one_gone_suspends_it() -> None:
    w = world()
    w.supplier(access_state=AccessState.ADMINISTRATOR_PENDING)
    async with w.registry.uow() as uow:
        await w.registry.on_administrator_created(uow, "ABC123", "V123456", "Paul Durand")
        await w.registry.on_administrator_created(uow, "NOPE00", "V999999", "Nobody")  # unknown: ignored
        await uow.commit()
    s = w.store.suppliers["ABC123"]
    assert s.access_state == AccessState.OPEN and s.administrators == ASL
    [opened] = w.store.of("cofor.access.opened")
    assert opened.administrator_identifier == "V123456"
    async with w.registry.uow() as uow:
        await w.registry.on_administrators_changed(uow, "ABC123", [], 2)
        await w.registry.on_administrators_changed(uow, "ABC123", ASL, 1)  # an older snapshot, late: ignored
        await uow.commit()
    s = w.store.suppliers["ABC123"]
    assert (s.access_state, s.suspension_cause) == (AccessState.SUSPENDED, SuspensionCause.NO_ACTIVE_ADMINISTRATOR)
    assert s.administrators == [] and len(w.store.of("cofor.access.suspended")) == 1


async def test_a_supplier_is_read_with_its_waiting_requests_and_a_site_must_exist() -> None:
    w = world()
    w.supplier()
    await w.registry.request_access("ABC123", SIGNATORY, NOMINEE)
    s, current, pending = await w.registry.get_supplier("ABC12302")
    assert s.cofor_root == "ABC123" and current is not None and pending == [current]
    with pytest.raises(NotFound) as refused:
        await w.registry.get_supplier("ABC12309")
    assert refused.value.reason == "SITE_NOT_FOUND"
