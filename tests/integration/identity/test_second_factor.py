"""Second factors (ARCHITECTURE §15) on both databases: every ASL sets up an app right after the first password
change; a login then asks for a code, which opens a complete session (amr, acr) and is accepted once; recovery codes
work once; each factor has its own failure count; a reset password never skips the factor; the ASL's policy and
resets; the secret is never stored in clear."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import email_values_pb2 as mail_values
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import select

from kit.client import ServiceClient, failure_of

from identity.adapters.factor_box import FactorBox
from identity.adapters.orm import accounts, audit_events, second_factors

from .conftest import STRONG, STRONG_2, Company, Identity

TOTP, RECOVERY = pb.SECOND_FACTOR_KIND_TOTP, pb.SECOND_FACTOR_KIND_RECOVERY_CODE


async def failure(call: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return failure_of(err.value)


async def rows(identity: Identity, table: Any, **where: Any) -> list[dict[str, Any]]:
    async with identity.app.database.session(readonly=True) as s, s.begin():
        query = select(table).where(*(table.c[k] == v for k, v in where.items()))
        return [dict(r) for r in (await s.execute(query)).mappings().all()]


async def actions(identity: Identity, identifier: str) -> list[str]:
    return [r["action"] for r in await rows(identity, audit_events, subject=identifier)]


async def colleague(identity: Identity, token: str, name: str, email: str) -> tuple[str, str]:
    """A user the ASL created, past the first password change: (identifier, session token)."""
    created = await identity.client.CreateUser(api.CreateUserRequest(
        given_name=name, family_name="Martin", email=email, language="fr"), bearer=token)
    identifier = created.account.identifier
    return identifier, await identity.activated(email, STRONG_2)


async def asl_with_codes(identity: Identity) -> tuple[Company, list[str]]:
    """An ASL who set up its app by hand here, keeping the recovery codes."""
    company = await identity.company()
    first = await identity.login(company.asl, company.temporary_password)
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=STRONG), bearer=first.session_token)
    started = await identity.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(), bearer=changed.session_token)
    assert started.otpauth_uri.startswith("otpauth://totp/") and company.asl in started.otpauth_uri
    identity.app_codes.add(company.asl, started.secret)
    confirmed = await identity.client.ConfirmTotpEnrolment(api.ConfirmTotpEnrolmentRequest(
        code=identity.app_code(company.asl)), bearer=changed.session_token)
    assert len(set(confirmed.recovery_codes)) == 10 and list(confirmed.principal.amr) == ["pwd", "otp"]
    return company, list(confirmed.recovery_codes)


async def test_a_login_asks_for_the_code_and_only_the_code_opens_a_complete_session(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    [(notice, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE)
    assert notice.second_factor_notice.change == mail_values.SecondFactorNoticeMail.CHANGE_ENROLLED
    pending = await identity.password_step(company.asl, STRONG)
    assert pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_VERIFY
    assert list(pending.available_factors) == [TOTP, RECOVERY]
    # Half a login opens nothing: not the console, not an application.
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=pending.session_token))
    assert f.reason == "SECOND_FACTOR_REQUIRED"
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(
        session_token=pending.session_token), as_="erp"))
    assert f.reason == "SECOND_FACTOR_REQUIRED"
    done = await identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=identity.app_code(company.asl)), bearer=pending.session_token)
    valid = await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=done.session_token),
                                                  as_="erp")
    assert list(valid.principal.amr) == ["pwd", "otp"] and valid.principal.acr == "mfa"
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(
        session_token=pending.session_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # the half-done session is gone
    trail = await actions(identity, company.asl)
    assert trail.count("SECOND_FACTOR_ENROLLED") == 1 and "SECOND_FACTOR_CHALLENGED" in trail


async def test_a_half_done_login_waits_five_minutes_for_its_code(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    pending = await identity.password_step(company.asl, STRONG)
    identity.clock.offset += dt.timedelta(minutes=5, seconds=1)
    f = await failure(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=identity.app_code(company.asl)), bearer=pending.session_token))
    assert f.reason == "SESSION_INVALID"


async def test_a_code_is_accepted_once_and_a_wrong_one_counts_for_that_factor_only(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    first = await identity.password_step(company.asl, STRONG)
    code = identity.app_code(company.asl)
    await identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=code),
                                             bearer=first.session_token)
    again = await identity.password_step(company.asl, STRONG)
    f = await failure(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=code),
                                                         bearer=again.session_token))
    assert f.code == grpc.StatusCode.UNAUTHENTICATED and f.reason == "SECOND_FACTOR_INVALID"  # a replay
    for wrong in ("000000", "12345", "abcdef", "999999"):
        await failure(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=wrong),
                                                         bearer=again.session_token))
    f = await failure(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=identity.app_code(company.asl)), bearer=again.session_token))
    assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "SECOND_FACTOR_LOCKED"  # even the right one
    [factor] = await rows(identity, second_factors, identifier=company.asl, kind="TOTP")
    [account] = await rows(identity, accounts, identifier=company.asl)
    assert factor["failed_attempts"] == 5 and account["failed_attempts"] == 0 and account["state"] == "ACTIVE"
    mails = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE, 2)
    assert mails[-1][0].second_factor_notice.change == mail_values.SecondFactorNoticeMail.CHANGE_LOCKED
    # Wrong passwords never count towards the factor either.
    await failure(identity.login(company.asl, "certainly not the password"))
    [factor] = await rows(identity, second_factors, identifier=company.asl, kind="TOTP")
    assert factor["failed_attempts"] == 5


async def test_a_recovery_code_works_once_and_its_holder_is_told(identity: Identity) -> None:
    company, codes = await asl_with_codes(identity)
    pending = await identity.password_step(company.asl, STRONG)
    typed = codes[0].upper().replace("-", " ")  # as a person might type it
    done = await identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=RECOVERY, code=typed),
                                                    bearer=pending.session_token)
    assert list(done.principal.amr) == ["pwd", "rcode"] and done.principal.acr == "mfa"
    mails = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE, 2)
    used = mails[-1][0].second_factor_notice
    assert used.change == mail_values.SecondFactorNoticeMail.CHANGE_RECOVERY_CODE_USED and used.recovery_codes_left == 9
    again = await identity.password_step(company.asl, STRONG)
    f = await failure(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=RECOVERY, code=codes[0]),
                                                         bearer=again.session_token))
    assert f.reason == "SECOND_FACTOR_INVALID"
    status = await identity.client.GetSecondFactors(api.GetSecondFactorsRequest(), bearer=done.session_token)
    assert status.recovery_codes_left == 9 and status.required and list(status.enrolled) == [TOTP, RECOVERY]


async def test_a_reset_password_never_skips_the_factor(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=company.asl, cofor=company.root, email=company.asl_email))
    [(_, secrets)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD)
    pending = await identity.password_step(company.asl, secrets["temporary_password"])
    assert pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_VERIFY and pending.must_change_password
    f = await failure(identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=secrets["temporary_password"], new_password=STRONG_2), bearer=pending.session_token))
    assert f.reason == "SECOND_FACTOR_REQUIRED"
    done = await identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=identity.app_code(company.asl)), bearer=pending.session_token)
    assert done.principal.must_change_password  # still: the change comes next
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=secrets["temporary_password"], new_password=STRONG_2), bearer=done.session_token)
    assert changed.principal.second_factor_step == pb.SECOND_FACTOR_STEP_UNSPECIFIED
    assert list(changed.principal.amr) == ["pwd", "otp"]


async def test_the_asl_policy_makes_users_enrol_and_resets_make_them_enrol_again(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    bob, bob_token = await colleague(identity, token, "Bob", "bob@policy.example")
    assert not identity.app_codes.holds(bob)  # no policy: a user needs no factor
    await identity.client.SetSecondFactorPolicy(api.SetSecondFactorPolicyRequest(required=True), bearer=token)
    assert "SECOND_FACTOR_POLICY_CHANGED" in await actions(identity, company.asl)
    pending = await identity.password_step(bob, STRONG_2)
    assert pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(
        session_token=pending.session_token), as_="erp"))
    assert f.reason == "SECOND_FACTOR_ENROLMENT_REQUIRED"
    bob_token = await identity.enrol_app(bob, pending.session_token)
    f = await failure(identity.client.RemoveSecondFactor(api.RemoveSecondFactorRequest(kind=TOTP), bearer=bob_token))
    assert f.reason == "SECOND_FACTOR_REQUIRED_OF_ACCOUNT"
    # The ASL resets Bob's factors (a lost phone): his sessions end, he is told, and enrols again.
    f = await failure(identity.client.ResetSecondFactors(api.ResetSecondFactorsRequest(identifier=company.asl),
                                                         bearer=token))
    assert f.reason == "SELF_RESET_REFUSED"
    await identity.client.ResetSecondFactors(api.ResetSecondFactorsRequest(identifier=bob, reason="lost phone"),
                                             bearer=token)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=bob_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"
    reset = await identity.mails("bob@policy.example", mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE, 2)
    told = reset[-1][0].second_factor_notice
    assert told.change == mail_values.SecondFactorNoticeMail.CHANGE_RESET and told.actor_name == "Alice Admin"
    assert (await identity.password_step(bob, STRONG_2)).principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL


async def test_support_resets_an_asl_only_with_the_agent_and_a_reason(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    f = await failure(identity.as_support("ResetSecondFactors", api.ResetSecondFactorsRequest(identifier=company.asl)))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT
    f = await failure(identity.as_support("ResetSecondFactors", api.ResetSecondFactorsRequest(
        identifier=company.asl, reason="called back on the registered phone"), agent=None))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT
    await identity.as_support("ResetSecondFactors", api.ResetSecondFactorsRequest(
        identifier=company.asl, reason="called back on the registered phone"))
    [row] = [r for r in await rows(identity, audit_events, subject=company.asl)
             if r["action"] == "SECOND_FACTORS_RESET"]
    assert "Jeanne from support" in row["detail"] and "called back" in row["detail"]
    assert (await identity.password_step(company.asl, STRONG)).principal.second_factor_step == \
        pb.SECOND_FACTOR_STEP_ENROL  # an ASL enrols again at once


async def test_the_secret_is_stored_encrypted_and_never_in_the_clear(identity: Identity) -> None:
    company, codes = await asl_with_codes(identity)
    secret = identity.app_codes.secrets[company.asl]
    [factor] = await rows(identity, second_factors, identifier=company.asl, kind="TOTP")
    assert secret.encode() not in factor["secret_sealed"]
    assert FactorBox("a" * 43 + "=").open(factor["secret_sealed"]) is None  # another key opens nothing
    async with identity.app.database.session(readonly=True) as s, s.begin():
        dump = repr([list(r) for table in ("recovery_codes", "second_factors", "audit_events")
                     for r in (await s.execute(select(identity_table(table)))).all()])
    assert secret not in dump and not any(code in dump for code in codes)


def identity_table(name: str) -> Any:
    from identity.adapters.orm import metadata
    return metadata.tables[name]


async def test_parallel_code_guesses_never_check_more_than_the_threshold(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    pending = await identity.password_step(company.asl, STRONG)
    results = await asyncio.gather(*(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=f"{i:06d}"), bearer=pending.session_token) for i in range(30)), return_exceptions=True)
    reasons = [failure_of(r).reason for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(reasons) == 30 and reasons.count("SECOND_FACTOR_INVALID") == 5, reasons
    assert set(reasons) == {"SECOND_FACTOR_INVALID", "SECOND_FACTOR_LOCKED"}
    failed = [r for r in await rows(identity, audit_events, subject=company.asl)
              if r["action"] == "SECOND_FACTOR_FAILED" and "enrolment" not in r["detail"]]
    assert len(failed) == 5


# ---- what an outside review broke (each fixed; the races matter on PostgreSQL) ------------------------------------

async def test_a_user_made_asl_keeps_no_session_opened_without_the_factor(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    bob, bob_token = await colleague(identity, token, "Bob", "bob@promoted.example")
    await identity.client.GrantAdministrator(api.GrantAdministratorRequest(identifier=bob), bearer=token)
    f = await failure(identity.client.ListUsers(api.ListUsersRequest(), bearer=bob_token))
    assert f.reason == "SESSION_INVALID"  # granting the role ended it
    pending = await identity.password_step(bob, STRONG_2)
    assert pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL  # an ASL now: the app first


async def test_starting_an_app_while_confirming_one_never_removes_the_enrolled_app(identity: Identity) -> None:
    for _ in range(3):  # the race: either order, a confirmed app always stays
        company = await identity.company()
        first = await identity.login(company.asl, company.temporary_password)
        changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
            current_password=company.temporary_password, new_password=STRONG), bearer=first.session_token)
        started = await identity.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(),
                                                           bearer=changed.session_token)
        identity.app_codes.add(company.asl, started.secret)
        results: list[Any] = list(await asyncio.gather(
            identity.client.ConfirmTotpEnrolment(api.ConfirmTotpEnrolmentRequest(
                code=identity.app_code(company.asl)), bearer=changed.session_token),
            identity.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(), bearer=changed.session_token),
            return_exceptions=True))
        confirm, begin = results
        assert not isinstance(begin, BaseException) or isinstance(begin, grpc.aio.AioRpcError) and failure_of(
            begin).reason in ("SECOND_FACTOR_ALREADY_ENROLLED", "SESSION_INVALID", "SECOND_FACTOR_REQUIRED"), begin
        # (REQUIRED: the start came after the confirmation, on the password-only session it outdated)
        if not isinstance(confirm, BaseException):  # confirmed: the app stays, whatever the start did
            assert (await identity.password_step(company.asl, STRONG)).principal.second_factor_step == \
                pb.SECOND_FACTOR_STEP_VERIFY


async def test_parallel_starts_and_new_codes_never_fail_nor_leave_more_than_ten_codes(identity: Identity) -> None:
    company, _ = await asl_with_codes(identity)
    token = (await identity.login(company.asl, STRONG)).session_token
    begins = await asyncio.gather(*(identity.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(),
                                                                       bearer=token) for _ in range(6)),
                                  return_exceptions=True)
    assert {failure_of(b).reason for b in begins} == {"SECOND_FACTOR_ALREADY_ENROLLED"}  # type: ignore[arg-type]
    await asyncio.gather(*(identity.client.RegenerateRecoveryCodes(api.RegenerateRecoveryCodesRequest(),
                                                                   bearer=token) for _ in range(6)))
    status = await identity.client.GetSecondFactors(api.GetSecondFactorsRequest(), bearer=token)
    assert status.recovery_codes_left == 10


async def test_two_right_codes_at_once_open_one_session(identity: Identity) -> None:
    company, codes = await asl_with_codes(identity)
    pending = await identity.password_step(company.asl, STRONG)
    results = await asyncio.gather(
        identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=identity.app_code(
            company.asl)), bearer=pending.session_token),
        identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(kind=RECOVERY, code=codes[1]),
                                           bearer=pending.session_token), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results


async def test_requiring_a_factor_ends_the_sessions_of_users_without_one(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    eve, eve_token = await colleague(identity, token, "Eve", "eve@policy.example")
    await identity.client.SetSecondFactorPolicy(api.SetSecondFactorPolicyRequest(required=True), bearer=token)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=eve_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"
    await identity.client.ListUsers(api.ListUsersRequest(), bearer=token)  # the ASL's own session stays


async def test_a_password_only_session_ends_once_its_account_has_an_app(identity: Identity,
                                                                      second_server: ServiceClient) -> None:
    """What a login racing the holder's enrolment would leave: a complete session without the factor."""
    company = await identity.company()
    token = await identity.ready_asl(company)
    ray, ray_token = await colleague(identity, token, "Ray", "ray@race.example")
    now = identity.clock()
    async with identity.app.database.write_transaction() as s:  # the enrolment committed after that login's check
        await s.execute(second_factors.insert().values(identifier=ray, kind="TOTP", secret_sealed=b"x",
                                                       confirmed_at=now, failed_attempts=0, last_step=0,
                                                       created_at=now))
    # Another replica, which has not cached the session, reads it afresh.
    f = await failure(second_server.ValidateSession(api.ValidateSessionRequest(session_token=ray_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"
