"""Access requests, GTU acceptance links, and the reactions to identity's events."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import events_pb2 as ev
from portal.cofor.v1 import supplier_pb2 as pb
from portal.identity.v1 import events_pb2 as identity_events
from portal.support.v1 import events_pb2 as mail_events

from kit.client import RpcFailure, failure_of
from testing.streams import read_subject, wait_for

from .conftest import Cofor
from .flows import access_state_becomes, contact, opened, publish_identity, referenced, requested, terms_accepted


async def failure(call: Awaitable[object]) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return failure_of(err.value)


async def test_request_access_validates_both_contacts_field_by_field(cofor: Cofor) -> None:
    s = await referenced(cofor)
    bad = pb.Contact(given_name="", family_name="M" * 101, email="nope", phone="call me", job_title="x",
                     language="de")
    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=bad, administrator=contact("admin"))))
    assert {field for field, _ in f.field_violations} == {
        "signatory.given_name", "signatory.family_name", "signatory.email", "signatory.phone", "signatory.language"}
    state = await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=s.cofor_root), as_="erp")
    assert state.supplier.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED


async def test_request_access_is_refused_for_a_site_a_deactivated_supplier_or_a_pending_request(cofor: Cofor) -> None:
    s = await referenced(cofor)
    await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, name="Plant 2"), as_="purchasing")
    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=f"{s.cofor_root}02", signatory=contact("s"), administrator=contact("a"))))
    assert f.reason == "SITE_NOT_ELIGIBLE" and f.metadata == {"headOfficeCofor": f"{s.cofor_root}  01"}

    accepted, _ = await terms_accepted(cofor)  # once the terms are accepted, nobody requests again
    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=accepted.cofor_root, signatory=contact("s"), administrator=contact("a"))))
    assert f.code == grpc.StatusCode.FAILED_PRECONDITION and f.reason == "ACCESS_ALREADY_REQUESTED"

    await cofor.client.DeactivateSupplier(api.DeactivateSupplierRequest(cofor_root=s.cofor_root), as_="purchasing")
    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=contact("s"), administrator=contact("a"))))
    assert f.reason == "SUPPLIER_DEACTIVATED"

    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor="Q0Q0Q0", signatory=contact("s"), administrator=contact("a"))))
    assert f.code == grpc.StatusCode.NOT_FOUND


async def test_request_publishes_the_event_and_mails_a_link_whose_token_is_stored_only_hashed(cofor: Cofor) -> None:
    s, signatory, administrator, token = await requested(cofor)
    [(mail, _)] = await cofor.mails_to(signatory.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    assert mail.terms_acceptance.cofor == f"{s.cofor_root}  01" and mail.language == "fr"
    assert mail.terms_acceptance.administrator_name == f"{administrator.given_name} {administrator.family_name}"
    msgs = await wait_for(lambda: _events(cofor, "cofor.access.requested", ev.AccessRequested, s.cofor_root))
    assert msgs[0].administrator.email == administrator.email
    for m in await read_subject(cofor.js, "COFOR", "cofor.>"):
        assert token.encode() not in m.data
    view = await cofor.client.DescribeTermsAcceptance(api.DescribeTermsAcceptanceRequest(acceptance_token=token))
    assert view.link_valid and view.cofor == f"{s.cofor_root}  01" and view.terms_version == "2026-12"
    assert view.signatory_name == f"{signatory.given_name} {signatory.family_name}"


async def _events(cofor: Cofor, subject: str, kind: Any, root: str) -> list[Any]:  # kind: an event message class
    msgs = await read_subject(cofor.js, "COFOR", subject)
    return [e for e in (kind.FromString(m.data) for m in msgs) if e.cofor_root == root]


async def test_resend_voids_the_old_link_and_is_rate_limited_per_company(cofor: Cofor) -> None:
    s, signatory, _, first = await requested(cofor)
    await cofor.client.ResendTermsAcceptance(api.ResendTermsAcceptanceRequest(cofor=s.cofor_root))
    mails = await cofor.mails_to(signatory.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE, count=2)
    second = mails[-1][1]["acceptance_token"]
    assert second != first
    view = await cofor.client.DescribeTermsAcceptance(api.DescribeTermsAcceptanceRequest(acceptance_token=first))
    assert not view.link_valid and view.link_state == api.TERMS_LINK_STATE_VOIDED
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=first,
                                                                      terms_version="2026-12")))
    assert f.reason == "ACCEPTANCE_TOKEN_VOIDED"
    for _ in range(2):
        await cofor.client.ResendTermsAcceptance(api.ResendTermsAcceptanceRequest(cofor=s.cofor_root))
    f = await failure(cofor.client.ResendTermsAcceptance(api.ResendTermsAcceptanceRequest(cofor=s.cofor_root)))
    assert f.code == grpc.StatusCode.RESOURCE_EXHAUSTED and f.reason == "RATE_LIMITED"


async def test_accept_terms_spends_the_link_and_checks_version_and_expiry(cofor: Cofor) -> None:
    s, _, _, token = await requested(cofor)
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=token, terms_version="2019")))
    assert f.reason == "TERMS_VERSION_MISMATCH"
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token="guess",
                                                                      terms_version="2026-12")))
    assert f.code == grpc.StatusCode.NOT_FOUND
    reply = await cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=token, terms_version="2026-12"))
    assert reply.portal_access_state == pb.PORTAL_ACCESS_STATE_ADMINISTRATOR_PENDING
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=token,
                                                                      terms_version="2026-12")))
    assert f.reason == "ACCEPTANCE_TOKEN_USED"
    [accepted] = await wait_for(lambda: _events(cofor, "cofor.access.terms_accepted", ev.TermsAccepted,
                                                s.cofor_root))
    assert accepted.administrator.email and accepted.terms_version == "2026-12"

    later, _, _, stale = await requested(cofor)
    cofor.clock.offset = dt.timedelta(days=7, seconds=1)
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=stale,
                                                                      terms_version="2026-12")))
    assert f.reason == "ACCEPTANCE_TOKEN_EXPIRED"
    cofor.clock.offset = dt.timedelta()


async def test_administrator_created_opens_access_once_even_when_redelivered(cofor: Cofor) -> None:
    s, _ = await terms_accepted(cofor)
    created = identity_events.AdministratorCreated(identifier="V654321", cofor_root=s.cofor_root,
                                                   display_name="Claire Martin")
    await publish_identity(cofor, "identity.administrator.created", created)
    await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_OPEN)
    await publish_identity(cofor, "identity.administrator.created", created)  # a second delivery, new id
    await asyncio.sleep(0.5)
    opened_events = await _events(cofor, "cofor.access.opened", ev.AccessOpened, s.cofor_root)
    assert len(opened_events) == 1 and opened_events[0].administrator_identifier == "V654321"


async def test_no_active_administrator_left_suspends_and_late_snapshots_are_ignored(cofor: Cofor) -> None:
    s = await opened(cofor)
    await publish_identity(cofor, "identity.company.administrators_changed",
                           identity_events.ActiveAdministratorsChanged(
        cofor_root=s.cofor_root, active_administrator_count=0, revision=5))
    suspended = await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_SUSPENDED)
    assert suspended.access_suspension_cause == pb.ACCESS_SUSPENSION_CAUSE_NO_ACTIVE_ADMINISTRATOR
    [event] = await wait_for(lambda: _events(cofor, "cofor.access.suspended", ev.AccessSuspended, s.cofor_root))
    assert event.cause == pb.ACCESS_SUSPENSION_CAUSE_NO_ACTIVE_ADMINISTRATOR
    # An older snapshot (revision 4) arriving late does not bring the ASL back.
    await publish_identity(cofor, "identity.company.administrators_changed",
                           identity_events.ActiveAdministratorsChanged(
        cofor_root=s.cofor_root, active_administrator_count=1, revision=4,
        administrators=[identity_events.AdministratorSummary(identifier="V1", display_name="Old")]))
    await asyncio.sleep(0.5)
    f = await failure(cofor.client.ReopenPortalAccess(api.ReopenPortalAccessRequest(cofor_root=s.cofor_root),
                                                      as_="purchasing"))
    assert f.reason == "NO_ACTIVE_ADMINISTRATOR"
    # The company may now file a new access request for a new ASL; naming someone other than the signatory of
    # record, it waits for purchasing's review.
    await cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=contact("s2"), administrator=contact("a2")))
    await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_UNDER_REVIEW)
