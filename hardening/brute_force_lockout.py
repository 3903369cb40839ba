"""The brute-force suite's lockout (hardening/brute_force.py): an ASL made as in production, then 50 wrong guesses
at once over two identity processes on one PostgreSQL database, and what they leave."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import grpc
from nats.js import JetStreamContext
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import events_pb2 as identity_events
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import func, select

from bench.report import Report
from hardening.harness import publish_as
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of
from kit.db import Database
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import SealKeyPair, unseal
from testing.streams import read_subject, wait_for

from identity.adapters.orm import accounts, audit_events, companies
from identity.settings import IdentitySettings

GUESSES = 50
TOKEN = "harden-gateway-" + "x7Qe" * 8  # the gateway runs as in production: a token of production length
META = [(SERVICE_TOKEN_KEY, TOKEN)]
STRONG = "Les sapins de Gérardmer brillent sous la neige"

# The limits as configured (shipped, unless this environment overrides them: the processes inherit it).
CONFIGURED = IdentitySettings()


async def ready_account(js: JetStreamContext, database: Database, keys: SealKeyPair,
                        stub: api_grpc.IdentityServiceAsyncStub) -> tuple[str, str]:
    """An ASL created as in production (cofor's events → identity → mailed temporary password), then given a
    password of their own; returns the identifier and e-mail."""
    root = "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
    email = f"asl@{root.lower()}.example"
    for subject, message in (
            ("cofor.supplier.referenced", cofor_events.SupplierReferenced(
                cofor_root=root, head_office_cofor=f"{root}  01", legal_name="Brute SA")),
            ("cofor.access.terms_accepted", cofor_events.TermsAccepted(
                cofor_root=root, legal_name="Brute SA", access_request_id=str(uuid.uuid4()),
                administrator=cofor_pb.Contact(given_name="Alice", family_name="Admin", email=email, language="fr"))),
            ("cofor.access.opened", cofor_events.AccessOpened(cofor_root=root))):
        await publish_as(js, "cofor", subject, message)

    async def temporary_password() -> str:
        for msg in await read_subject(js, "NOTIFICATION", EMAIL_SUBJECT):
            event = mail_events.EmailRequested.FromString(msg.data)
            if event.template == mail_events.EMAIL_TEMPLATE_TEMPORARY_PASSWORD and event.to[0].address == email:
                return unseal(keys.private_key, event.sealed_secrets)["temporary_password"]
        return ""

    async def opened() -> str:  # the replicas may take cofor's three events in any order
        async with database.session(readonly=True) as s, s.begin():
            open_ = await s.scalar(select(companies.c.access_open).where(companies.c.cofor_root == root))
            found = await s.scalar(select(accounts.c.identifier).where(accounts.c.email == email)) if open_ else ""
            return found or ""

    password = await wait_for(temporary_password, timeout=60, interval=0.2)
    identifier = await wait_for(opened, timeout=60, interval=0.2)
    first = await stub.Login(api.LoginRequest(identifier=identifier, password=password), metadata=META)
    await stub.ChangePassword(api.ChangePasswordRequest(current_password=password, new_password=STRONG),
                              metadata=[*META, (AUTHORIZATION_KEY, f"Bearer {first.session_token}")])
    return identifier, email


async def answer(call: Awaitable[Any]) -> tuple[str, str, str]:
    """(status code, reason, message) of a login that is expected to fail."""
    try:
        await call
        return "OK", "", ""
    except grpc.aio.AioRpcError as error:
        failure = failure_of(error)
        return failure.code.name, failure.reason, failure.message


async def lockout(report: Report, js: JetStreamContext, database: Database,
                  stubs: list[api_grpc.IdentityServiceAsyncStub], identifier: str, email: str) -> None:
    threshold = CONFIGURED.lockout_threshold

    def login(stub: api_grpc.IdentityServiceAsyncStub, password: str, n: int) -> Awaitable[Any]:
        # A spread attack: each guess from an address of its own, so no per-client limit answers first.
        return stub.Login(api.LoginRequest(identifier=identifier, password=password),
                          metadata=[*META, (CLIENT_ADDRESS_KEY, f"198.51.100.{n % 250}")], timeout=60)

    answers = await asyncio.gather(*(answer(login(stubs[n % 2], f"wrong guess number {n} of many", n))
                                     for n in range(GUESSES)))
    async with database.session(readonly=True) as s, s.begin():
        row = (await s.execute(select(accounts.c.failed_attempts, accounts.c.state).where(
            accounts.c.identifier == identifier))).one()
        checked = await s.scalar(select(func.count()).select_from(audit_events).where(
            audit_events.c.subject == identifier, audit_events.c.action == "LOGIN_FAILED",
            audit_events.c.detail.like("attempt %")))

    async def locks() -> tuple[int, int]:
        events = [m for m in await read_subject(js, "IDENTITY", "identity.account.locked")
                  if identity_events.AccountLocked.FromString(m.data).identifier == identifier]
        notices = [m for m in await read_subject(js, "NOTIFICATION", EMAIL_SUBJECT)
                   if (e := mail_events.EmailRequested.FromString(m.data)).template ==
                   mail_events.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE and e.to[0].address == email]
        return len(events), len(notices)

    async def locked() -> bool:
        return all(await locks())

    await wait_for(locked, timeout=30, interval=0.2)
    await asyncio.sleep(2)  # a second lock event or notice would be published meanwhile
    events, notices = await locks()
    right = await answer(login(stubs[0], STRONG, 0))
    wrong = await answer(login(stubs[1], "yet another wrong guess", 1))

    report.add("brute_force_guesses", GUESSES, "guesses", f"= {GUESSES}",
               f"at once, {GUESSES // 2} to each of 2 identity processes on one PostgreSQL; answers "
               + ", ".join(f"{reason or code} ×{n}" for (code, reason, _), n in Counter(answers).items()))
    report.add("brute_force_answers_identical", 1.0 if set(answers) == {wrong} else 0.0, "bool", "1",
               "every guess, before and after the lock, answered as the wrong password after it")
    report.add("brute_force_attempts_counted", row.failed_attempts, "attempts", f"= {threshold}",
               "failed_attempts after the guesses")
    report.add("brute_force_passwords_checked", checked or 0, "passwords", f"= {threshold}",
               "guesses whose password was hashed and compared (audit)")
    report.add("brute_force_blocked", 1.0 if row.state == "BLOCKED" else 0.0, "bool", "1", f"state {row.state}")
    report.add("brute_force_lock_events", events, "events", "1", "identity.account.locked")
    report.add("brute_force_lock_notices", notices, "mails", "1", "account_locked_notice mail requests")
    report.add("brute_force_right_password_after_lock_refused", 1.0 if right == wrong and right[0] != "OK" else 0.0,
               "bool", "1", f"right password answers {right[0]} {right[1]}; a wrong one {wrong[0]} {wrong[1]}")
