"""OpenID Connect figures (ARCHITECTURE §14): code exchanges and introspections per CPU-second of the servers that
answer them (the gateway and identity processes together), each beside a bare FastAPI endpoint under uvicorn
measured in the same run with the same client load; ID-token verifications per CPU-second in a client (joserfc
checking signature and claims against the JWKS), for comparison."""
from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import insert

from bench.identity import seed
from bench.load import closed_loop
from bench.report import Report
from bench.servers import cpu_seconds, spawn
from kit.db import Database
from testing.fleet import nats_users
from testing.processes import NatsServer, free_port, wait_for_port

from identity.adapters.orm import oidc_clients

TOKEN = "bench-gateway-token"
SECRET = "bench-client-secret-of-32-characters-or-more"
CALLBACK = "https://quality.bench.example/callback"
VERIFIER = "v" * 43
EXCHANGES, INTROSPECTIONS, BARE = 300, 600, 1200


async def _register(url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    db = Database(url)
    async with db.write_transaction() as s:
        await s.execute(insert(oidc_clients).values(
            client_id="bench", name="Bench", auth_method="client_secret_basic",
            secret_digest=hashlib.sha256(SECRET.encode()).digest(), jwks={}, redirect_uris=[CALLBACK],
            post_logout_redirect_uris=[], scopes=["openid", "profile", "email"], backchannel_logout_uri="",
            created_at=now, updated_at=now))
    await db.dispose()


def _servers(root: Path, url: str, nats: NatsServer) -> tuple[list[subprocess.Popen[bytes]], str]:
    """identity and the gateway, as processes, and the gateway's address."""
    grpc_port, http_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{http_port}"
    identity = spawn(["-m", "identity"], {
        "DATABASE_URL": url, "GRPC_PORT": str(grpc_port), **nats.environment("identity"), "METRICS_PORT": "0",
        "SERVICE_CREDENTIALS": f"gateway:public:{TOKEN}", "LOG_LEVEL": "WARNING", "OIDC_ISSUER": issuer},
        root / "identity.log")
    gateway = spawn(["-m", "gateway"], {
        "SERVICE_TOKEN": TOKEN, "IDENTITY_TARGET": f"127.0.0.1:{grpc_port}", "GATEWAY_PORT": str(http_port),
        "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "1000000"}, root / "gateway.log")
    wait_for_port(http_port, timeout=30)
    wait_for_port(grpc_port, timeout=30)
    return [identity, gateway], issuer


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        url = f"sqlite+aiosqlite:///{root / 'oidc.sqlite3'}"
        sessions = await seed(url, 1_000, session_count=50)
        await _register(url)
        servers, issuer = _servers(root, url, nats)
        bare_port = free_port()
        bare = spawn(["-m", "bench.bare_http", str(bare_port)], {}, root / "bare.log")
        wait_for_port(bare_port, timeout=30)
        try:
            figures = await _measure(issuer, [s.pid for s in servers], bare_port, bare.pid, sessions)
        finally:
            for process in [*servers, bare]:
                process.terminate()
                process.wait(15)
            nats.stop()
    exchange, introspection, bare_rate, verified, split = figures
    report.add("http_bare_fastapi_requests_per_cpu_second", bare_rate, "requests/cpu-s", "baseline",
               "a trivial FastAPI POST under uvicorn, same client load")
    report.add("oidc_code_exchanges_per_cpu_second", exchange, "exchanges/cpu-s", "(report)",
               "POST /oidc/token (authorization_code, PKCE, client_secret_basic): gateway + identity CPU")
    report.add("oidc_code_exchange_vs_bare_http", exchange / bare_rate, "x bare", ">= 0.5",
               "two ES256 signatures, one write transaction (code, chain, refresh token, audit row)")
    report.add("oidc_introspections_per_cpu_second", introspection, "introspections/cpu-s", "(report)",
               "POST /oidc/introspect of a live access token: gateway + identity CPU")
    report.add("oidc_introspection_vs_bare_http", introspection / bare_rate, "x bare", ">= 0.5",
               "client authentication, ES256 verification, the session's grant and liveness")
    for step, (identity_ms, gateway_ms) in split.items():
        report.add(f"oidc_{step}_cpu_ms_identity_gateway", identity_ms, "ms/request", "(report)",
                   f"identity {identity_ms:.1f} ms + gateway {gateway_ms:.1f} ms of CPU per request")
    report.add("oidc_id_token_verifications_per_cpu_second", verified, "verifies/cpu-s", "(report)",
               "in a client: joserfc, signature and claims against the JWKS")


async def _measure(issuer: str, pids: list[int], bare_port: int, bare_pid: int,
                   sessions: list[str]) -> tuple[float, float, float, float, dict[str, list[float]]]:
    challenge = create_s256_code_challenge(VERIFIER)
    query = dict(client_id="bench", redirect_uri=CALLBACK, response_type="code", scope="openid profile email",
                 code_challenge=challenge, code_challenge_method="S256")
    async with httpx.AsyncClient(base_url=issuer, timeout=30) as web:
        codes = []
        for i in range(EXCHANGES + 20):  # made before the clock starts: what is measured is the exchange
            answer = await web.get("/oidc/authorize", params=query, headers={
                "cookie": f"__Host-portal_session={sessions[i % len(sessions)]}"})
            codes.append(parse_qs(urlsplit(answer.headers["location"]).query)["code"][0])

        tokens: list[dict[str, str]] = []

        async def exchange(i: int) -> None:
            reply = await web.post("/oidc/token", auth=("bench", SECRET), data=dict(
                grant_type="authorization_code", code=codes[i], redirect_uri=CALLBACK, code_verifier=VERIFIER))
            assert reply.status_code == 200, reply.text
            tokens.append(reply.json())

        await closed_loop(lambda i: exchange(EXCHANGES + i), 20, 4)  # warm-up
        before = [cpu_seconds(p) for p in pids]
        await closed_loop(exchange, EXCHANGES, 4)
        spent = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
        exchanges, split = EXCHANGES / sum(spent), {"exchange": [s * 1000 / EXCHANGES for s in spent]}

        async def introspect(i: int) -> None:
            reply = await web.post("/oidc/introspect", auth=("bench", SECRET),
                                   data={"token": tokens[i % len(tokens)]["access_token"]})
            assert reply.status_code == 200 and reply.json()["active"], reply.text
        await closed_loop(introspect, 20, 4)
        before = [cpu_seconds(p) for p in pids]
        await closed_loop(introspect, INTROSPECTIONS, 4)
        spent = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
        introspections = INTROSPECTIONS / sum(spent)
        split["introspection"] = [s * 1000 / INTROSPECTIONS for s in spent]
        keys = KeySet.import_key_set((await web.get("/oidc/jwks")).json())

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bare_port}", timeout=30) as bare:
        async def post(i: int) -> None:
            assert (await bare.post("/bare", data={"token": "x" * 300})).status_code == 200
        await closed_loop(post, 50, 4)
        bare_before = cpu_seconds(bare_pid)
        await closed_loop(post, BARE, 4)
        bare_rate = BARE / (cpu_seconds(bare_pid) - bare_before)

    id_tokens = [t["id_token"] for t in tokens]
    registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, aud={"essential": True,
                                                                                   "value": "bench"})
    started = time.process_time()
    for token in id_tokens * 3:
        registry.validate(jwt.decode(token, keys, algorithms=["ES256"]).claims)
    verified = len(id_tokens) * 3 / (time.process_time() - started)
    return exchanges, introspections, bare_rate, verified, split
