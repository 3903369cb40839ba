"""Knowing a COFOR or a D-U-N-S proves nothing (ARCHITECTURE §3): who an access request goes to, purchasing's
review, requests waiting side by side (a stranger's never voids the company's), lapsing, the reset, the budget of
mails to the signatory (real service, both databases). Files that squat a D-U-N-S: test_duns_claims.py."""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.cofor.v1 import events_pb2 as ev
from portal.cofor.v1 import supplier_pb2 as pb
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import text

from kit.client import RpcFailure, failure_of
from testing.streams import read_subject, wait_for

from cofor.service_layer.registry import Registry

from .conftest import TOKENS, Cofor
from .flows import contact, opened, referenced

AGENT = "Hélène Achats"


def registry(cofor: Cofor) -> Registry:
    """The service's use cases on its database, for housekeeping (which the service runs every few minutes)."""
    return Registry(cofor.app.database, seal_key=cofor.seal.public_key, terms_version="2026-12", clock=cofor.clock)


async def failure(call: Awaitable[object]) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return failure_of(err.value)


async def ask(cofor: Cofor, root: str, signatory: pb.Contact, administrator: pb.Contact) -> int:
    reply = await cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=root, signatory=signatory, administrator=administrator), client="203.0.113.9")
    return reply.portal_access_state


async def terms_mails(cofor: Cofor, address: str) -> list:  # type: ignore[type-arg]
    found = []
    for msg in await read_subject(cofor.js, "NOTIFICATION", "notification.email.requested"):
        event = mail_events.EmailRequested.FromString(msg.data)
        if event.template == mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE and any(r.address == address
                                                                                    for r in event.to):
            found.append(event)
    return found


async def supplier(cofor: Cofor, root: str) -> pb.Supplier:
    return (await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=root), as_="purchasing")).supplier


async def test_a_stranger_who_knows_a_cofor_gets_no_link_and_never_blocks_the_company(cofor: Cofor) -> None:
    record = contact("legal")
    s = await referenced(cofor, record)
    assert (await supplier(cofor, s.cofor_root)).signatory_of_record.email == record.email
    eve = contact("eve")
    # The review's repro: signatory = administrator = an outside address.
    assert await ask(cofor, s.cofor_root, eve, eve) == pb.PORTAL_ACCESS_STATE_UNDER_REVIEW
    [(notice, _)] = await cofor.mails_to(record.email, mail_events.EMAIL_TEMPLATE_ACCESS_REQUEST_UNDER_REVIEW)
    review = notice.access_request_under_review
    assert review.administrator_email == eve.email and review.requested_from == "203.0.113.9"
    analysis = await cofor.client.AnalyzeAccess(api.AnalyzeAccessRequest(cofor=s.cofor_root))
    assert analysis.outcome == api.ANALYSIS_OUTCOME_ACCESS_REQUEST_UNDER_REVIEW
    assert analysis.next_step == api.NEXT_STEP_WAIT
    f = await failure(cofor.client.ResendTermsAcceptance(api.ResendTermsAcceptanceRequest(cofor=s.cofor_root)))
    assert f.reason == "TERMS_NOT_PENDING"  # nothing to resend to anyone
    stranger_request = (await supplier(cofor, s.cofor_root)).access_request.access_request_id

    # The real company's request joins the stranger's and goes straight to the signatory of record.
    admin = contact("asl")
    typed = pb.Contact()
    typed.CopyFrom(record)
    typed.email = f"  {record.email.upper()}  "
    filed = await cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=typed, administrator=admin), client="203.0.113.9")
    assert filed.portal_access_state == pb.PORTAL_ACCESS_STATE_TERMS_PENDING
    assert filed.access_request.signatory.email == typed.email  # what was typed back, never the record's details
    [(mail, secrets)] = await cofor.mails_to(record.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    terms = mail.terms_acceptance
    assert terms.administrator_email == admin.email and terms.requested_from == "203.0.113.9"
    view = await cofor.client.DescribeTermsAcceptance(api.DescribeTermsAcceptanceRequest(
        acceptance_token=secrets["acceptance_token"]))
    assert view.administrator.email == admin.email and view.requested_from == "203.0.113.9"
    # A stranger naming the real signatory and themself as ASL: the link still goes only to the record, whose
    # mail names the nominee; the company's own link stays valid beside it, and the signatory accepts that one.
    assert await ask(cofor, s.cofor_root, record, eve) == pb.PORTAL_ACCESS_STATE_TERMS_PENDING
    mails = await cofor.mails_to(record.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE, count=2)
    assert mails[-1][0].terms_acceptance.administrator_email == eve.email
    assert not [m for m in await terms_mails(cofor, eve.email)]  # no link ever went to the stranger
    waiting = (await supplier(cofor, s.cofor_root)).pending_access_requests
    assert len(waiting) == 3 and stranger_request in {r.access_request_id for r in waiting}
    await cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=secrets["acceptance_token"],
                                                          terms_version="2026-12"))
    accepted = await supplier(cofor, s.cofor_root)
    assert accepted.portal_access_state == pb.PORTAL_ACCESS_STATE_ADMINISTRATOR_PENDING
    assert accepted.access_request.administrator.email == admin.email and not accepted.pending_access_requests
    f = await failure(cofor.client.AcceptTerms(api.AcceptTermsRequest(
        acceptance_token=mails[-1][1]["acceptance_token"], terms_version="2026-12")))
    assert f.reason == "ACCEPTANCE_TOKEN_VOIDED"  # the others closed with their links
    f = await failure(cofor.client.ReviewAccessRequest(api.ReviewAccessRequestRequest(
        cofor=s.cofor_root, access_request_id=stranger_request, decision=api.ACCESS_REVIEW_DECISION_APPROVE,
        signatory=eve), as_="purchasing", agent=AGENT))
    assert f.reason == "REQUEST_NOT_UNDER_REVIEW"  # closed: nothing to approve


async def test_purchasing_reviews_a_supplier_without_a_signatory_of_record(cofor: Cofor) -> None:
    s = await referenced(cofor)
    async with cofor.app.database.write_transaction() as session:  # as migration 0004 leaves older suppliers
        await session.execute(text("UPDATE suppliers SET signatory = '{}' WHERE cofor_root = :root"),
                              {"root": s.cofor_root})
    assert not (await supplier(cofor, s.cofor_root)).HasField("signatory_of_record")
    named, admin = contact("named"), contact("asl")
    assert await ask(cofor, s.cofor_root, named, admin) == pb.PORTAL_ACCESS_STATE_UNDER_REVIEW
    waiting = await supplier(cofor, s.cofor_root)
    request_id = waiting.access_request.access_request_id
    assert waiting.access_request.status == pb.ACCESS_REQUEST_STATUS_UNDER_REVIEW
    assert waiting.access_request.requested_from == "203.0.113.9"

    review = api.ReviewAccessRequestRequest(cofor=s.cofor_root, access_request_id=request_id,
                                            decision=api.ACCESS_REVIEW_DECISION_APPROVE, signatory=named)
    f = await failure(cofor.client.ReviewAccessRequest(review, as_="purchasing"))  # no agent named
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT
    f = await failure(cofor.client.ReviewAccessRequest(review, as_="gateway", agent=AGENT))
    assert f.code == grpc.StatusCode.PERMISSION_DENIED  # purchasing only
    f = await failure(cofor.client.ReviewAccessRequest(api.ReviewAccessRequestRequest(
        cofor=s.cofor_root, access_request_id=request_id, decision=api.ACCESS_REVIEW_DECISION_DECLINE),
        as_="purchasing", agent=AGENT))
    assert {v for v, _ in f.field_violations} == {"reason"}

    checked = contact("checked")  # purchasing checked the register: the real signatory is someone else
    review.signatory.CopyFrom(checked)
    agreed = contact("agreed")  # and agreed the first ASL with the company
    review.administrator.CopyFrom(agreed)
    approved = (await cofor.client.ReviewAccessRequest(review, as_="purchasing", agent=AGENT)).supplier
    assert approved.portal_access_state == pb.PORTAL_ACCESS_STATE_TERMS_PENDING
    assert approved.signatory_of_record.email == checked.email
    assert approved.access_request.administrator.email == agreed.email
    assert approved.access_request.reviewed_by == "Hélène Achats" and approved.access_request.HasField("review_time")
    await cofor.mails_to(checked.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    assert not await terms_mails(cofor, named.email)
    f = await failure(cofor.client.ReviewAccessRequest(review, as_="purchasing", agent=AGENT))
    assert f.reason == "REQUEST_NOT_UNDER_REVIEW"  # decided once


async def test_a_declined_request_takes_the_access_back_and_a_waiting_one_lapses(cofor: Cofor) -> None:
    s = await referenced(cofor, contact("legal"))
    await ask(cofor, s.cofor_root, contact("x"), contact("y"))
    request_id = (await supplier(cofor, s.cofor_root)).access_request.access_request_id
    declined = (await cofor.client.ReviewAccessRequest(api.ReviewAccessRequestRequest(
        cofor=s.cofor_root, access_request_id=request_id, decision=api.ACCESS_REVIEW_DECISION_DECLINE,
        reason="nobody here knows these people"), as_="purchasing", agent=AGENT)).supplier
    assert declined.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED
    assert declined.access_request.status == pb.ACCESS_REQUEST_STATUS_DECLINED
    assert declined.access_request.decision_reason == "nobody here knows these people"

    await ask(cofor, s.cofor_root, contact("x2"), contact("y2"))
    cofor.clock.offset = dt.timedelta(days=30, seconds=1)  # nobody reviewed it: it lapses
    try:
        analysis = await cofor.client.AnalyzeAccess(api.AnalyzeAccessRequest(cofor=s.cofor_root))
        assert analysis.outcome == api.ANALYSIS_OUTCOME_ACCESS_NOT_REQUESTED
        assert await registry(cofor).lapse_due_requests() >= 1
        lapsed = await supplier(cofor, s.cofor_root)
        assert lapsed.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED
        assert lapsed.access_request.status == pb.ACCESS_REQUEST_STATUS_EXPIRED
    finally:
        cofor.clock.offset = dt.timedelta()


async def test_purchasing_resets_a_rogue_access_and_the_company_starts_again(cofor: Cofor) -> None:
    s = await opened(cofor)
    f = await failure(cofor.client.ResetPortalAccess(api.ResetPortalAccessRequest(cofor=s.cofor_root, reason=""),
                                                     as_="purchasing", agent=AGENT))
    assert {v for v, _ in f.field_violations} == {"reason"}
    reset = (await cofor.client.ResetPortalAccess(api.ResetPortalAccessRequest(
        cofor=s.cofor_root, reason="the first ASL is not one of ours"), as_="purchasing", agent=AGENT)).supplier
    assert reset.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED

    async def reset_events() -> list[ev.AccessReset]:
        msgs = await read_subject(cofor.js, "COFOR", "cofor.access.reset")
        return [e for e in (ev.AccessReset.FromString(m.data) for m in msgs) if e.cofor_root == s.cofor_root]
    [event] = await wait_for(reset_events)
    assert event.actor == "Hélène Achats" and event.reason == "the first ASL is not one of ours"
    assert event.revision > 0
    # The company files a new request, for a new ASL.
    assert await ask(cofor, s.cofor_root, contact("x"), contact("new")) == pb.PORTAL_ACCESS_STATE_UNDER_REVIEW


async def test_a_new_signatory_of_record_voids_the_links_sent_to_the_old_one(cofor: Cofor) -> None:
    record = contact("legal")
    s = await referenced(cofor, record)
    await ask(cofor, s.cofor_root, record, contact("asl"))
    [(_, secrets)] = await cofor.mails_to(record.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    successor = contact("successor")
    updated = (await cofor.client.UpdateSignatoryOfRecord(api.UpdateSignatoryOfRecordRequest(
        cofor=s.cofor_root, signatory=successor), as_="purchasing", agent=AGENT)).supplier
    assert updated.signatory_of_record.email == successor.email
    assert updated.portal_access_state == pb.PORTAL_ACCESS_STATE_UNDER_REVIEW
    view = await cofor.client.DescribeTermsAcceptance(api.DescribeTermsAcceptanceRequest(
        acceptance_token=secrets["acceptance_token"]))
    assert view.link_state == api.TERMS_LINK_STATE_VOIDED


async def test_strangers_spend_only_the_signatorys_mail_budget_never_the_companys_right_to_ask(cofor: Cofor) -> None:
    record = contact("legal")
    s = await referenced(cofor, record)
    for n in range(5):  # each a notice to the signatory of record: the day's budget of mails to that person
        await ask(cofor, s.cofor_root, contact(f"s{n}"), contact(f"a{n}"))
    notices = await cofor.mails_to(record.email, mail_events.EMAIL_TEMPLATE_ACCESS_REQUEST_UNDER_REVIEW, count=5)
    assert len(notices) == 5
    # The company itself still files its request, naming its signatory: past the budget it waits for purchasing
    # (who approves it) instead of mailing, and nobody is refused.
    assert await ask(cofor, s.cofor_root, record, contact("asl")) == pb.PORTAL_ACCESS_STATE_UNDER_REVIEW
    waiting = (await supplier(cofor, s.cofor_root)).pending_access_requests
    assert len(waiting) == 6 and {r.status for r in waiting} == {pb.ACCESS_REQUEST_STATUS_UNDER_REVIEW}
    assert not await terms_mails(cofor, record.email)


async def test_names_that_reach_other_mailboxes_carry_no_links(cofor: Cofor) -> None:
    s = await referenced(cofor, contact("legal"))
    lure = pb.Contact()
    lure.CopyFrom(contact("lure"))
    lure.given_name, lure.job_title = "Service Achats https://b2b-portail-cgu.example", "validez sur www.evil.example"
    f = await failure(cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=contact("s"), administrator=lure)))
    assert {v for v, _ in f.field_violations} == {"administrator.given_name", "administrator.job_title"}


async def test_an_agent_name_must_be_percent_encoded_utf8(cofor: Cofor) -> None:
    s = await referenced(cofor, contact("legal"))
    async with grpc.aio.insecure_channel(cofor.app.target) as channel:
        f = await failure(cofor_service_pb2_grpc.CoforServiceStub(channel).ResetPortalAccess(
            api.ResetPortalAccessRequest(cofor=s.cofor_root, reason="probe"),
            metadata=[("x-portal-service-token", TOKENS["purchasing"]), ("x-portal-agent", "%FF%FE")]))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT and f.field_violations[0][0] == "x-portal-agent"
