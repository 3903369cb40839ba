"""Purchasing actions on suppliers, and who may call what."""
from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import events_pb2 as ev
from portal.cofor.v1 import supplier_pb2 as pb

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from .conftest import Cofor
from .flows import access_state_becomes, opened, referenced


async def test_sites_are_allocated_in_order_and_a_taken_code_is_refused(cofor: Cofor) -> None:
    s = await referenced(cofor)
    first = (await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, name="Plant A"),
                                        as_="purchasing")).site
    explicit = (await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, site_code="x7",
                                                              name="Plant B"), as_="purchasing")).site
    assert (first.site_code, explicit.site_code, explicit.cofor) == ("02", "X7", f"{s.cofor_root}  X7")
    for code, expected in (("x7", grpc.StatusCode.ALREADY_EXISTS), ("01", grpc.StatusCode.INVALID_ARGUMENT),
                           ("!", grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, site_code=code, name="C"),
                                       as_="purchasing")
        assert err.value.code() == expected
    supplier = (await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=s.cofor_root), as_="erp")).supplier
    assert [x.site_code for x in supplier.sites] == ["01", "02", "X7"]


async def test_deactivation_round_trip_publishes_each_change_once(cofor: Cofor) -> None:
    s = await opened(cofor)
    for _ in range(2):  # the second call is a no-op
        reply = await cofor.client.DeactivateSupplier(api.DeactivateSupplierRequest(
            cofor_root=s.cofor_root, reason="company merged"), as_="purchasing")
        assert reply.supplier.status == pb.SUPPLIER_STATUS_DEACTIVATED
    reply = await cofor.client.ReactivateSupplier(api.ReactivateSupplierRequest(cofor_root=s.cofor_root),
                                                  as_="purchasing")
    assert reply.supplier.status == pb.SUPPLIER_STATUS_ACTIVE
    assert reply.supplier.portal_access_state == pb.PORTAL_ACCESS_STATE_OPEN  # access state kept

    async def count(subject: str, kind: Any) -> int:  # an event message class
        msgs = await read_subject(cofor.js, "COFOR", subject)
        return sum(1 for m in msgs if kind.FromString(m.data).cofor_root == s.cofor_root)

    await wait_for(lambda: count("cofor.supplier.reactivated", ev.SupplierReactivated))
    await asyncio.sleep(0.3)
    assert await count("cofor.supplier.deactivated", ev.SupplierDeactivated) == 1
    assert await count("cofor.supplier.reactivated", ev.SupplierReactivated) == 1

    async def revisions() -> list[int]:  # every status and access event of this supplier, in stream order
        found = []
        for subject, kind in (("cofor.access.opened", ev.AccessOpened), ("cofor.supplier.deactivated",
                              ev.SupplierDeactivated), ("cofor.supplier.reactivated", ev.SupplierReactivated)):
            found += [(m.metadata.sequence.stream, kind.FromString(m.data).revision)
                      for m in await read_subject(cofor.js, "COFOR", subject)
                      if kind.FromString(m.data).cofor_root == s.cofor_root]
        return [revision for _, revision in sorted(found)]
    ordered = await revisions()
    assert len(ordered) == 3 and ordered == sorted(set(ordered)) and ordered[0] > 0  # strictly increasing


async def test_operator_suspension_and_reopening(cofor: Cofor) -> None:
    s = await opened(cofor)
    reply = await cofor.client.SuspendPortalAccess(api.SuspendPortalAccessRequest(
        cofor_root=s.cofor_root, reason="audit"), as_="purchasing")
    assert reply.supplier.portal_access_state == pb.PORTAL_ACCESS_STATE_SUSPENDED
    assert reply.supplier.access_suspension_cause == pb.ACCESS_SUSPENSION_CAUSE_OPERATOR
    reply = await cofor.client.ReopenPortalAccess(api.ReopenPortalAccessRequest(cofor_root=s.cofor_root),
                                                  as_="purchasing")
    assert reply.supplier.portal_access_state == pb.PORTAL_ACCESS_STATE_OPEN
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.ReopenPortalAccess(api.ReopenPortalAccessRequest(cofor_root=s.cofor_root),
                                              as_="purchasing")
    assert failure_of(err.value).reason == "ACCESS_NOT_SUSPENDED"
    fresh = await referenced(cofor)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.SuspendPortalAccess(api.SuspendPortalAccessRequest(cofor_root=fresh.cofor_root),
                                               as_="purchasing")
    assert failure_of(err.value).reason == "ACCESS_NOT_OPEN"


async def test_unknown_and_malformed_suppliers(cofor: Cofor) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.GetSupplier(api.GetSupplierRequest(cofor="Q1Q1Q1"), as_="erp")
    assert failure_of(err.value).reason == "SUPPLIER_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.DeactivateSupplier(api.DeactivateSupplierRequest(cofor_root="bad!"), as_="purchasing")
    assert failure_of(err.value).field_violations[0][0] == "cofor_root"
    s = await referenced(cofor)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=f"{s.cofor_root}55"), as_="erp")
    assert failure_of(err.value).reason == "SITE_NOT_FOUND"


async def test_list_suppliers_filters_and_pages(cofor: Cofor) -> None:
    made = {(await referenced(cofor)).cofor_root for _ in range(3)}
    seen, token = [], ""
    while True:
        page = await cofor.client.ListSuppliers(api.ListSuppliersRequest(
            status=pb.SUPPLIER_STATUS_ACTIVE, page_size=2, page_token=token), as_="erp")
        seen += [x.cofor_root for x in page.suppliers]
        token = page.next_page_token
        if not token:
            break
    assert made <= set(seen) and seen == sorted(seen)


PURCHASING_CALLS = [
    ("ListPresentations", api.ListPresentationsRequest()),
    ("RejectPresentation", api.RejectPresentationRequest(presentation_id="x", reason="r")),
    ("ReferenceSupplier", api.ReferenceSupplierRequest(presentation_id="x")),
    ("AddSite", api.AddSiteRequest(cofor_root="AAAAAA", name="n")),
    ("DeactivateSupplier", api.DeactivateSupplierRequest(cofor_root="AAAAAA")),
    ("ReactivateSupplier", api.ReactivateSupplierRequest(cofor_root="AAAAAA")),
    ("SuspendPortalAccess", api.SuspendPortalAccessRequest(cofor_root="AAAAAA")),
    ("ReopenPortalAccess", api.ReopenPortalAccessRequest(cofor_root="AAAAAA")),
]
INTERNAL_CALLS = [
    ("GetSupplier", api.GetSupplierRequest(cofor="AAAAAA")),
    ("ListSuppliers", api.ListSuppliersRequest()),
    ("ValidateCofor", api.ValidateCoforRequest(cofor="AAAAAA")),
    ("BatchValidateCofor", api.BatchValidateCoforRequest(cofors=["AAAAAA"])),
]


@pytest.mark.parametrize("method,request_", PURCHASING_CALLS + INTERNAL_CALLS)
async def test_end_users_through_the_gateway_cannot_call_purchasing_or_internal_rpcs(
        cofor: Cofor, method: str, request_: object) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(cofor.client, method)(request_, as_="gateway")
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED and failure.reason == "CALLER_NOT_ALLOWED"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(cofor.client, method)(request_, as_="")
    assert failure_of(err.value).reason == "CALLER_UNAUTHENTICATED"


async def test_internal_systems_cannot_act_as_purchasing(cofor: Cofor) -> None:
    s = await referenced(cofor)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.DeactivateSupplier(api.DeactivateSupplierRequest(cofor_root=s.cofor_root), as_="erp")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    still = await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_NOT_REQUESTED)
    assert still.status == pb.SUPPLIER_STATUS_ACTIVE


async def test_public_calls_need_a_service_credential_too(cofor: Cofor) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.AnalyzeAccess(api.AnalyzeAccessRequest(cofor="AAAAAA"), as_="")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
