"""The brute-force suite's rate limits at the gateway (hardening/brute_force.py): each form hammered from one client
address behind the ingress, forged X-Forwarded-For included, and another client meanwhile."""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx

from bench.report import Report
from hardening.brute_force_lockout import CONFIGURED

from gateway.settings import GatewaySettings

GATEWAY_LIMIT = GatewaySettings().rate_limit_per_minute  # every request, pages and API alike
CONCURRENCY = 16  # requests in flight per hammered form


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
    # "Ask my company's ASL for an account" from one address, a new e-mail each time: only the per-client count refuses.
    newcomer, request_limit = Visitor(web, "203.0.113.23"), c.account_request_limit_per_client_per_hour
    allowed("account_request", await hammer(lambda: newcomer.post("/api/v1/account-requests", {
        "cofor": "ZZZZZZ", "given_name": "Nina", "family_name": "Nouvelle", "job_title": "Buyer",
        "email": f"who.{uuid.uuid4().hex[:8]}@nowhere.example"}), request_limit + 10), request_limit, 200,
        "ACCOUNT_REQUEST_LIMIT_PER_CLIENT_PER_HOUR")
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
