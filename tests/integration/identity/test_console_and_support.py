"""The ASL console (scoped to its company), support staff, off-boarding, and the secrets scan."""
from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import text

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from .conftest import STRONG, STRONG_2, Identity


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def user(identity: Identity, token: str, name: str, **kwargs: object) -> pb.Account:
    return (await identity.client.CreateUser(api.CreateUserRequest(
        given_name=name, family_name="Martin", email=f"{name.lower()}@supplier.example", **kwargs),  # type: ignore[arg-type]
        bearer=token)).account


async def test_create_user_mails_one_activation_link_and_the_holder_chooses_the_password(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    created = await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Emma", family_name="Durand", email="Emma.Durand@supplier.example", phone="+33 6 12 34 56 78",
        job_title="Buyer", language="en", request_id="4f7c1a3e-1b2c-4d5e-8f90-123456789abc"), bearer=token)
    account = created.account
    assert account.state == pb.ACCOUNT_STATE_ACTIVE and account.HasField("activation_expire_time")
    assert account.email == "Emma.Durand@supplier.example" and list(account.roles) == [pb.ROLE_USER]
    again = await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Emma", family_name="Durand", email="Emma.Durand@supplier.example",
        request_id="4f7c1a3e-1b2c-4d5e-8f90-123456789abc"), bearer=token)
    assert again.account.identifier == account.identifier  # idempotent: no second account, no second mail
    [(welcome, secrets)] = await identity.mails("Emma.Durand@supplier.example",
                                                mail_events.EMAIL_TEMPLATE_ACCOUNT_ACTIVATION)
    assert welcome.account_activation.identifier == account.identifier and welcome.language == "en"
    link = secrets["activation_token"]
    identity.secrets_seen.append(link)
    assert link not in str(created) and link.encode() not in welcome.SerializeToString()  # sealed to the mailer
    f = await failure(identity.client.ActivateAccount(api.ActivateAccountRequest(activation_token=link,
                                                                                 new_password="short")))
    assert f.reason == "PASSWORD_POLICY_VIOLATION"  # type: ignore[attr-defined]
    done = await identity.client.ActivateAccount(api.ActivateAccountRequest(activation_token=link,
                                                                            new_password=STRONG_2))
    assert done.identifier == account.identifier
    for used_or_forged in (link, link[:-2] + "xx"):  # one answer for a used link and a forged one
        f = await failure(identity.client.ActivateAccount(api.ActivateAccountRequest(
            activation_token=used_or_forged, new_password=STRONG)))
        assert (f.code, f.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ACTIVATION_INVALID")  # type: ignore
    first = await identity.login(account.identifier, STRONG_2)
    assert not first.must_change_password and list(first.principal.roles) == [pb.ROLE_USER]
    got = await identity.client.GetUser(api.GetUserRequest(identifier=account.identifier), bearer=token)
    assert not got.account.HasField("activation_expire_time")
    f = await failure(identity.client.ResendActivation(api.ResendActivationRequest(identifier=account.identifier),
                                                       bearer=token))
    assert f.reason == "ALREADY_ACTIVATED"  # type: ignore[attr-defined]
    mailed = [m for m in await read_subject(identity.js, "NOTIFICATION", "notification.email.requested")
              if b"Emma.Durand@supplier.example" in m.data]
    assert len(mailed) == 1  # one mail: no temporary password, no second welcome
    f = await failure(identity.client.CreateUser(api.CreateUserRequest(given_name="", family_name="x", email="bad"),
                                                 bearer=token))
    assert {field for field, _ in f.field_violations} == {"given_name", "email"}  # type: ignore[attr-defined]


async def test_listing_paging_filtering_and_updating(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    for name in ("Chloe", "Bruno", "Dina", "Axel"):
        await user(identity, token, name)
    seen, page_token = [], ""
    while True:
        page = await identity.client.ListUsers(api.ListUsersRequest(page_size=2, page_token=page_token), bearer=token)
        seen += [a.given_name for a in page.accounts]
        page_token = page.next_page_token
        if not page_token:
            break
    assert seen == ["Alice", "Axel", "Bruno", "Chloe", "Dina"]  # family name Admin < Martin, then given names
    target = (await identity.client.ListUsers(api.ListUsersRequest(), bearer=token)).accounts[1]
    updated = await identity.client.UpdateUser(api.UpdateUserRequest(
        account=pb.Account(identifier=target.identifier, job_title="Quality manager", email="ignored@x.example"),
        update_mask=FieldMask(paths=["job_title"])), bearer=token)
    assert updated.account.job_title == "Quality manager" and updated.account.email == target.email
    f = await failure(identity.client.UpdateUser(api.UpdateUserRequest(
        account=pb.Account(identifier=target.identifier), update_mask=FieldMask(paths=["roles"])), bearer=token))
    assert f.field_violations[0][0] == "update_mask"  # type: ignore[attr-defined]
    await identity.client.DisableUser(api.DisableUserRequest(identifier=target.identifier), bearer=token)
    disabled = await identity.client.ListUsers(api.ListUsersRequest(state=pb.ACCOUNT_STATE_DISABLED), bearer=token)
    assert [a.identifier for a in disabled.accounts] == [target.identifier]
    enabled = await identity.client.EnableUser(api.EnableUserRequest(identifier=target.identifier), bearer=token)
    assert enabled.account.state == pb.ACCOUNT_STATE_ACTIVE


async def test_the_last_active_asl_can_never_be_revoked_or_disabled(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    for call in (identity.client.RevokeAdministrator(api.RevokeAdministratorRequest(identifier=company.asl),
                                                     bearer=token),
                 identity.client.DisableUser(api.DisableUserRequest(identifier=company.asl), bearer=token)):
        f = await failure(call)
        assert f.code == grpc.StatusCode.FAILED_PRECONDITION and f.reason == "LAST_ACTIVE_ADMINISTRATOR"  # type: ignore[attr-defined]
    second = await user(identity, token, "Bea")
    granted = await identity.client.GrantAdministrator(api.GrantAdministratorRequest(identifier=second.identifier),
                                                       bearer=token)
    assert pb.ROLE_ADMINISTRATOR in granted.account.roles
    revoked = await identity.client.RevokeAdministrator(api.RevokeAdministratorRequest(identifier=company.asl),
                                                        bearer=token)  # now allowed: Bea remains
    assert list(revoked.account.roles) == [pb.ROLE_USER]

    async def snapshots() -> list[ev.ActiveAdministratorsChanged]:
        msgs = await read_subject(identity.js, "IDENTITY", "identity.company.administrators_changed")
        found = [ev.ActiveAdministratorsChanged.FromString(m.data) for m in msgs]
        return [s for s in found if s.cofor_root == company.root and s.revision >= 3]

    [last] = await wait_for(snapshots)
    assert [a.identifier for a in last.administrators] == [second.identifier] and last.revision == 3
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=token))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]  # the revoked ASL's sessions ended


def console_calls(identifier: str) -> list[tuple[str, object]]:
    return [
        ("GetUser", api.GetUserRequest(identifier=identifier)),
        ("UpdateUser", api.UpdateUserRequest(account=pb.Account(identifier=identifier, job_title="x"),
                                             update_mask=FieldMask(paths=["job_title"]))),
        ("DisableUser", api.DisableUserRequest(identifier=identifier)),
        ("EnableUser", api.EnableUserRequest(identifier=identifier)),
        ("UnlockUser", api.UnlockUserRequest(identifier=identifier)),
        ("ResetUserPassword", api.ResetUserPasswordRequest(identifier=identifier)),
        ("GrantAdministrator", api.GrantAdministratorRequest(identifier=identifier)),
        ("RevokeAdministrator", api.RevokeAdministratorRequest(identifier=identifier)),
        ("ListAuditEvents", api.ListAuditEventsRequest(identifier=identifier)),
    ]


async def test_every_asl_call_on_another_companys_account_is_permission_denied(identity: Identity) -> None:
    mine, theirs = await identity.company(), await identity.company()
    my_token = await identity.ready_asl(mine)
    their_token = await identity.ready_asl(theirs)
    victim = await user(identity, their_token, "Victor")
    before = (await identity.client.GetUser(api.GetUserRequest(identifier=victim.identifier),
                                            bearer=their_token)).account
    for method, request in console_calls(victim.identifier):
        f = await failure(getattr(identity.client, method)(request, bearer=my_token))
        assert (f.code, f.reason) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_COMPANY_ACCOUNT"), method  # type: ignore[attr-defined]
    f = await failure(identity.client.ListAuditEvents(api.ListAuditEventsRequest(cofor_root=theirs.root),
                                                      bearer=my_token))
    assert f.reason == "OTHER_COMPANY_ACCOUNT"  # type: ignore[attr-defined]
    after = (await identity.client.GetUser(api.GetUserRequest(identifier=victim.identifier),
                                           bearer=their_token)).account
    assert after == before  # nothing changed
    mine_list = await identity.client.ListUsers(api.ListUsersRequest(), bearer=my_token)
    assert victim.identifier not in {a.identifier for a in mine_list.accounts}


async def test_a_request_id_another_company_used_replays_nothing_of_theirs(identity: Identity) -> None:
    mine, theirs = await identity.company(), await identity.company()
    my_token, their_token = await identity.ready_asl(mine), await identity.ready_asl(theirs)
    shared_id = "7d1e0c52-3f4a-4b6c-9d8e-0a1b2c3d4e5f"
    theirs_created = await user(identity, their_token, "Theo", request_id=shared_id)
    mine_created = await user(identity, my_token, "Mia", request_id=shared_id)
    assert mine_created.identifier != theirs_created.identifier and mine_created.cofor_root == mine.root
    assert mine_created.email == "mia@supplier.example"


async def test_plain_users_cannot_use_the_console(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    await user(identity, token, "Noel")
    session = await identity.activated("noel@supplier.example", STRONG_2)
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=session))
    assert f.reason == "CALLER_NOT_ALLOWED"  # type: ignore[attr-defined]


async def test_support_staff_search_read_trails_and_unlock_any_company(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    found = await identity.client.SearchAccounts(api.SearchAccountsRequest(email=company.asl_email.upper()),
                                                 as_="support")
    assert [a.identifier for a in found.accounts] == [company.asl]
    for _ in range(5):
        await failure(identity.login(company.asl, "typo typo typo typo"))
    unlocked = await identity.as_support("UnlockUser", api.UnlockUserRequest(identifier=company.asl,
                                                                            reason="ticket B2B-2026-000042"))
    assert unlocked.account.state == pb.ACCOUNT_STATE_ACTIVE
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=company.asl), as_="support")
    actions = [pb.AuditAction.Name(e.action).removeprefix("AUDIT_ACTION_") for e in trail.audit_events]
    assert actions[0] == "ACCOUNT_UNLOCKED" and "ACCOUNT_LOCKED" in actions and "LOGIN_SUCCEEDED" in actions
    assert trail.audit_events[0].actor == "support:support"
    assert trail.audit_events[0].detail == "agent Jeanne from support: ticket B2B-2026-000042"
    token = (await identity.login(company.asl, STRONG)).session_token  # the lock had revoked the old session
    own = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(cofor_root=company.root), bearer=token)
    assert own.audit_events
    for caller in ("gateway", "erp"):
        f = await failure(identity.client.SearchAccounts(api.SearchAccountsRequest(cofor=company.root), as_=caller))
        assert f.reason == "CALLER_NOT_ALLOWED"  # type: ignore[attr-defined]
    f = await failure(identity.client.SearchAccounts(api.SearchAccountsRequest(), as_="support"))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


async def test_deactivation_disables_every_account_and_reactivation_restores_them(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    kept_disabled = await user(identity, token, "Gone")
    await identity.client.DisableUser(api.DisableUserRequest(identifier=kept_disabled.identifier), bearer=token)
    await identity.publish_cofor("cofor.supplier.deactivated", cofor_events.SupplierDeactivated(
        cofor_root=company.root, reason="merged"))
    await identity.until_company(company.root, supplier_active=False)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    f = await failure(identity.login(company.asl, STRONG))
    assert f.reason == "COMPANY_ACCESS_CLOSED"  # type: ignore[attr-defined]  # closed with the company: not the ASL's
    await identity.publish_cofor("cofor.supplier.reactivated", cofor_events.SupplierReactivated(
        cofor_root=company.root))
    await identity.until_company(company.root, supplier_active=True)
    token = (await identity.login(company.asl, STRONG)).session_token
    got = await identity.client.GetUser(api.GetUserRequest(identifier=kept_disabled.identifier), bearer=token)
    assert got.account.state == pb.ACCOUNT_STATE_DISABLED  # disabled by its ASL: stays disabled


async def test_a_deactivation_redelivered_after_the_reactivation_disables_nothing(identity: Identity) -> None:
    """After a crash JetStream redelivers what the dead consumer held once its ack wait is over: after newer events."""
    company = await identity.company()
    await identity.ready_asl(company)
    now = dt.datetime.now(dt.UTC)
    await identity.publish_cofor("cofor.supplier.reactivated", cofor_events.SupplierReactivated(
        cofor_root=company.root), occurred_at=now)
    await identity.publish_cofor("cofor.supplier.deactivated", cofor_events.SupplierDeactivated(
        cofor_root=company.root, reason="late"), occurred_at=now - dt.timedelta(seconds=5))
    await identity.publish_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(
        cofor_root=company.root, legal_name="Renamed after both"), occurred_at=now)  # applied after the late one
    await identity.until_company(company.root, legal_name="Renamed after both")
    await identity.until_company(company.root, supplier_active=True)
    assert (await identity.login(company.asl, STRONG)).session_token  # the accounts were never disabled again


async def test_cofor_revisions_order_status_events_whatever_their_clocks_say(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    now = dt.datetime.now(dt.UTC)
    await identity.publish_cofor("cofor.supplier.reactivated", cofor_events.SupplierReactivated(
        cofor_root=company.root, revision=7), occurred_at=now)
    # Older by revision, though its producer's clock runs ahead: still the older change.
    await identity.publish_cofor("cofor.supplier.deactivated", cofor_events.SupplierDeactivated(
        cofor_root=company.root, reason="late", revision=6), occurred_at=now + dt.timedelta(seconds=30))
    await identity.publish_cofor("cofor.access.suspended", cofor_events.AccessSuspended(
        cofor_root=company.root, revision=5), occurred_at=now + dt.timedelta(seconds=30))  # older than the opening?
    await identity.publish_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(
        cofor_root=company.root, legal_name="After the late ones"), occurred_at=now)
    await identity.until_company(company.root, legal_name="After the late ones")
    # The access opening of identity.company() came without a revision: revision 5 is the first one for the access.
    await identity.until_company(company.root, supplier_active=True, access_open=False)
    await identity.publish_cofor("cofor.access.opened", cofor_events.AccessOpened(
        cofor_root=company.root, revision=8), occurred_at=now)
    await identity.until_company(company.root, access_open=True)
    assert (await identity.login(company.asl, STRONG)).session_token


async def test_no_password_token_or_reset_code_in_the_database_the_logs_or_the_events(
        identity: Identity, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    company = await identity.company()
    token = await identity.ready_asl(company)
    member = await user(identity, token, "Scan")
    await identity.activated("scan@supplier.example", STRONG_2)
    await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=company.asl, cofor=company.root, email=company.asl_email))
    [(_, secrets)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD)
    identity.secrets_seen.append(secrets["temporary_password"])
    await failure(identity.login(member.identifier, "a wrong password typed here"))
    identity.secrets_seen.append("a wrong password typed here")
    await asyncio.sleep(0.5)  # let the relay publish everything

    haystacks: list[bytes] = []
    async with identity.app.database.session(readonly=True) as s, s.begin():
        for table in ("accounts", "sessions", "audit_events", "outbox", "companies", "rate_counters", "inbox"):
            for row in (await s.execute(text(f"SELECT * FROM {table}"))).all():
                haystacks.append(repr(tuple(row)).encode())
    for stream in ("IDENTITY", "NOTIFICATION"):
        for msg in await read_subject(identity.js, stream, f"{stream.lower()}.>"):
            haystacks.append(msg.data + repr(msg.headers).encode())
    haystacks.append(caplog.text.encode())
    secrets_used = [s for s in identity.secrets_seen if s]
    assert len(secrets_used) >= 8
    leaks = [secret for secret in secrets_used for hay in haystacks if secret.encode() in hay]
    assert leaks == []
