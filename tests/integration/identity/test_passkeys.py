"""Passkeys (ARCHITECTURE §15) on both databases, with a software key (soft-webauthn, user verification on): the
first factor of an ASL, the login's second step, and a login with the passkey alone; each answer accepted once,
even sent twice at once; answers from another origin, for another ceremony or account, from an unknown key, a key
that does not verify its user, or a copied credential id are refused; the account's refusals still apply; removal
and resets. Only public keys and digests of challenges are stored."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from typing import Any

import grpc
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import passkeys_pb2 as pk
from portal.support.v1 import email_values_pb2 as mail_values
from portal.support.v1 import events_pb2 as mail_events
from soft_webauthn import SoftWebauthnDevice

from testing.passkey import SoftPasskey, unb64

from identity.adapters.orm import audit_events, passkey_challenges, passkeys, recovery_codes

from .conftest import STRONG, STRONG_2, Identity
from .test_second_factor import actions, colleague, failure, rows

ORIGIN = "http://localhost:8080"  # identity's default WEBAUTHN_ORIGINS
PASSKEY = pb.SECOND_FACTOR_KIND_PASSKEY


async def enrol(identity: Identity, token: str, key: SoftPasskey, name: str = "Mon téléphone",
                origin: str = ORIGIN) -> pk.FinishPasskeyEnrolmentResponse:
    options = await identity.client.BeginPasskeyEnrolment(pk.BeginPasskeyEnrolmentRequest(), bearer=token)
    return await identity.client.FinishPasskeyEnrolment(pk.FinishPasskeyEnrolmentRequest(
        credential_json=key.create_json(options.options_json, origin), name=name), bearer=token)


async def passkey_login(identity: Identity, key: SoftPasskey, origin: str = ORIGIN) -> pk.PasskeyLoginResponse:
    return await identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=await answer(identity, key,
                                                                                                     origin)))


async def answer(identity: Identity, key: SoftPasskey, origin: str = ORIGIN) -> str:
    options = await identity.client.BeginPasskeyLogin(pk.BeginPasskeyLoginRequest())
    assert json.loads(options.options_json)["allowCredentials"] == []  # the browser offers the portal's passkeys
    return key.get_json(options.options_json, origin)


async def asl_with_passkey(identity: Identity) -> tuple[Any, SoftPasskey, pk.FinishPasskeyEnrolmentResponse]:
    """An ASL whose first factor, right after the first password change, is a passkey."""
    company = await identity.company()
    first = await identity.login(company.asl, company.temporary_password)
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=STRONG), bearer=first.session_token)
    assert changed.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL
    key = SoftPasskey()
    done = await enrol(identity, changed.session_token, key)
    return company, key, done


async def test_an_asl_enrols_a_passkey_and_signs_in_with_it_alone(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    assert len(set(done.recovery_codes)) == 10  # the first factor comes with its back-up
    assert list(done.principal.amr) == ["pwd", "hwk", "user"] and done.principal.acr == "mfa"
    factors = await identity.client.GetSecondFactors(api.GetSecondFactorsRequest(), bearer=done.session_token)
    assert PASSKEY in factors.enrolled and [p.name for p in factors.passkeys] == ["Mon téléphone"]
    assert factors.passkeys[0].credential_id == key.credential_id_text
    [(notice, _)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE)
    assert notice.second_factor_notice.factor == mail_values.SecondFactorNoticeMail.FACTOR_PASSKEY
    # The passkey alone: no identifier typed, two factors in one gesture, the console open.
    opened = await passkey_login(identity, key)
    assert opened.principal.identifier == company.asl
    assert list(opened.principal.amr) == ["hwk", "user"] and opened.principal.acr == "mfa"
    await identity.client.ListUsers(api.ListUsersRequest(), bearer=opened.session_token)
    valid = await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=opened.session_token),
                                                  as_="erp")
    assert valid.principal.acr == "mfa"
    trail = await actions(identity, company.asl)
    assert "SECOND_FACTOR_ENROLLED" in trail and "LOGIN_SUCCEEDED" in trail
    [stored] = await rows(identity, passkeys, identifier=company.asl)
    assert stored["sign_count"] == key.sign_count and stored["last_used_at"] is not None


async def test_the_password_then_the_passkey(identity: Identity) -> None:
    company, key, _ = await asl_with_passkey(identity)
    pending = await identity.password_step(company.asl, STRONG)
    assert pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_VERIFY
    assert PASSKEY in pending.available_factors
    options = await identity.client.BeginPasskeyVerification(pk.BeginPasskeyVerificationRequest(),
                                                             bearer=pending.session_token)
    allowed = [c["id"] for c in json.loads(options.options_json)["allowCredentials"]]
    assert allowed == [key.credential_id_text]  # only this account's passkeys
    done = await identity.client.VerifyPasskey(pk.VerifyPasskeyRequest(
        credential_json=key.get_json(options.options_json, ORIGIN)), bearer=pending.session_token)
    assert list(done.principal.amr) == ["pwd", "hwk", "user"] and done.principal.acr == "mfa"
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(
        session_token=pending.session_token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # the half-done session is gone
    # A passkey-only session cannot take the second step of another login (nothing pending).
    f = await failure(identity.client.BeginPasskeyVerification(pk.BeginPasskeyVerificationRequest(),
                                                               bearer=done.session_token))
    assert f.reason == "SECOND_FACTOR_NOT_PENDING"


async def test_an_answer_is_accepted_once_even_twice_at_once(identity: Identity) -> None:
    _, key, _ = await asl_with_passkey(identity)
    replayed = await answer(identity, key)
    await identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=replayed))
    f = await failure(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=replayed)))
    assert f.code == grpc.StatusCode.UNAUTHENTICATED and f.reason == "PASSKEY_INVALID"
    twice = await answer(identity, key)
    results = await asyncio.gather(*(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=twice))
                                     for _ in range(4)), return_exceptions=True)
    assert sum(isinstance(r, pk.PasskeyLoginResponse) for r in results) == 1
    assert all(isinstance(r, grpc.aio.AioRpcError) and r.code() == grpc.StatusCode.UNAUTHENTICATED
               for r in results if not isinstance(r, pk.PasskeyLoginResponse))
    # A counter that does not grow (a cloned key) is refused even with a fresh challenge.
    key.sign_count -= 1
    f = await failure(passkey_login(identity, key))
    assert f.reason == "PASSKEY_INVALID"


async def test_answers_from_elsewhere_are_refused(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    f = await failure(passkey_login(identity, key, origin="https://portal.phishing.example"))
    assert f.reason == "PASSKEY_INVALID"
    stranger = SoftPasskey()
    stranger.cred_init("localhost", b"someone")  # a key the portal never registered
    f = await failure(passkey_login(identity, stranger))
    assert f.reason == "PASSKEY_INVALID"
    # An answer to the login's challenge is no answer to a second step (nor the reverse).
    pending = await identity.password_step(company.asl, STRONG)
    f = await failure(identity.client.VerifyPasskey(pk.VerifyPasskeyRequest(
        credential_json=await answer(identity, key)), bearer=pending.session_token))
    assert f.reason == "PASSKEY_INVALID"
    # Another account's passkey cannot answer this account's second step.
    bob, _ = await colleague(identity, done.session_token, "Bob", "bob@passkeys.example")
    bob_pending = await identity.password_step(bob, STRONG_2)
    assert bob_pending.principal.second_factor_step == pb.SECOND_FACTOR_STEP_UNSPECIFIED  # Bob has no factor
    f = await failure(identity.client.BeginPasskeyVerification(pk.BeginPasskeyVerificationRequest(),
                                                               bearer=bob_pending.session_token))
    assert f.reason == "SECOND_FACTOR_NOT_PENDING"
    # A key that does not verify its user (no PIN, no biometrics) is not enrolled.
    session = (await identity.login(bob, STRONG_2)).session_token
    f = await failure(enrol(identity, session, SoftPasskey(verifies_user=False)))
    assert f.reason == "PASSKEY_INVALID"
    # Bob registers the ASL's credential id with his own key (ids are not secret): refused, nothing replaced.
    copier = SoftPasskey()

    def copied(rp_id: str, user_handle: bytes) -> None:
        SoftWebauthnDevice.cred_init(copier, rp_id, user_handle)
        copier.credential_id = key.credential_id
    copier.cred_init = copied
    f = await failure(enrol(identity, session, copier))
    assert f.code == grpc.StatusCode.FAILED_PRECONDITION and f.reason == "PASSKEY_ALREADY_REGISTERED"
    assert (await passkey_login(identity, key)).principal.identifier == company.asl
    f = await failure(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json="{not json")))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_challenge_lives_five_minutes_and_only_its_digest_is_stored(identity: Identity) -> None:
    _, key, _ = await asl_with_passkey(identity)
    options = await identity.client.BeginPasskeyLogin(pk.BeginPasskeyLoginRequest())
    challenge = unb64(json.loads(options.options_json)["challenge"])
    stored = await rows(identity, passkey_challenges, digest=hashlib.sha256(challenge).digest())
    assert len(stored) == 1 and challenge not in repr(await rows(identity, passkey_challenges)).encode()
    identity.clock.offset += dt.timedelta(minutes=5, seconds=1)
    f = await failure(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(
        credential_json=key.get_json(options.options_json, ORIGIN))))
    assert f.reason == "PASSKEY_INVALID"


async def test_the_account_refusals_still_apply(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    bob, bob_session = await colleague(identity, done.session_token, "Bob", "bob@refusals.example")
    bob_key = SoftPasskey()
    await enrol(identity, bob_session, bob_key, name="Laptop")
    await identity.client.DisableUser(api.DisableUserRequest(identifier=bob), bearer=done.session_token)
    f = await failure(passkey_login(identity, bob_key))
    assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "ACCOUNT_DISABLED"
    for _ in range(5):  # five wrong passwords block the ASL's account: its passkey does not reopen it
        await failure(identity.password_step(company.asl, "certainly not the password"))
    f = await failure(passkey_login(identity, key))
    assert f.reason == "ACCOUNT_BLOCKED"


async def test_removing_passkeys_and_resets(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    f = await failure(identity.client.RemovePasskey(pk.RemovePasskeyRequest(
        credential_id=key.credential_id_text), bearer=done.session_token))
    assert f.reason == "SECOND_FACTOR_REQUIRED_OF_ACCOUNT"  # an ASL keeps a factor
    bob, bob_session = await colleague(identity, done.session_token, "Bob", "bob@remove.example")
    first, second = SoftPasskey(), SoftPasskey()
    bob_session = (await enrol(identity, bob_session, first, name="Phone")).session_token
    enrolled = await enrol(identity, bob_session, second, name="Laptop")
    assert not enrolled.recovery_codes  # not the first factor: the codes stay as they were
    bob_session = enrolled.session_token
    f = await failure(identity.client.RemovePasskey(pk.RemovePasskeyRequest(
        credential_id=key.credential_id_text), bearer=bob_session))
    assert f.code == grpc.StatusCode.NOT_FOUND  # the ASL's passkey is not Bob's to remove
    await identity.client.RemovePasskey(pk.RemovePasskeyRequest(credential_id=first.credential_id_text),
                                        bearer=bob_session)
    assert (await passkey_login(identity, second)).principal.identifier == bob
    assert (await failure(passkey_login(identity, first))).reason == "PASSKEY_INVALID"
    await identity.client.RemovePasskey(pk.RemovePasskeyRequest(credential_id=second.credential_id_text),
                                        bearer=bob_session)
    assert not await rows(identity, recovery_codes, identifier=bob)  # the last factor took its codes along
    assert (await identity.password_step(bob, STRONG_2)).principal.second_factor_step == \
        pb.SECOND_FACTOR_STEP_UNSPECIFIED
    # The ASL resets its own passkey through support (a lost phone): the passkey signs in no more.
    await identity.as_support("ResetSecondFactors", api.ResetSecondFactorsRequest(
        identifier=company.asl, reason="called back on the registered phone"))
    assert not await rows(identity, passkeys, identifier=company.asl)
    assert (await failure(passkey_login(identity, key))).reason == "PASSKEY_INVALID"
    assert "SECOND_FACTOR_REMOVED" in await actions(identity, bob)


async def test_removing_a_passkey_ends_the_other_sessions_and_changes_need_a_recent_factor(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    spare = SoftPasskey()
    mine = (await enrol(identity, done.session_token, spare, name="Spare key")).session_token
    lost_phone = (await passkey_login(identity, key)).session_token  # somebody else holds this one now
    await identity.client.RemovePasskey(pk.RemovePasskeyRequest(credential_id=key.credential_id_text), bearer=mine)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=lost_phone), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # the session the lost passkey opened ends with it
    await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=mine), as_="erp")  # not mine
    # Eleven minutes on, a stolen cookie of that session cannot add its thief's passkey, take new recovery codes,
    # nor remove a factor: the holder gives a factor again first.
    identity.clock.offset += dt.timedelta(minutes=11)
    for call in (identity.client.BeginPasskeyEnrolment(pk.BeginPasskeyEnrolmentRequest(), bearer=mine),
                 identity.client.RegenerateRecoveryCodes(api.RegenerateRecoveryCodesRequest(), bearer=mine),
                 identity.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(), bearer=mine),
                 identity.client.RemovePasskey(pk.RemovePasskeyRequest(credential_id=spare.credential_id_text),
                                               bearer=mine)):
        f = await failure(call)
        assert f.code == grpc.StatusCode.PERMISSION_DENIED and f.reason == "SECOND_FACTOR_REQUIRED"
    fresh = (await passkey_login(identity, spare)).session_token
    await enrol(identity, fresh, SoftPasskey(), name="New phone")
    assert "SECOND_FACTOR_REMOVED" in await actions(identity, company.asl)


async def test_two_removals_at_once_leave_an_asl_a_factor(identity: Identity) -> None:
    _, first, done = await asl_with_passkey(identity)
    second = SoftPasskey()
    token = (await enrol(identity, done.session_token, second, name="Second")).session_token
    results = await asyncio.gather(*(identity.client.RemovePasskey(pk.RemovePasskeyRequest(
        credential_id=k.credential_id_text), bearer=token) for k in (first, second)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(refused) == 1, results  # decided one after the other: the second sees the last factor
    factors = await identity.client.GetSecondFactors(api.GetSecondFactorsRequest(), bearer=token)
    assert PASSKEY in factors.enrolled and len(factors.passkeys) == 1


async def test_crafted_answers_are_refused_not_errors(identity: Identity) -> None:
    company, key, done = await asl_with_passkey(identity)
    f = await failure(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json="[" * 5000)))
    assert f.code == grpc.StatusCode.INVALID_ARGUMENT
    for garbled in ({"id": 1, "rawId": [], "response": "x"}, {"response": {"clientDataJSON": "%%%"}}, {}):
        f = await failure(identity.client.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=json.dumps(garbled))))
        assert f.code == grpc.StatusCode.UNAUTHENTICATED and f.reason == "PASSKEY_INVALID"
    long_id = SoftPasskey()  # a credential id past WebAuthn's 1,023 bytes

    def longer(rp_id: str, user_handle: bytes) -> None:
        SoftWebauthnDevice.cred_init(long_id, rp_id, user_handle)
        long_id.credential_id = b"x" * 1100
    long_id.cred_init = longer
    f = await failure(enrol(identity, done.session_token, long_id))
    assert f.reason == "PASSKEY_INVALID"
    # The user handle is not signed: one swapped for another account's is refused all the same.
    key.user_handle = b"someone else's handle"
    assert (await failure(passkey_login(identity, key))).reason == "PASSKEY_INVALID"
    key.user_handle = (await rows(identity, passkeys, identifier=company.asl))[0]["user_handle"]
    # A copied key (its counter behind the portal's) is refused, kept in its holder's trail, and its holder told.
    await passkey_login(identity, key)
    key.sign_count -= 1
    assert (await failure(passkey_login(identity, key))).reason == "PASSKEY_INVALID"
    trail = await rows(identity, audit_events, subject=company.asl, action="SECOND_FACTOR_FAILED")
    assert any("signature counter went back" in r["detail"] for r in trail)
    notices = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE, 2)
    told = notices[-1][0].second_factor_notice
    assert told.change == mail_values.SecondFactorNoticeMail.CHANGE_COPY_SUSPECTED
    assert told.factor == mail_values.SecondFactorNoticeMail.FACTOR_PASSKEY
