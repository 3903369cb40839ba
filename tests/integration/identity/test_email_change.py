"""No silent takeover inside a company (ARCHITECTURE §7, review finding 7): an ASL who changes someone's e-mail
tells the previous address, ends the account's sessions and voids its pending self-service reset."""
from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events

from kit.client import failure_of

from .conftest import STRONG_2, Identity

NEW_ADDRESS = "eve+bob@attacker.example"


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def logged_in_colleague(identity: Identity, token: str, email: str, *, administrator: bool) -> tuple[str, str]:
    """A colleague past the first password change: (identifier, session token)."""
    created = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Bob", family_name="Victim", email=email, language="en",
        role=pb.ROLE_ADMINISTRATOR if administrator else pb.ROLE_USER), bearer=token)).account
    return created.identifier, await identity.activated(email, STRONG_2)


def new_email(identifier: str, address: str = NEW_ADDRESS) -> api.UpdateUserRequest:
    return api.UpdateUserRequest(account=pb.Account(identifier=identifier, email=address),
                                 update_mask=FieldMask(paths=["email"]))


@pytest.mark.parametrize("administrator", [False, True], ids=["user", "co-ASL"])
async def test_an_email_change_tells_the_old_address_and_ends_the_sessions(identity: Identity,
                                                                          administrator: bool) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    bob, bob_token = await logged_in_colleague(identity, token, "bob@supplier.example", administrator=administrator)
    await identity.client.UpdateUser(api.UpdateUserRequest(  # any other field: nothing told, nothing ended
        account=pb.Account(identifier=bob, job_title="Buyer"), update_mask=FieldMask(paths=["job_title"])),
        bearer=token)
    await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=bob_token), as_="erp")
    updated = await identity.client.UpdateUser(new_email(bob), bearer=token)
    assert updated.account.email == NEW_ADDRESS
    [(notice, secrets)] = await identity.mails("bob@supplier.example", mail_events.EMAIL_TEMPLATE_EMAIL_CHANGED_NOTICE)
    assert [r.address for r in notice.to] == ["bob@supplier.example"] and notice.language == "en" and secrets == {}
    told = notice.email_changed_notice
    assert (told.identifier, told.masked_new_email, told.actor_name) == (bob, "e***@attacker.example", "Alice Admin")
    assert told.HasField("change_time") and told.change_time.seconds
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=bob_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=bob), bearer=token)
    assert pb.AuditAction.Name(trail.audit_events[0].action) == "AUDIT_ACTION_ACCOUNT_UPDATED"
    assert "b***@supplier.example -> e***@attacker.example" in trail.audit_events[0].detail


async def test_an_email_change_voids_the_pending_self_service_reset_of_a_co_asl(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    bob, _ = await logged_in_colleague(identity, token, "bob@supplier.example", administrator=True)
    await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=bob, cofor=company.root, email="bob@supplier.example"))
    [(_, secrets)] = await identity.mails("bob@supplier.example",
                                          mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD)
    identity.secrets_seen.append(secrets["temporary_password"])
    await identity.client.UpdateUser(new_email(bob), bearer=token)
    f = await failure(identity.login(bob, secrets["temporary_password"]))
    assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]  # the reset sent to the old address is void
    assert (await identity.login(bob, STRONG_2)).session_token  # the password itself is unchanged


async def test_an_asl_changing_its_own_email_is_told_too(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    await identity.client.UpdateUser(new_email(company.asl, "alice@new.example"), bearer=token)
    [(notice, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_EMAIL_CHANGED_NOTICE)
    assert notice.email_changed_notice.masked_new_email == "a***@new.example"
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=token))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
