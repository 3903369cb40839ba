"""Brute force. Lockout: two identity processes share one PostgreSQL database (the production multi-replica shape);
50 wrong guesses on one account, sent at once and spread over both, leave exactly LOCKOUT_THRESHOLD attempts counted,
the account BLOCKED with one lock event and one notice, and the right password then refused exactly like a wrong one.
Rate limits: behind the gateway (one trusted proxy, as deployed behind the ingress), hammering the login and each
recovery form from one client address lets through exactly the configured number of requests, then 429 with
Retry-After; neither a forged X-Forwarded-For nor another client's traffic changes any count."""
from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import grpc
import httpx
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
from kit import migrations
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of
from kit.db import Database
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import SealKeyPair, unseal
from testing.fleet import ServiceProcess, nats_users
from testing.processes import NatsServer, PostgresCluster
from testing.streams import read_subject, wait_for

from gateway.settings import GatewaySettings
from identity.adapters.orm import accounts, audit_events, companies
from identity.bootstrap import MIGRATIONS
from identity.settings import IdentitySettings

GUESSES = 50
TOKEN = "harden-gateway-" + "x7Qe" * 8  # the gateway runs as in production: a token of production length
META = [(SERVICE_TOKEN_KEY, TOKEN)]
STRONG = "Les sapins de Gérardmer brillent sous la neige"
CHEAP_ARGON2 = {"ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1"}  # quick: the behaviour, not the hashing cost
# The limits as configured (shipped, unless this environment overrides them: the processes inherit it).
CONFIGURED = IdentitySettings()
GATEWAY_LIMIT = GatewaySettings().rate_limit_per_minute  # every request, pages and API alike
CONCURRENCY = 16  # requests in flight per hammered form


async def run(report: Report, *, quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:  # undone in reverse: processes stop before their database goes
            root = Path(tmp)
            postgres = PostgresCluster().start()
            stack.callback(postgres.destroy)
            server = NatsServer(root / "nats", users=nats_users()).start()
            stack.callback(server.stop)
            url = postgres.create_database("identity")
            await migrations.upgrade(url, MIGRATIONS)
            keys = SealKeyPair.generate()
            common = {"DATABASE_URL": url, **server.environment("identity"),
                      "SERVICE_CREDENTIALS": f"gateway:public:{TOKEN}", "MAIL_SEAL_PUBLIC_KEY": keys.public_key,
                      **(CHEAP_ARGON2 if quick else {})}
            # Two replicas take the guesses; their per-identifier login limit is raised so that all 50 guesses
            # reach the lockout counter (the race under test). A third, with the configured limits, is the gateway's.
            replicas = [ServiceProcess("identity", {**common, "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE": "1000"},
                                       root / f"identity{n}.log") for n in range(2)]
            behind = ServiceProcess("identity", common, root / "identity2.log")
            front = ServiceProcess("gateway", {
                "SERVICE_TOKEN": TOKEN, "IDENTITY_TARGET": behind.target, "TRUSTED_PROXIES": "1",
                "ENVIRONMENT": "production"}, root / "gateway.log", port_variable="GATEWAY_PORT")
            for process in (*replicas, behind, front):
                stack.callback(process.stop)
                process.start()
            for process in (*replicas, behind):
                await process.serving()
            guessed, gateway = [r.port for r in replicas], front.port
            database = Database(url)
            stack.push_async_callback(database.dispose)
            nc = await server.connect()  # the test administrator publishes cofor's events, into cofor's stream
            stack.push_async_callback(nc.close)
            stubs = []
            for port in guessed:
                channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
                stack.push_async_callback(channel.close)
                stubs.append(api_grpc.IdentityServiceStub(channel))
            identifier, email = await ready_account(nc.jetstream(), database, keys, stubs[0])
            await lockout(report, nc.jetstream(), database, stubs, identifier, email)
            web = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway}",
                                                                    timeout=60))
            await wait_for(lambda: healthy(web), timeout=60, interval=0.2)
            await rate_limits(report, web)


async def healthy(web: httpx.AsyncClient) -> bool:
    try:
        return (await web.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


# ---- lockout ------------------------------------------------------------------------------------------------------

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


# ---- rate limits at the gateway -----------------------------------------------------------------------------------

class Visitor:
    """One client address behind the ingress, which appends it to X-Forwarded-For (TRUSTED_PROXIES=1). A forger
    sends an X-Forwarded-For of their own first: the ingress appends the real address after it."""

    def __init__(self, web: httpx.AsyncClient, address: str, *, forger: bool = False) -> None:
        self.web, self.address, self.forger = web, address, forged if forger else None
        self.csrf = ""

    def headers(self) -> list[tuple[str, str]]:
        forwarded = [("x-forwarded-for", self.address)]
        if self.forger:  # the ingress appends to the client's header, or adds a line after it (RFC 9110 §5.3)
            forwarded = random.choice(([("x-forwarded-for", f"{self.forger()}, {self.address}")],
                                       [("x-forwarded-for", self.forger()), *forwarded]))
        return forwarded + (
            [("cookie", f"__Host-portal_csrf={self.csrf}"), ("x-csrf-token", self.csrf)] if self.csrf else [])

    async def get(self, path: str) -> httpx.Response:
        return await self.web.get(path, headers=self.headers())

    async def post(self, path: str, body: dict[str, str]) -> httpx.Response:
        if not self.csrf:
            self.csrf = (await self.get("/api/v1/csrf")).json()["csrf_token"]
        return await self.web.post(path, json=body, headers=self.headers())


def forged() -> str:
    return f"192.0.2.{random.randrange(1, 255)}"


def unknown_identifier() -> str:
    return f"V{random.randrange(1, 999_999):06d}"


def recovery_body(form: str) -> dict[str, str]:
    email = f"who.{uuid.uuid4().hex[:8]}@nowhere.example"  # a new one each time: only the per-client count applies
    body = {"email": email, "cofor": "ZZZZZZ"}
    if form != "identifier":
        body["identifier"] = unknown_identifier()
    if form == "contact-administrator":
        body["message"] = "Please unblock me"
    return body


async def fresh_window(seconds: int, needed: float) -> None:
    """Rate windows are fixed (aligned to the epoch): start where ``needed`` seconds stay inside one window."""
    left = seconds - time.time() % seconds
    if left < needed:
        await asyncio.sleep(left + 0.2)


async def hammer(send: Callable[[], Awaitable[httpx.Response]], requests: int) -> list[httpx.Response]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one() -> httpx.Response:
        async with limit:
            return await send()
    return list(await asyncio.gather(*(one() for _ in range(requests))))


async def rate_limits(report: Report, web: httpx.AsyncClient) -> None:
    c = CONFIGURED
    login_limit, recovery_limit = c.login_limit_per_client_per_minute, c.recovery_limit_per_client_per_hour
    per_identifier, per_email = c.login_limit_per_identifier_per_minute, c.recovery_limit_per_hour
    retry_after: list[bool] = []
    unexpected: Counter[int] = Counter()

    def allowed(name: str, answers: list[httpx.Response], limit: int, ok: int, note: str) -> None:
        refused = [a for a in answers if a.status_code == 429]
        retry_after.extend(a.headers.get("retry-after", "").isdigit() for a in refused)
        unexpected.update(a.status_code for a in answers if a.status_code not in (ok, 429))
        report.add(f"rate_limit_{name}_allowed", len(answers) - len(refused), "requests", f"= {limit}",
                   f"{len(answers)} sent, {note}")

    def login_of(visitor: Visitor, identifier: Callable[[], str]) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: visitor.post("/api/v1/session:login", {"identifier": identifier(), "password": "a wrong one"})

    await fresh_window(60, 15)
    # Credential stuffing from one address: a new identifier each time, so only the per-client count applies.
    attacker = Visitor(web, "203.0.113.10")
    allowed("login", await hammer(login_of(attacker, unknown_identifier), login_limit + 20), login_limit,
            401, "LOGIN_LIMIT_PER_CLIENT_PER_MINUTE")
    await fresh_window(60, 15)
    forger = Visitor(web, "203.0.113.11", forger=True)
    allowed("login_forged_forwarded_for", await hammer(login_of(forger, unknown_identifier), login_limit + 20),
            login_limit, 401, "a new forged X-Forwarded-For before the real one on every request")
    # One account from many addresses: the per-identifier count.
    await fresh_window(60, 15)
    target = unknown_identifier()
    spread = iter(range(1, 10_000))
    allowed("login_per_identifier", await hammer(
        lambda: login_of(Visitor(web, f"203.0.113.{100 + next(spread) % 100}"), lambda: target)(), per_identifier + 10),
        per_identifier, 401, "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE, from 100 addresses")
    await fresh_window(3600, 60)
    recovering = [Visitor(web, f"203.0.113.{20 + n}") for n in range(3)]
    forms = ("identifier", "administrator-password", "contact-administrator")
    for visitor, form in zip(recovering, forms, strict=True):
        async def recover(visitor: Visitor = visitor, form: str = form) -> httpx.Response:
            return await visitor.post(f"/api/v1/recovery/{form}", recovery_body(form))
        allowed(f"recover_{form.replace('-', '_')}", await hammer(recover, recovery_limit + 10), recovery_limit, 200,
                "RECOVERY_LIMIT_PER_CLIENT_PER_HOUR")
    # One e-mail from 50 addresses: past RECOVERY_LIMIT_PER_HOUR the holder gets no more mail, but nobody is ever
    # refused (§6: a refusal would let a stranger lock the real holder out of recovery).
    email_body = recovery_body("identifier")
    spread = iter(range(1, 10_000))
    answers = await hammer(
        lambda: Visitor(web, f"203.0.113.{200 + next(spread) % 50}").post("/api/v1/recovery/identifier", email_body),
        per_email + 10)
    unexpected.update(a.status_code for a in answers if a.status_code != 200)
    report.add("rate_limit_recovery_per_email_refused", sum(a.status_code != 200 for a in answers), "requests", "0",
               f"{len(answers)} sent for one e-mail from 50 addresses, RECOVERY_LIMIT_PER_HOUR = {per_email}")
    await fresh_window(60, 15)
    crawler = Visitor(web, "203.0.113.30")
    allowed("gateway", await hammer(lambda: crawler.get("/api/v1/csrf"), GATEWAY_LIMIT + 20), GATEWAY_LIMIT, 200,
            "RATE_LIMIT_PER_MINUTE, counted by the gateway itself")

    # Another address, while the hammering ones are still refused: its login, recovery and pages answer as usual.
    bystander = Visitor(web, "203.0.113.40")
    fine = [(await login_of(bystander, unknown_identifier)()).status_code,
            (await bystander.post("/api/v1/recovery/identifier", recovery_body("identifier"))).status_code,
            (await bystander.get("/api/v1/csrf")).status_code]
    still = [(await recovering[0].post("/api/v1/recovery/identifier", recovery_body("identifier"))).status_code,
             (await crawler.get("/api/v1/csrf")).status_code]
    report.add("rate_limit_other_client_unaffected", 1.0 if fine == [401, 200, 200] and still == [429, 429] else 0.0,
               "bool", "1", f"another address: login {fine[0]}, recovery {fine[1]}, page {fine[2]}; meanwhile the "
               f"hammering ones get recovery {still[0]}, page {still[1]}")
    report.add("rate_limit_retry_after_present", 1.0 if retry_after and all(retry_after) else 0.0, "bool", "1",
               f"{sum(retry_after)} of {len(retry_after)} answers 429 carry Retry-After")
    report.add("rate_limit_unexpected_answers", sum(unexpected.values()), "answers", "0",
               ", ".join(f"{status} ×{n}" for status, n in unexpected.items()) or "only the expected and 429")
