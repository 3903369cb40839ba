"""Lockout (counted atomically), previous-password replay, and the three recovery forms."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc
from portal.support.v1 import email_values_pb2 as mail_values
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import select

from kit import migrations
from kit.client import ServiceClient, failure_of
from testing.processes import NatsServer, PostgresCluster

from identity.adapters.hasher import Hasher
from identity.adapters.orm import accounts, audit_events
from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

from .conftest import CREDENTIALS, STRONG, STRONG_2, TOKENS, Identity


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def account_row(identity: Identity, identifier: str) -> dict:  # type: ignore[type-arg]
    async with identity.app.database.session(readonly=True) as s, s.begin():
        return dict((await s.execute(select(accounts).where(accounts.c.identifier == identifier))).mappings().one())


async def checked_attempts(identity: Identity, identifier: str) -> int:
    async with identity.app.database.session(readonly=True) as s, s.begin():
        rows = (await s.execute(select(audit_events.c.detail).where(
            audit_events.c.subject == identifier, audit_events.c.action == "LOGIN_FAILED"))).all()
    return sum(1 for r in rows if r.detail.startswith("attempt"))


async def test_five_wrong_passwords_block_and_then_even_the_right_one_is_refused_alike(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    for _ in range(5):
        f = await failure(identity.login(company.asl, "not my password at all"))
        assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]
    assert (await account_row(identity, company.asl))["state"] == "BLOCKED"
    f = await failure(identity.login(company.asl, STRONG))  # right password, but past the threshold: not checked
    assert f.code == grpc.StatusCode.UNAUTHENTICATED and f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]
    assert await checked_attempts(identity, company.asl) == 5
    [(notice, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE)
    assert notice.account_locked_notice.cause == mail_values.AccountLockedNoticeMail.CAUSE_FAILED_ATTEMPTS


async def test_parallel_guesses_never_check_more_than_the_threshold(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    results = await asyncio.gather(*(identity.login(company.asl, f"guess number {i} of many") for i in range(50)),
                                   return_exceptions=True)
    assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
    codes = {failure_of(r).reason for r in results}  # type: ignore[arg-type]
    assert codes <= {"INVALID_CREDENTIALS", "RATE_LIMITED"}
    row = await account_row(identity, company.asl)
    assert row["state"] == "BLOCKED" and row["failed_attempts"] == 5
    assert await checked_attempts(identity, company.asl) == 5
    async with identity.app.database.session(readonly=True) as s, s.begin():
        details = sorted((await s.execute(select(audit_events.c.detail).where(
            audit_events.c.subject == company.asl, audit_events.c.action == "LOGIN_FAILED",
            audit_events.c.detail.like("attempt %")))).scalars())
    assert details == [f"attempt {n}" for n in range(1, 6)]  # an investigator sees each guess's order


async def test_presenting_the_previous_password_blocks_at_once(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    await identity.client.ChangePassword(api.ChangePasswordRequest(current_password=STRONG, new_password=STRONG_2),
                                         bearer=token)
    f = await failure(identity.login(company.asl, STRONG))  # the old one: identity theft
    assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]
    row = await account_row(identity, company.asl)
    assert row["state"] == "BLOCKED" and row["lock_cause"] == "PREVIOUS_PASSWORD"
    f = await failure(identity.login(company.asl, STRONG_2))  # the right one now tells the real reason
    assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "ACCOUNT_BLOCKED"  # type: ignore[attr-defined]


async def test_unknown_blocked_and_wrong_answer_the_same(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    answers = []
    for identifier, password in (("V000000" if company.asl != "V000000" else "V000001", "whatever it is"),
                                 (company.asl, "wrong password here")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await identity.login(identifier, password)
        answers.append((err.value.code(), err.value.details(), failure_of(err.value).reason))
    assert answers[0] == answers[1]


async def test_recover_identifier_answers_the_same_and_mails_only_an_exact_match(identity: Identity) -> None:
    company = await identity.company()
    same = []
    for email in (company.asl_email, company.asl_email.upper(), f"x{company.asl_email}"):
        reply = await identity.client.RecoverIdentifier(api.RecoverIdentifierRequest(email=f" {email} ",
                                                                                     cofor=company.root))
        same.append(reply.message_key)
    assert same == ["recovery.accepted"] * 3
    [(mail, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY)
    assert company.asl in mail.identifier_recovery.identifiers
    await asyncio.sleep(0.5)
    assert len(await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY)) == 1


async def test_asl_self_service_reset_works_even_when_blocked_and_the_change_unblocks(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    for _ in range(5):
        await failure(identity.login(company.asl, "not my password at all"))
    reply = await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=company.asl, cofor=f"{company.root}  01", email=company.asl_email))
    assert reply.message_key == "recovery.accepted"
    [(mail, secrets)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD)
    reset = secrets["temporary_password"]
    identity.secrets_seen.append(reset)
    session = await identity.login(company.asl, reset)
    assert session.must_change_password
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=reset, new_password=STRONG_2), bearer=session.session_token)
    row = await account_row(identity, company.asl)
    assert row["state"] == "ACTIVE" and row["reset_hash"] is None and changed.session_token


async def test_plain_users_using_the_asl_form_are_told_to_ask_their_asl(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    user = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Paul", family_name="User", email="paul.user@supplier.example", language="en"),
        bearer=token)).account
    await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=user.identifier, cofor=company.root, email="paul.user@supplier.example"))
    [(mail, secrets)] = await identity.mails("paul.user@supplier.example",
                                             mail_events.EMAIL_TEMPLATE_RESET_BY_ADMINISTRATOR_NOTICE)
    assert secrets == {} and company.asl_email in [
        a.email for a in mail.reset_by_administrator_notice.administrators]


async def test_contact_administrator_mails_the_user_and_every_asl(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    user = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Zoé", family_name="Usager", email="zoe@supplier.example"), bearer=token)).account
    reply = await identity.client.ContactAdministrator(api.ContactAdministratorRequest(
        identifier=user.identifier, cofor=company.root, email="zoe@supplier.example",
        message="J'ai perdu mon mot de passe"))
    assert reply.message_key == "recovery.accepted"
    [(to_user, _)] = await identity.mails("zoe@supplier.example", mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_CONTACT)
    assert "Alice Admin" in [a.name for a in to_user.administrator_contact.administrators]
    [(to_asl, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_USER_MESSAGE_TO_ADMINISTRATOR)
    assert to_asl.user_message_to_administrator.message == "J'ai perdu mon mot de passe"
    assert to_asl.reply_to.address == "zoe@supplier.example"
    # A wrong e-mail: same answer, nothing sent.
    await identity.client.ContactAdministrator(api.ContactAdministratorRequest(
        identifier=user.identifier, cofor=company.root, email="Zoe@supplier.example", message="x"))
    await asyncio.sleep(0.5)
    assert len(await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_USER_MESSAGE_TO_ADMINISTRATOR)) == 1


async def test_asl_unlock_and_reset_bring_a_blocked_user_back(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    user = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Luc", family_name="Bloque", email="luc@supplier.example"), bearer=token)).account
    await identity.activated("luc@supplier.example", STRONG_2)
    for _ in range(5):
        await failure(identity.login(user.identifier, "no no no no no no"))
    got = await identity.client.GetUser(api.GetUserRequest(identifier=user.identifier), bearer=token)
    assert got.account.state == pb.ACCOUNT_STATE_BLOCKED
    unlocked = await identity.client.UnlockUser(api.UnlockUserRequest(identifier=user.identifier), bearer=token)
    assert unlocked.account.state == pb.ACCOUNT_STATE_ACTIVE
    assert (await identity.login(user.identifier, STRONG_2)).session_token
    reset = await identity.client.ResetUserPassword(api.ResetUserPasswordRequest(identifier=user.identifier),
                                                    bearer=token)
    assert reset.account.must_change_password and reset.temporary_password_expire_time.seconds
    temp2 = await identity.temporary_password("luc@supplier.example")
    assert (await identity.login(user.identifier, temp2)).must_change_password


async def test_two_instances_on_one_postgresql_lock_at_exactly_the_threshold(
        postgres: PostgresCluster, nats_server: NatsServer, tmp_path: Path) -> None:
    """Two identity processes' worth of servers on one PostgreSQL, 50 parallel wrong guesses split between them."""
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    await migrations.upgrade(url, MIGRATIONS)
    settings = IdentitySettings(grpc_port=0, database_url=url, **nats_server.settings("identity"),
                                service_credentials=CREDENTIALS, argon2_memory_kib=1024, argon2_time_cost=1,
                                shutdown_grace_seconds=0.5,
                                login_limit_per_identifier_per_minute=100)
    apps = [build_app(settings), build_app(settings)]
    for app in apps:
        await app.start()
    try:
        async with apps[0].database.write_transaction() as s:
            hasher = Hasher(memory_kib=1024, time_cost=1)
            now = dt.datetime.now(dt.UTC)
            await s.execute(accounts.insert().values(
                identifier="V424242", cofor_root="PGPGPG", given_name="P", family_name="G", email="pg@x.example",
                phone="", job_title="", language="fr", is_administrator=False, state="ACTIVE", disabled_cause="",
                lock_cause="", failed_attempts=0, password_hash=await hasher.hash("the right password, long enough"),
                must_change_password=False, password_history=[], created_by="test", created_at=now, updated_at=now))
        channels = [grpc.aio.insecure_channel(app.target) for app in apps]
        clients = [ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(c), TOKENS) for c in channels]
        results = await asyncio.gather(*(clients[i % 2].Login(api.LoginRequest(
            identifier="V424242", password=f"wrong guess {i}")) for i in range(50)), return_exceptions=True)
        assert {failure_of(r).reason for r in results} == {"INVALID_CREDENTIALS"}  # type: ignore[arg-type]
        async with apps[0].database.session(readonly=True) as s, s.begin():
            row = (await s.execute(select(accounts.c.state, accounts.c.failed_attempts).where(
                accounts.c.identifier == "V424242"))).one()
            checked = (await s.execute(select(audit_events.c.detail).where(
                audit_events.c.subject == "V424242", audit_events.c.action == "LOGIN_FAILED"))).all()
        assert (row.state, row.failed_attempts) == ("BLOCKED", 5)
        assert sum(1 for c in checked if c.detail.startswith("attempt")) == 5  # no guess past the threshold checked
        assert len(checked) == 50
        for c in channels:
            await c.close()
    finally:
        for app in apps:
            await app.stop()
