"""Support staff undo a rogue ASL (ARCHITECTURE §7 last paragraph, review finding 1): UnlockUser, DisableUser and
RevokeAdministrator on any company, each with the agent (``x-portal-agent``) and a reason on the trail."""
from __future__ import annotations

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from portal.identity.v1 import identity_service_pb2 as api

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from .conftest import Identity


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def snapshot(identity: Identity, root: str, revision: int) -> ev.ActiveAdministratorsChanged:
    async def probe() -> list[ev.ActiveAdministratorsChanged]:
        found = [ev.ActiveAdministratorsChanged.FromString(m.data) for m in await read_subject(
            identity.js, "IDENTITY", "identity.company.administrators_changed")]
        return [s for s in found if s.cofor_root == root and s.revision == revision]
    [found] = await wait_for(probe)
    return found


@pytest.mark.parametrize("method,request_type", [("DisableUser", api.DisableUserRequest),
                                                 ("RevokeAdministrator", api.RevokeAdministratorRequest)])
async def test_support_staff_may_remove_even_a_sole_asl_and_the_snapshot_is_then_empty(
        identity: Identity, method: str, request_type: type) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    reply = await identity.as_support(method, request_type(identifier=company.asl, reason="rogue ASL, B2B-2026-9"))
    if method == "DisableUser":
        assert reply.account.state == pb.ACCOUNT_STATE_DISABLED
    else:
        assert list(reply.account.roles) == [pb.ROLE_USER]
    empty = await snapshot(identity, company.root, revision=2)  # 1: the ASL's creation
    assert empty.active_administrator_count == 0 and not empty.administrators  # cofor suspends the access
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(cofor_root=company.root), as_="support")
    assert (trail.audit_events[0].actor, trail.audit_events[0].detail) == (
        "support:support", "agent Jeanne from support: rogue ASL, B2B-2026-9")


async def test_support_changes_need_the_agent_and_a_reason_and_change_nothing_without(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    before = (await identity.client.GetUser(api.GetUserRequest(identifier=company.asl), as_="support")).account
    for method, request_type in (("DisableUser", api.DisableUserRequest), ("UnlockUser", api.UnlockUserRequest),
                                 ("RevokeAdministrator", api.RevokeAdministratorRequest)):
        f = await failure(identity.as_support(method, request_type(identifier=company.asl), agent=None))
        assert f.code == grpc.StatusCode.INVALID_ARGUMENT, method  # type: ignore[attr-defined]
        assert {name for name, _ in f.field_violations} == {"reason", "x-portal-agent"}  # type: ignore[attr-defined]
        f = await failure(identity.as_support(method, request_type(identifier=company.asl, reason="a\nb")))
        assert [name for name, _ in f.field_violations] == ["reason"]  # type: ignore[attr-defined]
        f = await failure(identity.as_support(method, request_type(identifier=company.asl, reason="ok"), agent=" "))
        assert [name for name, _ in f.field_violations] == ["x-portal-agent"]  # type: ignore[attr-defined]
    after = (await identity.client.GetUser(api.GetUserRequest(identifier=company.asl), as_="support")).account
    assert after == before
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=company.asl), as_="support")
    assert not [e for e in trail.audit_events if e.actor.startswith("support:")]


async def test_only_the_support_role_acts_without_a_session_and_asls_keep_their_rule(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    for caller in ("gateway", "erp"):
        f = await failure(identity.client.DisableUser(api.DisableUserRequest(identifier=company.asl, reason="x"),
                                                      as_=caller))
        assert f.reason == "CALLER_NOT_ALLOWED"  # type: ignore[attr-defined]
    f = await failure(identity.client.RevokeAdministrator(api.RevokeAdministratorRequest(
        identifier=company.asl, reason="leaving"), bearer=token))
    assert (f.code, f.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LAST_ACTIVE_ADMINISTRATOR")  # type: ignore[attr-defined]
    unknown = "V999999" if company.asl != "V999999" else "V999998"
    f = await failure(identity.as_support("DisableUser", api.DisableUserRequest(identifier=unknown, reason="x")))
    assert f.reason == "ACCOUNT_NOT_FOUND"  # type: ignore[attr-defined]
    # An ASL may give a reason; it is kept on the trail.
    user = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Lea", family_name="Depart", email="lea@supplier.example"), bearer=token)).account
    await identity.client.DisableUser(api.DisableUserRequest(identifier=user.identifier, reason="left the company"),
                                      bearer=token)
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=user.identifier),
                                                  bearer=token)
    assert (trail.audit_events[0].actor, trail.audit_events[0].detail) == (company.asl, "left the company")
