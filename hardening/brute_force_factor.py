"""The brute-force suite's second factor (hardening/brute_force.py, ARCHITECTURE §15): the ASL sets up an app; a code
used on one identity process is replayed on the other; someone who knows the password then sends 50 code guesses at
once over both processes on one PostgreSQL database; and a self-service reset password is tried for a session
without the factor. What must hold: exactly the threshold of codes checked, one lock and one notice, the password's
own count untouched, a replay refused, and no session without the factor."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from typing import Any

import pyotp
from nats.js import JetStreamContext
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from portal.support.v1 import email_values_pb2 as mail_values
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import func, select

from bench.report import Report
from hardening.brute_force_lockout import CONFIGURED, GUESSES, META, STRONG, answer
from hardening.brute_force_passkey import passkey_replays
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY
from kit.db import Database
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import SealKeyPair, unseal
from testing.authenticator import Authenticator
from testing.streams import read_subject, wait_for

from identity.adapters.orm import accounts, audit_events

TOTP = pb.SECOND_FACTOR_KIND_TOTP


def bearer(token: str) -> list[tuple[str, str]]:
    return [*META, (AUTHORIZATION_KEY, f"Bearer {token}")]


async def enrolled(stub: api_grpc.IdentityServiceAsyncStub, identifier: str, app: Authenticator) -> None:
    """The ASL's session after its first change asks for an app (every ASL): set up here."""
    session = await stub.Login(api.LoginRequest(identifier=identifier, password=STRONG), metadata=META)
    assert session.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL
    started = await stub.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(), metadata=bearer(session.session_token))
    app.add(identifier, started.secret)
    await stub.ConfirmTotpEnrolment(api.ConfirmTotpEnrolmentRequest(code=await app.next_code(identifier)),
                                    metadata=bearer(session.session_token))


async def second_factor(report: Report, js: JetStreamContext, database: Database, keys: SealKeyPair,
                        stubs: list[api_grpc.IdentityServiceAsyncStub], identifier: str, email: str) -> None:
    threshold = CONFIGURED.second_factor_attempts
    app = Authenticator()
    await enrolled(stubs[0], identifier, app)
    await passkey_replays(report, stubs, identifier, app)  # first: the guesses below lock the app

    # A replay: the same code on the other replica, right after it opened a session.
    used = await app.next_code(identifier)
    first = await stubs[0].Login(api.LoginRequest(identifier=identifier, password=STRONG), metadata=META)
    await stubs[0].VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=used),
                                      metadata=bearer(first.session_token))
    second = await stubs[1].Login(api.LoginRequest(identifier=identifier, password=STRONG), metadata=META)
    replay = await answer(stubs[1].VerifySecondFactor(api.VerifySecondFactorRequest(kind=TOTP, code=used),
                                                      metadata=bearer(second.session_token)))

    # The guesses: someone with the password, from addresses of their own, at both replicas at once.
    step = int(dt.datetime.now(dt.UTC).timestamp()) // 30
    valid = {pyotp.TOTP(app.secrets[identifier]).at((step + d) * 30) for d in range(-2, 4)}  # never a right code
    guesses = [guess for guess in (f"{random.randrange(10**6):06d}" for _ in range(2 * GUESSES))
               if guess not in valid][:GUESSES]
    pending = await stubs[0].Login(api.LoginRequest(identifier=identifier, password=STRONG), metadata=META)
    answers = await asyncio.gather(*(answer(stubs[n % 2].VerifySecondFactor(
        api.VerifySecondFactorRequest(kind=TOTP, code=guess),
        metadata=[*bearer(pending.session_token), (CLIENT_ADDRESS_KEY, f"203.0.113.{n % 250}")], timeout=60))
        for n, guess in enumerate(guesses)))
    right = await answer(stubs[0].VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=TOTP, code=await app.next_code(identifier)), metadata=bearer(pending.session_token)))
    async with database.session(readonly=True) as s, s.begin():
        checked = await s.scalar(select(func.count()).select_from(audit_events).where(
            audit_events.c.subject == identifier, audit_events.c.action == "SECOND_FACTOR_FAILED",
            audit_events.c.detail.like("totp attempt %")))
        locks = await s.scalar(select(func.count()).select_from(audit_events).where(
            audit_events.c.subject == identifier, audit_events.c.action == "SECOND_FACTOR_LOCKED"))
        password = (await s.execute(select(accounts.c.failed_attempts, accounts.c.state).where(
            accounts.c.identifier == identifier))).one()

    async def notices() -> list[Any]:
        return [e for m in await read_subject(js, "NOTIFICATION", EMAIL_SUBJECT)
                if (e := mail_events.EmailRequested.FromString(m.data)).template ==
                mail_events.EMAIL_TEMPLATE_SECOND_FACTOR_NOTICE and e.to[0].address == email and
                e.second_factor_notice.change == mail_values.SecondFactorNoticeMail.CHANGE_LOCKED]
    await wait_for(notices, timeout=30, interval=0.2)
    await asyncio.sleep(1)  # a second notice would be published meanwhile

    # A reset password (the ASL's lost-password form) must still ask for the factor.
    root = email.split("@")[1].split(".")[0].upper()
    await stubs[1].ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=identifier, cofor=root, email=email), metadata=META)

    async def reset_password() -> str:
        for msg in await read_subject(js, "NOTIFICATION", EMAIL_SUBJECT):
            event = mail_events.EmailRequested.FromString(msg.data)
            reset = mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD
            if event.template == reset and event.to[0].address == email:
                return unseal(keys.private_key, event.sealed_secrets)["temporary_password"]
        return ""
    reset = await stubs[1].Login(api.LoginRequest(identifier=identifier, password=await wait_for(
        reset_password, timeout=60, interval=0.2)), metadata=META)
    opened = await answer(stubs[0].ValidateSession(api.ValidateSessionRequest(session_token=reset.session_token),
                                                   metadata=META))

    report.add("factor_guesses", GUESSES, "guesses", f"= {GUESSES}",
               f"TOTP codes at once, {GUESSES // 2} to each of 2 identity processes on one PostgreSQL, on one "
               "half-done login; answers " + ", ".join(f"{r or c} ×{n}" for (c, r, _), n in Counter(answers).items()))
    report.add("factor_codes_checked", checked or 0, "codes", f"= {threshold}",
               "guesses whose code was compared (audit SECOND_FACTOR_FAILED)")
    report.add("factor_lock_events", locks or 0, "events", "1", "audit SECOND_FACTOR_LOCKED")
    report.add("factor_lock_notices", len(await notices()), "mails", "1", "second_factor_notice (locked) requests")
    report.add("factor_right_code_after_lock_refused", 1.0 if right[1] == "SECOND_FACTOR_LOCKED" else 0.0, "bool",
               "1", f"the app's right code answers {right[0]} {right[1]}")
    report.add("factor_password_count_untouched", 1.0 if (password.failed_attempts, password.state) == (0, "ACTIVE")
               else 0.0, "bool", "1", f"the password's count {password.failed_attempts}, state {password.state}")
    report.add("factor_replays_accepted", 0.0 if replay[1] == "SECOND_FACTOR_INVALID" else 1.0, "replays", "0",
               f"a used code on the other replica answers {replay[0]} {replay[1]}")
    report.add("factor_reset_password_sessions_without_factor",
               0.0 if reset.principal.second_factor_step == pb.SECOND_FACTOR_STEP_VERIFY and
               opened[1] == "SECOND_FACTOR_REQUIRED" else 1.0, "sessions", "0",
               f"a self-service reset password opens a session waiting for the factor; ValidateSession: {opened[1]}")
