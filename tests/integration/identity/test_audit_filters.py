"""The security trail's filters (ListAuditEvents: actions, the half-open period [since, until), paging), in SQL on
SQLite and PostgreSQL; bad filters are field violations; and no filter widens an ASL's view past its company."""
from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api

from kit.client import RpcFailure, failure_of
from kit.clock import to_timestamp

from .conftest import Identity

WRONG = "not the password at all, sorry"


async def failure(call: object) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


def at(event: pb.AuditEvent) -> dt.datetime:
    return event.occur_time.ToDatetime(tzinfo=dt.UTC)


def name(event: pb.AuditEvent) -> str:
    return pb.AuditAction.Name(event.action).removeprefix("AUDIT_ACTION_")


async def whole_trail(identity: Identity, token: str, page_size: int = 0, **filters: object) -> list[pb.AuditEvent]:
    """Every page of the company's trail with these filters, following the tokens."""
    events: list[pb.AuditEvent] = []
    page_token = ""
    while True:
        reply = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(
            page_size=page_size, page_token=page_token, **filters), bearer=token)  # type: ignore[arg-type]
        events += reply.audit_events
        if not reply.next_page_token:
            return events
        page_token = reply.next_page_token


async def a_company_with_a_trail(identity: Identity) -> tuple[str, str, str]:
    """A company whose ASL created a user who then typed a wrong password three times: (root, ASL token, user)."""
    company = await identity.company()
    token = await identity.ready_asl(company)
    created = await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Lucie", family_name="Faure", email=f"lucie.{company.root.lower()}@supplier.example"),
        bearer=token)
    for _ in range(3):
        await failure(identity.client.Login(api.LoginRequest(identifier=created.account.identifier, password=WRONG)))
    return company.root, token, created.account.identifier


async def test_actions_and_period_narrow_the_trail_in_sql(identity: Identity) -> None:
    root, token, lucie = await a_company_with_a_trail(identity)
    everything = await whole_trail(identity, token, cofor_root=root)
    assert {"ACCOUNT_CREATED", "LOGIN_FAILED", "PASSWORD_CHANGED", "SECOND_FACTOR_ENROLLED"} <= {
        name(e) for e in everything}

    failed = await whole_trail(identity, token, cofor_root=root, actions=[pb.AUDIT_ACTION_LOGIN_FAILED])
    assert [name(e) for e in failed] == ["LOGIN_FAILED"] * 3 and {e.subject_identifier for e in failed} == {lucie}
    two = await whole_trail(identity, token, cofor_root=root, actions=[
        pb.AUDIT_ACTION_ACCOUNT_CREATED, pb.AUDIT_ACTION_LOGIN_FAILED, pb.AUDIT_ACTION_LOGIN_FAILED])
    assert sorted(name(e) for e in two) == ["ACCOUNT_CREATED"] * 2 + ["LOGIN_FAILED"] * 3  # the ASL's and Lucie's
    one_person = await whole_trail(identity, token, identifier=lucie.lower(), actions=[
        pb.AUDIT_ACTION_ACCOUNT_CREATED])
    assert [(name(e), e.subject_identifier) for e in one_person] == [("ACCOUNT_CREATED", lucie)]

    # The period is half-open: since is in, until is out, to the microsecond on both databases.
    moments = sorted({at(e) for e in failed})
    assert len(moments) == 3, moments
    first, second, third = moments
    window = await whole_trail(identity, token, cofor_root=root, since=to_timestamp(first),
                               until=to_timestamp(third), actions=[pb.AUDIT_ACTION_LOGIN_FAILED])
    assert [at(e) for e in window] == [second, first]  # newest first
    later = await whole_trail(identity, token, cofor_root=root, since=to_timestamp(second))
    assert later and all(at(e) >= second for e in later)
    assert len([e for e in later if name(e) == "LOGIN_FAILED"]) == 2
    earlier = await whole_trail(identity, token, cofor_root=root, until=to_timestamp(first))
    assert "LOGIN_FAILED" not in {name(e) for e in earlier} and "ACCOUNT_CREATED" in {name(e) for e in earlier}
    assert len(earlier) + len(later) + 1 == len(everything)  # nothing lost or counted twice at the edges
    future = to_timestamp(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert await whole_trail(identity, token, cofor_root=root, since=future) == []


async def test_filtered_pages_follow_each_other_and_a_token_keeps_its_filters(identity: Identity) -> None:
    root, token, _ = await a_company_with_a_trail(identity)
    wanted = [pb.AUDIT_ACTION_LOGIN_FAILED, pb.AUDIT_ACTION_ACCOUNT_CREATED]
    paged = await whole_trail(identity, token, page_size=2, cofor_root=root, actions=wanted)
    at_once = await whole_trail(identity, token, page_size=200, cofor_root=root, actions=wanted)
    assert [e.id for e in paged] == [e.id for e in at_once] and len(paged) == 5
    first = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(
        cofor_root=root, page_size=2, actions=wanted), bearer=token)
    assert first.next_page_token
    for other in (api.ListAuditEventsRequest(cofor_root=root, page_size=2, page_token=first.next_page_token),
                  api.ListAuditEventsRequest(cofor_root=root, page_size=2, page_token=first.next_page_token,
                                             actions=[pb.AUDIT_ACTION_LOGIN_FAILED]),
                  api.ListAuditEventsRequest(cofor_root=root, page_size=2, page_token=first.next_page_token,
                                             actions=wanted, since=Timestamp(seconds=1))):
        f = await failure(identity.client.ListAuditEvents(other, bearer=token))
        assert (f.code, f.field_violations[0][0]) == (grpc.StatusCode.INVALID_ARGUMENT, "page_token")


async def test_bad_filters_are_field_violations(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    for actions, path in (([999], "actions[0]"), ([pb.AUDIT_ACTION_LOGIN_FAILED, 0], "actions[1]")):
        f = await failure(identity.client.ListAuditEvents(api.ListAuditEventsRequest(
            cofor_root=company.root, actions=actions), bearer=token))  # type: ignore[arg-type]
        assert (f.code, f.field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, [(path, "unknown value")])
    now = dt.datetime.now(dt.UTC)
    for since, until in ((now, now - dt.timedelta(seconds=1)), (now, now)):
        f = await failure(identity.client.ListAuditEvents(api.ListAuditEventsRequest(
            cofor_root=company.root, since=to_timestamp(since), until=to_timestamp(until)), bearer=token))
        assert (f.code, [p for p, _ in f.field_violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["until"])
    f = await failure(identity.client.ListAuditEvents(api.ListAuditEventsRequest(
        cofor_root=company.root, since=Timestamp(seconds=10**12)), bearer=token))  # past year 9999
    assert (f.code, [p for p, _ in f.field_violations]) == (grpc.StatusCode.INVALID_ARGUMENT, ["since"])


async def test_no_filter_widens_an_asl_past_its_company(identity: Identity) -> None:
    theirs_root, _, their_user = await a_company_with_a_trail(identity)
    mine = await identity.company()
    token = await identity.ready_asl(mine)
    everything = list(pb.AuditAction.values())[1:]
    for request in (api.ListAuditEventsRequest(cofor_root=theirs_root, actions=everything),
                    api.ListAuditEventsRequest(identifier=their_user, actions=[pb.AUDIT_ACTION_LOGIN_FAILED]),
                    api.ListAuditEventsRequest(cofor_root=theirs_root, since=Timestamp(seconds=1))):
        f = await failure(identity.client.ListAuditEvents(request, bearer=token))
        assert (f.code, f.reason) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_COMPANY_ACCOUNT")
    own = await whole_trail(identity, token, cofor_root=mine.root, actions=everything, since=Timestamp(seconds=1))
    assert own and {e.cofor_root for e in own} == {mine.root}
    assert their_user not in {e.subject_identifier for e in own}
    assert [name(e) for e in await whole_trail(identity, token, cofor_root=mine.root, actions=[
        pb.AUDIT_ACTION_LOGIN_FAILED])] == []  # their failed logins are not ours
    # Support staff, who may read any company, get the same filters.
    support = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(
        cofor_root=theirs_root, actions=[pb.AUDIT_ACTION_LOGIN_FAILED]), as_="support")
    assert [e.subject_identifier for e in support.audit_events] == [their_user] * 3
