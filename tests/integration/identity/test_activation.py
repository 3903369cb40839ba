"""A new account's activation link (issue 16) on SQLite and PostgreSQL: it lasts 72 hours, works once even when two
clicks race, is replaced by the ASL's new link, and only for the ASL's own company; someone guessing at a pending
account's password blocks it, the link (proof of the mailbox) opens it again; a disabled account's link is dead."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events

from kit.client import failure_of

from .conftest import STRONG, STRONG_2, Identity


async def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    failure = failure_of(err.value)
    return failure.code, failure.reason


def activate(identity: Identity, token: str, password: str = STRONG_2) -> Awaitable[api.ActivateAccountResponse]:
    return identity.client.ActivateAccount(api.ActivateAccountRequest(activation_token=token,
                                                                      new_password=password))


async def new_user(identity: Identity, token: str, email: str) -> pb.Account:
    return (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Zoé", family_name="Nouvelle", email=email), bearer=token)).account


async def test_an_expired_link_is_replaced_by_the_asls_new_one_of_its_own_company_only(identity: Identity) -> None:
    company, other = await identity.company(), await identity.company()
    token, other_token = await identity.ready_asl(company), await identity.ready_asl(other)
    zoe = await new_user(identity, token, "zoe@supplier.example")
    first = await identity.activation_token("zoe@supplier.example")
    identity.clock.offset += dt.timedelta(hours=72, seconds=1)
    token, other_token = [(await identity.login(asl, STRONG)).session_token for asl in (company.asl, other.asl)]
    assert await refused(activate(identity, first)) == (grpc.StatusCode.FAILED_PRECONDITION, "ACTIVATION_INVALID")
    listed = await identity.client.ListUsers(api.ListUsersRequest(query=zoe.identifier), bearer=token)
    assert listed.accounts[0].activation_expire_time.ToDatetime(dt.UTC) < identity.clock()  # shown as expired
    assert await refused(identity.client.ResendActivation(api.ResendActivationRequest(
        identifier=zoe.identifier), bearer=other_token)) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_COMPANY_ACCOUNT")
    resent = await identity.client.ResendActivation(api.ResendActivationRequest(identifier=zoe.identifier),
                                                    bearer=token)
    assert resent.account.activation_expire_time.ToDatetime(dt.UTC) > identity.clock()
    [_, (mail, secrets)] = await identity.mails("zoe@supplier.example", mail_events.EMAIL_TEMPLATE_ACCOUNT_ACTIVATION,
                                                count=2)
    assert mail.account_activation.resent and secrets["activation_token"] != first
    second = await identity.activation_token("zoe@supplier.example", count=2)
    assert (await activate(identity, second)).identifier == zoe.identifier
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=zoe.identifier), bearer=token)
    actions = [e.action for e in trail.audit_events]
    assert pb.AUDIT_ACTION_ACCOUNT_ACTIVATED in actions and pb.AUDIT_ACTION_ACTIVATION_SENT in actions


async def test_a_link_works_once_when_two_clicks_race(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    await new_user(identity, token, "twice@supplier.example")
    link = await identity.activation_token("twice@supplier.example")
    answers = await asyncio.gather(activate(identity, link, STRONG), activate(identity, link, STRONG_2),
                                   return_exceptions=True)
    done = [a for a in answers if isinstance(a, api.ActivateAccountResponse)]
    failed = [failure_of(a).reason for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert len(done) == 1 and failed == ["ACTIVATION_INVALID"]


async def test_guessing_blocks_a_pending_account_and_its_link_opens_it_a_disabled_ones_is_dead(
        identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    target = await new_user(identity, token, "target@supplier.example")
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError):
            await identity.login(target.identifier, "guessing at a new account")
    got = await identity.client.GetUser(api.GetUserRequest(identifier=target.identifier), bearer=token)
    assert got.account.state == pb.ACCOUNT_STATE_BLOCKED
    await activate(identity, await identity.activation_token("target@supplier.example"))
    assert (await identity.login(target.identifier, STRONG_2)).session_token  # unblocked by the link

    gone = await new_user(identity, token, "gone@supplier.example")
    link = await identity.activation_token("gone@supplier.example")
    await identity.client.DisableUser(api.DisableUserRequest(identifier=gone.identifier), bearer=token)
    assert await refused(activate(identity, link)) == (grpc.StatusCode.FAILED_PRECONDITION, "ACTIVATION_INVALID")
    assert await refused(identity.client.ResendActivation(api.ResendActivationRequest(
        identifier=gone.identifier), bearer=token)) == (grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_DISABLED")


async def test_correcting_a_mistyped_address_kills_the_link_sent_there_and_sends_one_to_the_new(
        identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    typo = await new_user(identity, token, "lea@suplier.example")
    stranger_has = await identity.activation_token("lea@suplier.example")  # a stranger's mailbox got the link
    await identity.client.UpdateUser(api.UpdateUserRequest(account=pb.Account(
        identifier=typo.identifier, email="lea@supplier.example"), update_mask=FieldMask(paths=["email"])),
        bearer=token)
    assert await refused(activate(identity, stranger_has)) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                               "ACTIVATION_INVALID")
    assert (await activate(identity, await identity.activation_token("lea@supplier.example"))).identifier == \
        typo.identifier
