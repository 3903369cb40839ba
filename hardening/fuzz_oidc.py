"""``python -m hardening fuzz_oidc``: generated requests to every OpenID Connect endpoint of the gateway (ARCHITECTURE
§14) with hypothesis — the protocol's parameters drawn from real values (a live code, tokens, client ids, the
registered redirect URI, the PKCE pair) and from garbage (long, empty, control and non-ASCII text, repeated
parameters, unknown ones), with or without the portal session, HTTP Basic credentials right, wrong or malformed,
bearer tokens, and every content type. Target: no 5xx. The gRPC calls behind them are fuzzed too (hardening/fuzz.py
covers OidcProviderService with the other services)."""
from __future__ import annotations

import asyncio
import base64
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from bench.report import Report
from hardening.fuzz import ENVIRONMENT, environment
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.journeys import onboarded_company
from tests.e2e.oidc_apps import CALLBACK, LOGGED_OUT, answer_to, pkce_pair, register
from tests.e2e.stack import Stack, running_stack

QUICK_PER_ENDPOINT, FULL_PER_ENDPOINT = 25, 400
ENDPOINTS = [("GET", "/.well-known/openid-configuration"), ("GET", "/oidc/jwks"), ("GET", "/oidc/authorize"),
             ("POST", "/oidc/authorize"),
             ("POST", "/oidc/token"), ("GET", "/oidc/userinfo"), ("POST", "/oidc/userinfo"),
             ("POST", "/oidc/introspect"), ("POST", "/oidc/revoke"), ("GET", "/oidc/logout"),
             ("POST", "/oidc/logout")]
NAMES = ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
         "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "portal_bounced",
         "portal_login_after", "grant_type", "code", "code_verifier", "refresh_token", "token", "token_type_hint",
         "client_assertion_type", "client_assertion", "client_secret", "id_token_hint", "post_logout_redirect_uri",
         "csrf_token", "lang", "decision"]
GARBAGE = st.one_of(st.text(max_size=60), st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
                    st.sampled_from(["", " ", "\x00", "é" * 5000, "a" * 9000, "%00", "../../etc/passwd", "-1",
                                     "99999999999999999999", "openid openid", "none login", "S256", "plain",
                                     "authorization_code", "refresh_token", "code", "token id_token"]))


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def seeds(stack: Stack) -> dict[str, list[str]]:
    """Real values the generated requests draw from, so that they reach past the first check."""
    _, asl = await onboarded_company(stack)
    app, public = await register(stack), await register(stack, auth_method="none")
    verifier, challenge = pkce_pair()
    codes = [(await answer_to(asl.browser, app.authorization()[0]))["code"] for _ in range(3)]
    url, _, _, real_verifier = app.authorization()
    code = (await answer_to(asl.browser, url))["code"]
    tokens = (await stack.web.post("/oidc/token", auth=(app.client_id, app.secret), data=dict(
        grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=real_verifier))).json()
    values = {
        "client_id": [app.client_id, public.client_id], "redirect_uri": [CALLBACK], "code": codes,
        "code_verifier": [verifier, real_verifier], "code_challenge": [challenge], "response_type": ["code"],
        "code_challenge_method": ["S256"], "scope": ["openid", "openid profile email"], "prompt": ["none", "login"],
        "max_age": ["0", "60"], "grant_type": ["authorization_code", "refresh_token"],
        "refresh_token": [tokens["refresh_token"]], "token": [tokens["access_token"], tokens["refresh_token"]],
        "id_token_hint": [tokens["id_token"]], "post_logout_redirect_uri": [LOGGED_OUT],
        "csrf_token": [asl.browser.cookies["__Host-portal_csrf"]], "decision": ["allow", "deny"]}
    values["authorization"] = [basic(app.client_id, app.secret), basic(public.client_id, "x"), "Basic !!!",
                               "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
                               f"Bearer {tokens['access_token']}", f"Bearer {tokens['id_token']}", "Bearer x",
                               "Bearer", ""]
    values["cookie"] = ["; ".join(f"{k}={v}" for k, v in asl.browser.cookies.items()), ""]
    return values


def requests(known: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(GARBAGE, *(st.sampled_from(v) for v in known.values() if v))
    pairs = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=20)), value), max_size=12)
    kinds = st.sampled_from(["form", "json", "multipart", "none", "bad-content-type"])
    return st.fixed_dictionaries({"endpoint": st.sampled_from(ENDPOINTS), "pairs": pairs, "kind": kinds,
                                  "authorization": st.sampled_from(known["authorization"]),
                                  "cookie": st.sampled_from(known["cookie"])})


def send(http: httpx.Client, case: dict[str, Any]) -> int:
    method, path = case["endpoint"]
    headers = {k: v for k in ("authorization", "cookie") if (v := case[k])}
    pairs = [(k, v) for k, v in case["pairs"]]
    if method == "GET":
        return http.get(path, params=pairs, headers=headers).status_code
    kind = case["kind"]
    if kind == "form":  # a parameter may come twice: encoded by hand
        return http.post(path, content=str(httpx.QueryParams(pairs)), headers={
            **headers, "content-type": "application/x-www-form-urlencoded"}).status_code
    if kind == "json":
        return http.post(path, json=dict(pairs), headers=headers).status_code
    if kind == "multipart":
        return http.post(path, files={k or "f": (None, v) for k, v in pairs} or {"f": (None, "")},
                         headers=headers).status_code
    if kind == "bad-content-type":
        return http.post(path, content=b"\x00\xff" * 10, headers={**headers, "content-type": "text/plain"}).status_code
    return http.post(path, headers=headers).status_code


def fuzz(base_url: str, known: dict[str, list[str]], examples: int, seed_value: int | None
         ) -> tuple[Counter[tuple[str, int]], list[str]]:
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        @settings(max_examples=examples, deadline=None, derandomize=seed_value is None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(requests(known))
        def case(drawn: dict[str, Any]) -> None:
            status = send(http, drawn)
            statuses[(f"{drawn['endpoint'][0]} {drawn['endpoint'][1]}", status)] += 1
            if status >= 500:
                failures.append(f"{status}: {drawn}"[:1500])

        (seed(seed_value)(case) if seed_value is not None else case)()
    return statuses, failures


async def run(report: Report, *, quick: bool = False) -> None:
    per_endpoint = QUICK_PER_ENDPOINT if quick else FULL_PER_ENDPOINT
    with tempfile.TemporaryDirectory() as tmp, environment(ENVIRONMENT):
        server = NatsServer(Path(tmp) / "nats", users=nats_users()).start()
        try:
            async with running_stack(Path(tmp) / "stack", server) as stack:
                known = await seeds(stack)
                seed_value = None if quick else random.randrange(2**32)  # quick: derandomized
                statuses, failures = await asyncio.to_thread(fuzz, str(stack.web.base_url), known,
                                                             per_endpoint * len(ENDPOINTS), seed_value)
                alive = (await stack.web.get("/.well-known/openid-configuration")).status_code == 200
        finally:
            server.stop()
    by_endpoint = Counter[str]()
    for (endpoint, _), n in statuses.items():
        by_endpoint[endpoint] += n
    codes = Counter(status for (_, status), n in statuses.items() for _ in range(n))
    report.add("fuzz_oidc_requests", sum(statuses.values()), "requests", f">= {per_endpoint * len(ENDPOINTS)}",
               "; ".join(f"{e} {n}" for e, n in sorted(by_endpoint.items())) + "; statuses "
               + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    report.add("fuzz_oidc_endpoints_covered", len(by_endpoint), "endpoints", f"{len(ENDPOINTS)}")
    report.add("fuzz_oidc_5xx", len(failures), "responses", "0", "\n".join(failures[:3]))
    report.add("fuzz_oidc_provider_serving_at_end", int(alive), "", "1")
