"""ASL console figures (ARCHITECTURE §7, issue 16): the console page's p95 for a company of 5,000 accounts — its
first page, a search by name, a page deep in the list — each beside the same page of a 50-account company served
by the same processes in the same run (a large supplier must not wait for its size)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from bench.load import closed_loop
from bench.report import Report, percentile
from bench.servers import spawn
from kit import migrations
from kit.db import Database
from testing.fleet import nats_users
from testing.processes import NatsServer, free_port, wait_for_port

from identity.adapters.orm import accounts, companies, second_factors, sessions
from identity.bootstrap import MIGRATIONS

TOKEN = "bench-gateway-token"
LARGE, SMALL, REQUESTS = 5_000, 50, 200
COMPANIES = {"LARGE1": LARGE, "SMALL1": SMALL}


async def _seed(url: str) -> dict[str, str]:
    """Both companies, their accounts (names spread over the alphabet) and one ASL session each (by COFOR)."""
    await migrations.upgrade(url, MIGRATIONS)
    now = dt.datetime.now(dt.UTC)
    db, tokens, number = Database(url), {}, 0
    async with db.write_transaction() as s:
        for root, count in COMPANIES.items():
            await s.execute(insert(companies), [dict(cofor_root=root, legal_name=f"Bench {root}",
                                                     supplier_active=True, access_open=True,
                                                     administrators_revision=0, updated_at=now)])
            rows: list[dict[str, object]] = [dict(
                identifier=f"V{number + i:06d}", cofor_root=root, given_name=f"Given{i % 97}",
                family_name=f"{chr(65 + i % 26)}amily{i}", email=f"u{i}.{root}@bench.example", phone="",
                job_title="", language="fr", is_administrator=i == 0, state="BLOCKED" if i % 10 == 9 else "ACTIVE",
                disabled_cause="", lock_cause="", failed_attempts=0, password_hash="-", must_change_password=False,
                password_history=[], created_by="bench", created_at=now, updated_at=now) for i in range(count)]
            await s.execute(insert(accounts), rows)
            tokens[root] = f"bench-console-{root}"
            await s.execute(insert(sessions), [dict(
                token_digest=hashlib.sha256(tokens[root].encode()).digest(), identifier=f"V{number:06d}",
                must_change_password=False, created_at=now, expires_at=now + dt.timedelta(hours=12),
                idle_expires_at=now + dt.timedelta(hours=11), amr="pwd otp")])
            await s.execute(insert(second_factors), [dict(  # an ASL always has its app (never used here)
                identifier=f"V{number:06d}", kind="TOTP", secret_sealed=b"-", confirmed_at=now, failed_attempts=0,
                last_step=0, created_at=now)])
            number += count
    await db.dispose()
    return tokens


def _servers(root: Path, url: str, nats: NatsServer) -> tuple[list[subprocess.Popen[bytes]], str]:
    grpc_port, http_port = free_port(), free_port()
    identity = spawn(["-m", "identity"], {
        "DATABASE_URL": url, "GRPC_PORT": str(grpc_port), **nats.environment("identity"), "METRICS_PORT": "0",
        "SERVICE_CREDENTIALS": f"gateway:public:{TOKEN}", "LOG_LEVEL": "WARNING"}, root / "identity.log")
    gateway = spawn(["-m", "gateway"], {
        "SERVICE_TOKEN": TOKEN, "IDENTITY_TARGET": f"127.0.0.1:{grpc_port}", "GATEWAY_PORT": str(http_port),
        "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "1000000"}, root / "gateway.log")
    wait_for_port(grpc_port, timeout=30)
    wait_for_port(http_port, timeout=30)
    return [identity, gateway], f"http://127.0.0.1:{http_port}"


async def _p95s(web: httpx.AsyncClient, large: tuple[str, str], small: tuple[str, str]) -> tuple[float, float]:
    """p95 (ms) of a large company's page and of a small company's, asked in turn in one closed loop so that the
    machine's noise falls on both alike. Each is (session token, path)."""
    latencies: dict[int, list[float]] = {0: [], 1: []}

    async def get(i: int) -> None:
        token, path = (large, small)[i % 2]
        started = time.perf_counter()
        reply = await web.get(path, headers={"cookie": f"__Host-portal_session={token}"})
        latencies[i % 2].append(time.perf_counter() - started)
        assert reply.status_code == 200 and 'id="users"' in reply.text, (path, reply.status_code, reply.text[:300])
    await closed_loop(get, 20, 4)  # warm-up
    latencies = {0: [], 1: []}
    await closed_loop(get, 2 * REQUESTS, 4)
    return percentile(latencies[0], 95) * 1000, percentile(latencies[1], 95) * 1000


async def _deep_page(web: httpx.AsyncClient, token: str, hops: int) -> str:
    """The address of the page ``hops`` "next" links into the list."""
    path = "/fr/admin"
    for _ in range(hops):
        found = re.search(r'href="([^"]+)" id="next-page"', (await web.get(path, headers={
            "cookie": f"__Host-portal_session={token}"})).text)
        assert found is not None, path
        path = found.group(1).replace("&amp;", "&")
    return path


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        url = f"sqlite+aiosqlite:///{root / 'console.sqlite3'}"
        tokens = await _seed(url)
        servers, base = _servers(root, url, nats)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as web:
                large, small = tokens["LARGE1"], tokens["SMALL1"]
                full = (small, "/fr/admin")  # a full page of 50 rows: the same rendering work
                deep = await _deep_page(web, large, 60)  # the 61st page of 50: accounts 3,001 to 3,050
                figures = {
                    "first_page": await _p95s(web, (large, "/fr/admin"), full),
                    "page_61": await _p95s(web, (large, deep), full),
                    # one account found by a word: every name of the company scanned, one row shown
                    "search": await _p95s(web, (large, "/fr/admin?q=amily4999"), (small, "/fr/admin?q=amily49")),
                }
        finally:
            for process in servers:
                process.terminate()
                process.wait(15)
            nats.stop()
    for name, (large_ms, small_ms) in figures.items():
        report.add(f"console_{name}_p95_{LARGE}_accounts", large_ms, "ms", "(report)",
                   f"GET of the console's {name.replace('_', ' ')}, 4 concurrent, gateway + identity on SQLite")
        report.add(f"console_{name}_p95_vs_{SMALL}_accounts", large_ms / small_ms, "x small", "<= 1.5",
                   f"the same page for a {SMALL}-account company, asked in turn: {small_ms:.1f} ms")
