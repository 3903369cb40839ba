"""The first ASL comes from the accepted terms; login, the forced change, the company gate, sessions."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from .conftest import STRONG, STRONG_2, Identity


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def test_accepted_terms_create_one_asl_with_identifier_and_password_in_separate_mails(
        identity: Identity) -> None:
    company = await identity.company(open_access=False)
    assert company.asl.startswith("V") and len(company.asl) == 7
    [(welcome, welcome_secrets)] = await identity.mails(company.asl_email,
                                                        mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME)
    assert welcome_secrets == {} and company.temporary_password not in str(welcome)
    [(temp, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_TEMPORARY_PASSWORD)
    assert company.asl not in str(temp) and company.temporary_password.encode() not in temp.SerializeToString()

    async def created() -> list[ev.AdministratorCreated]:
        msgs = await read_subject(identity.js, "IDENTITY", "identity.administrator.created")
        return [ev.AdministratorCreated.FromString(m.data) for m in msgs]

    [event] = await wait_for(created)
    assert event.identifier == company.asl and event.cofor_root == company.root


async def test_redelivered_terms_never_create_a_second_asl(identity: Identity) -> None:
    request_id = str(uuid.uuid4())
    accepted = cofor_events.TermsAccepted(
        cofor_root="R3D3L1", legal_name="Redelivered SA", access_request_id=request_id,
        administrator=cofor_pb.Contact(given_name="Bob", family_name="Twice", email="bob@twice.example",
                                       phone="+33 1 23 45 67 89", language="en"))
    for _ in range(3):
        await identity.publish_cofor("cofor.access.terms_accepted", accepted)  # new event ids each time
    await identity.mails("bob@twice.example", mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME)
    await asyncio.sleep(1.0)
    found = await identity.client.SearchAccounts(api.SearchAccountsRequest(cofor="R3D3L1"), as_="support")
    assert len(found.accounts) == 1 and found.accounts[0].language == "en"


async def test_first_login_only_allows_the_password_change(identity: Identity) -> None:
    company = await identity.company()
    first = await identity.login(company.asl.lower(), company.temporary_password)
    assert first.must_change_password and first.principal.must_change_password
    assert list(first.principal.roles) == [pb.ROLE_USER, pb.ROLE_ADMINISTRATOR]
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=first.session_token))
    assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "PASSWORD_CHANGE_REQUIRED"  # type: ignore[attr-defined]
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=STRONG), bearer=first.session_token)
    assert not changed.principal.must_change_password
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=first.session_token))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]  # the change revoked the old session
    # Every ASL sets up a second factor right after: until then the console stays shut, to applications too.
    assert changed.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=changed.session_token))
    assert f.reason == "SECOND_FACTOR_ENROLMENT_REQUIRED"  # type: ignore[attr-defined]
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(
        session_token=changed.session_token), as_="erp"))
    assert f.reason == "SECOND_FACTOR_ENROLMENT_REQUIRED"  # type: ignore[attr-defined]
    complete = await identity.enrol_app(company.asl, changed.session_token)
    listed = await identity.client.ListUsers(api.ListUsersRequest(), bearer=complete)
    assert [a.identifier for a in listed.accounts] == [company.asl]
    again = await identity.login(company.asl, STRONG)
    assert not again.must_change_password
    f = await failure(identity.login(company.asl, company.temporary_password))  # one-time: gone
    assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]


async def test_the_policy_names_every_rule_the_new_password_breaks(identity: Identity) -> None:
    company = await identity.company()
    first = await identity.login(company.asl, company.temporary_password)
    f = await failure(identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=f"{company.asl}password"),
        bearer=first.session_token))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT and f.reason == "PASSWORD_POLICY_VIOLATION"  # type: ignore[attr-defined]
    assert "PASSWORD_CONTAINS_IDENTIFIER" in f.violation_reasons  # type: ignore[attr-defined]
    f = await failure(identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password="short"), bearer=first.session_token))
    assert f.violation_reasons[0] == "PASSWORD_TOO_SHORT"  # type: ignore[attr-defined]
    f = await failure(identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password="wrong one", new_password=STRONG), bearer=first.session_token))
    assert f.reason == "CURRENT_PASSWORD_INCORRECT"  # type: ignore[attr-defined]
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=STRONG), bearer=first.session_token)
    f = await failure(identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=STRONG, new_password=STRONG), bearer=changed.session_token))
    assert f.violation_reasons == ["PASSWORD_RECENTLY_USED"]  # type: ignore[attr-defined]
    again = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=STRONG, new_password=STRONG_2), bearer=changed.session_token)
    [(notice, _), *_] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_PASSWORD_CHANGED_NOTICE)
    assert notice.password_changed_notice.identifier == company.asl and again.session_token


async def test_the_company_gate_opens_only_with_access_open_and_the_supplier_active(identity: Identity) -> None:
    company = await identity.company(open_access=False)
    f = await failure(identity.login(company.asl, "certainly not the password"))
    assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]  # wrong password: no reason given
    f = await failure(identity.login(company.asl, company.temporary_password))
    assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "COMPANY_ACCESS_CLOSED"  # type: ignore[attr-defined]
    await identity.open(company.root)
    session = await identity.ready_asl(company)
    await identity.publish_cofor("cofor.access.suspended", cofor_events.AccessSuspended(cofor_root=company.root))
    await identity.until_company(company.root, access_open=False)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=session), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]  # suspension revoked the sessions
    f = await failure(identity.login(company.asl, STRONG))
    assert f.reason == "COMPANY_ACCESS_CLOSED"  # type: ignore[attr-defined]


async def test_sessions_validate_expire_and_end_at_logout(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    valid = await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    assert valid.principal.identifier == company.asl and valid.principal.cofor_root == company.root
    assert valid.principal.display_name == "Alice Admin"
    identity.clock.offset = dt.timedelta(minutes=29)
    await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")  # activity
    identity.clock.offset = dt.timedelta(minutes=29 + 29)
    # Still idle-fresh:
    await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    identity.clock.offset = dt.timedelta(minutes=29 + 29 + 31)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]  # idle for 31 minutes
    identity.clock.offset = dt.timedelta()
    token = (await identity.login(company.asl, STRONG)).session_token
    for minutes in range(25, 12 * 60, 25):  # kept busy, but the absolute limit is 12 h
        identity.clock.offset = dt.timedelta(minutes=minutes)
        await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    identity.clock.offset = dt.timedelta(hours=12, minutes=1)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    identity.clock.offset = dt.timedelta()
    token = (await identity.login(company.asl, STRONG)).session_token
    await identity.client.Logout(api.LogoutRequest(), bearer=token)
    await identity.client.Logout(api.LogoutRequest(), bearer=token)  # twice is fine
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]


async def test_temporary_passwords_expire_after_72_hours(identity: Identity) -> None:
    company = await identity.company()
    identity.clock.offset = dt.timedelta(hours=72, minutes=1)
    f = await failure(identity.login(company.asl, company.temporary_password))
    assert f.reason == "TEMPORARY_PASSWORD_EXPIRED"  # type: ignore[attr-defined]
    identity.clock.offset = dt.timedelta()


async def test_bad_login_input_is_invalid_argument_not_internal(identity: Identity) -> None:
    f = await failure(identity.client.Login(api.LoginRequest(identifier="X12", password="")))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert {field for field, _ in f.field_violations} == {"identifier", "password"}  # type: ignore[attr-defined]


async def test_a_logout_on_one_replica_is_refused_at_once_by_another(identity: Identity) -> None:
    """Two replicas with session caches: the revocation broadcast evicts the other replica's cached copy."""
    from portal.identity.v1 import identity_service_pb2_grpc

    from kit.client import ServiceClient

    from identity.bootstrap import build_app

    from .conftest import TOKENS

    company = await identity.company()
    token = await identity.ready_asl(company)
    other = build_app(identity.settings)
    await other.start()
    await asyncio.wait_for(other.messaging_ready.wait(), 10)
    channel = grpc.aio.insecure_channel(other.target)
    try:
        client = ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(channel), TOKENS)
        await client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")  # now cached there
        await asyncio.sleep(0.2)
        await identity.client.Logout(api.LogoutRequest(), bearer=token)  # on the first replica
        await asyncio.sleep(0.3)
        f = await failure(client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
        assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    finally:
        await channel.close()
        await other.stop()
