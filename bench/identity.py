"""identity figures: logins per CPU-second vs raw argon2 (Keycloak's parameters), ValidateSession per
CPU-second vs a bare grpc.aio server, ValidateSession p99 under login saturation, and p50s at 1,000,000
accounts vs 1,000."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pyotp
from argon2 import PasswordHasher, Type
from google.protobuf.wrappers_pb2 import StringValue
from portal.identity.v1 import account_pb2 as account_pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from sqlalchemy import insert

from bench.load import closed_loop
from bench.report import Report, percentile
from bench.servers import BARE_SERVICE, cpu_seconds, spawn, wait_serving
from kit import migrations
from kit.auth import AUTHORIZATION_KEY, SERVICE_TOKEN_KEY
from kit.db import Database
from testing.fleet import nats_users
from testing.processes import NatsServer, free_port

from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.orm import accounts, companies, second_factors, sessions
from identity.bootstrap import MIGRATIONS

KEYCLOAK = {"memory_kib": 7168, "time_cost": 5, "parallelism": 1}
PASSWORD = "Les sapins de Gérardmer brillent sous la neige"
TOKEN = "bench-internal"
META = [(SERVICE_TOKEN_KEY, TOKEN)]


def raw_argon2_per_cpu_second(n: int = 60) -> float:
    ph = PasswordHasher(time_cost=KEYCLOAK["time_cost"], memory_cost=KEYCLOAK["memory_kib"], parallelism=1,
                        hash_len=32, salt_len=16, type=Type.ID)
    encoded = ph.hash(PASSWORD)
    started = time.process_time()
    for _ in range(n):
        ph.verify(encoded, PASSWORD)
    return n / (time.process_time() - started)


async def seed(url: str, count: int, session_count: int = 3000) -> list[str]:
    """``count`` accounts (one shared hash: hashing a million passwords is not what is measured) and sessions."""
    await migrations.upgrade(url, MIGRATIONS)
    ph = PasswordHasher(time_cost=KEYCLOAK["time_cost"], memory_cost=KEYCLOAK["memory_kib"], parallelism=1,
                        hash_len=32, salt_len=16, type=Type.ID)
    encoded = ph.hash(PASSWORD)
    now = dt.datetime.now(dt.UTC)
    db = Database(url)
    async with db.write_transaction() as s:
        await s.execute(insert(companies), [dict(cofor_root="BENCH1", legal_name="Bench", supplier_active=True,
                                                 access_open=True, administrators_revision=0, updated_at=now)])
        step = max(1, 1_000_000 // count)
        for start in range(0, count, 20_000):
            await s.execute(insert(accounts), [dict(
                identifier=f"V{i * step:06d}", cofor_root="BENCH1", given_name="Bench", family_name=f"User{i}",
                email=f"u{i}@bench.example", phone="", job_title="", language="fr", is_administrator=False,
                state="ACTIVE", disabled_cause="", lock_cause="", failed_attempts=0, password_hash=encoded,
                must_change_password=False, password_history=[], created_by="bench", created_at=now, updated_at=now)
                for i in range(start, min(start + 20_000, count))])
        tokens = [f"bench-session-{k}" for k in range(session_count)]
        await s.execute(insert(sessions), [dict(
            token_digest=hashlib.sha256(t.encode()).digest(), identifier=f"V{(k % count) * step:06d}",
            must_change_password=False, created_at=now, expires_at=now + dt.timedelta(hours=12),
            idle_expires_at=now + dt.timedelta(hours=11)) for k, t in enumerate(tokens)])
    await db.dispose()
    return tokens


def identifiers(count: int, n: int) -> list[str]:
    step = max(1, 1_000_000 // count)
    return [f"V{(i % count) * step:06d}" for i in range(n)]


async def start_identity(root: Path, url: str, nats: NatsServer, name: str):  # type: ignore[no-untyped-def]
    port = free_port()
    process = spawn(["-m", "identity"], {
        "DATABASE_URL": url, "GRPC_PORT": str(port), **nats.environment("identity"), "METRICS_PORT": "0",
        "SERVICE_CREDENTIALS": f"bench:internal:{TOKEN}", "LOG_LEVEL": "WARNING",
        "ARGON2_MEMORY_KIB": str(KEYCLOAK["memory_kib"]), "ARGON2_TIME_COST": str(KEYCLOAK["time_cost"]),
        "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE": "100000", "LOGIN_LIMIT_PER_CLIENT_PER_MINUTE": "100000"},
        root / f"{name}.log")
    await wait_serving(f"127.0.0.1:{port}")
    return process, f"127.0.0.1:{port}"


async def login_figures(report: Report, login: Callable[[int], Awaitable[object]], pid: int, raw: float) -> float:
    """Logins per CPU-second of the identity process (its hashing threads included), and that rate as a share of
    raw argon2 verifications: what is left is the work of a login outside the hash. Returns the rate."""
    await closed_loop(login, 10, 4)
    before = cpu_seconds(pid)
    logins = await closed_loop(login, 200, 4)
    per_cpu = 200 / (cpu_seconds(pid) - before)
    report.add("identity_logins_per_cpu_second", per_cpu, "logins/cpu-s", ">= 0.8 x raw argon2",
               f"{per_cpu / raw:.2f} x raw; Keycloak publishes 15 logins/s per vCPU")
    report.add("identity_login_vs_raw_argon2", per_cpu / raw, "x raw", ">= 0.8",
               "logins per identity CPU-second / raw argon2 verifications per CPU-second")
    report.add("identity_login_p50_4_concurrent", logins.p50_ms, "ms", "(report)")
    return per_cpu


async def add_apps(url: str, idents: list[str]) -> str:
    """An authenticator app (one shared secret: what is measured is the login, not the enrolment) for ``idents``."""
    secret, now = pyotp.random_base32(32), dt.datetime.now(dt.UTC)
    sealed = FactorBox(DEVELOPMENT_KEY).seal(secret)
    db = Database(url)
    async with db.write_transaction() as s:
        await s.execute(insert(second_factors), [dict(
            identifier=i, kind="TOTP", secret_sealed=sealed, confirmed_at=now, failed_attempts=0, last_step=0,
            created_at=now) for i in idents])
    await db.dispose()
    return secret


async def factor_figures(report: Report, stub: api_grpc.IdentityServiceAsyncStub, url: str, pid: int,
                         password_only: float, raw: float) -> None:
    """Logins with password + app code per CPU-second of the identity process: the factor's share of a login."""
    idents = identifiers(1_000, 1_000)[:260]
    secret = await add_apps(url, idents)
    totp = pyotp.TOTP(secret)

    async def login(i: int) -> object:
        pending = await stub.Login(api.LoginRequest(identifier=idents[i], password=PASSWORD), metadata=META,
                                   timeout=30)
        return await stub.VerifySecondFactor(api.VerifySecondFactorRequest(
            kind=account_pb.SECOND_FACTOR_KIND_TOTP, code=totp.now()),
            metadata=[*META, (AUTHORIZATION_KEY, f"Bearer {pending.session_token}")], timeout=30)

    await closed_loop(lambda i: login(250 + i), 10, 4)
    before = cpu_seconds(pid)
    await closed_loop(login, 200, 4)
    per_cpu = 200 / (cpu_seconds(pid) - before)
    report.add("identity_logins_with_app_code_per_cpu_second", per_cpu, "logins/cpu-s", "(report)",
               f"{per_cpu / raw:.2f} x raw argon2; Login then VerifySecondFactor (TOTP)")
    report.add("identity_app_code_extra_cost", password_only / per_cpu - 1, "x", "< 0.10",
               "CPU of a login with password + app code over a password-only login, minus 1")


def _raw_baseline(report: Report) -> float:
    raw = raw_argon2_per_cpu_second()
    report.add("argon2_raw_verify_per_cpu_second", raw, "verifies/cpu-s", "baseline",
               "argon2id 7 MiB, t=5, p=1 (Keycloak's default)")
    return raw


async def run_login_only(report: Report) -> None:
    """Just the login figures (``python -m bench.identity login``): 1,000 accounts on SQLite."""
    raw = _raw_baseline(report)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        url = f"sqlite+aiosqlite:///{root / 'small.sqlite3'}"
        await seed(url, 1_000)
        process, target = await start_identity(root, url, nats, "small")
        try:
            async with grpc.aio.insecure_channel(target) as channel:
                stub = api_grpc.IdentityServiceStub(channel)
                ids = identifiers(1_000, 100_000)

                async def login(i: int) -> object:
                    return await stub.Login(api.LoginRequest(identifier=ids[i], password=PASSWORD), metadata=META,
                                            timeout=30)
                password_only = await login_figures(report, login, process.pid, raw)
                await factor_figures(report, stub, url, process.pid, password_only, raw)
        finally:
            process.terminate()
            process.wait(15)
            nats.stop()


async def run(report: Report) -> None:
    raw = _raw_baseline(report)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        bare_port = free_port()
        bare = spawn(["-m", "bench.servers", str(bare_port)], {}, root / "bare.log")
        processes = [bare]
        try:
            small_url = f"sqlite+aiosqlite:///{root / 'small.sqlite3'}"
            small_tokens = await seed(small_url, 1_000)
            process, target = await start_identity(root, small_url, nats, "small")
            processes.append(process)
            await wait_serving(f"127.0.0.1:{bare_port}")
            async with grpc.aio.insecure_channel(target) as channel, \
                    grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as bare_channel:
                stub = api_grpc.IdentityServiceStub(channel)
                ids = identifiers(1_000, 100_000)

                async def login(i: int) -> object:
                    return await stub.Login(api.LoginRequest(identifier=ids[i], password=PASSWORD), metadata=META,
                                            timeout=30)

                hot = small_tokens[:2000]  # sessions in use; the last 1,000 stay cold for the 1M-vs-1k comparison

                async def validate(i: int) -> object:
                    return await stub.ValidateSession(api.ValidateSessionRequest(
                        session_token=hot[i % len(hot)]), metadata=META, timeout=30)

                async def validate_cold(i: int) -> object:
                    return await stub.ValidateSession(api.ValidateSessionRequest(
                        session_token=small_tokens[2000 + i]), metadata=META, timeout=30)

                echo = bare_channel.unary_unary(f"/{BARE_SERVICE}/Echo",
                                                request_serializer=StringValue.SerializeToString,
                                                response_deserializer=StringValue.FromString)

                async def bare_call(i: int) -> object:
                    return await echo(StringValue(value="bench-session-token-xxxxxxxxxxxxxxxxxxxxx"), timeout=10)

                password_only = await login_figures(report, login, process.pid, raw)

                # ValidateSession per CPU-second, next to the bare server.
                await closed_loop(bare_call, 500, 32)
                before = cpu_seconds(bare.pid)
                await closed_loop(bare_call, 10_000, 32)
                bare_rate = 10_000 / (cpu_seconds(bare.pid) - before)
                await closed_loop(validate, 2000, 32)  # every session in use validated once: the steady state
                before = cpu_seconds(process.pid)
                await closed_loop(validate, 10_000, 32)
                validate_rate = 10_000 / (cpu_seconds(process.pid) - before)
                report.add("grpc_bare_rpcs_per_cpu_second", bare_rate, "rpcs/cpu-s", "baseline")
                report.add("identity_validate_session_per_cpu_second", validate_rate, "rpcs/cpu-s", ">= 0.65 x bare",
                           f"{validate_rate / bare_rate:.2f} x bare; sessions in use (cached, revocations broadcast)")

                # ValidateSession latency while logins saturate the hashing pool.
                stop = asyncio.Event()

                async def saturate(offset: int) -> None:
                    i = offset
                    while not stop.is_set():
                        await login(i)
                        i += 8  # each task its own accounts: one person's parallel logins are not the point

                saturating = [asyncio.create_task(saturate(k)) for k in range(8)]
                await asyncio.sleep(1)
                latencies = []
                for i in range(300):
                    started = time.perf_counter()
                    await validate(i)
                    latencies.append(time.perf_counter() - started)
                    await asyncio.sleep(0.01)
                stop.set()
                await asyncio.gather(*saturating)
                report.add("identity_validate_p99_under_login_load", percentile(latencies, 99) * 1000, "ms", "<= 25",
                           "8 concurrent logins hashing meanwhile")
                small_login = (await closed_loop(login, 100, 1)).p50_ms
                small_validate = (await closed_loop(validate_cold, 1000, 1)).p50_ms  # first check: the database path
                await factor_figures(report, stub, small_url, process.pid, password_only, raw)
            process.terminate()
            process.wait(15)

            big_url = f"sqlite+aiosqlite:///{root / 'big.sqlite3'}"
            big_tokens = await seed(big_url, 1_000_000)
            process, target = await start_identity(root, big_url, nats, "big")
            processes.append(process)
            async with grpc.aio.insecure_channel(target) as channel:
                stub = api_grpc.IdentityServiceStub(channel)
                ids = identifiers(1_000_000, 1_000)

                async def big_login(i: int) -> object:
                    return await stub.Login(api.LoginRequest(identifier=ids[(i * 7919) % len(ids)], password=PASSWORD),
                                            metadata=META, timeout=30)

                async def big_validate(i: int) -> object:
                    return await stub.ValidateSession(api.ValidateSessionRequest(
                        session_token=big_tokens[2000 + i]), metadata=META, timeout=30)

                await closed_loop(big_login, 10, 1)
                big_login_p50 = (await closed_loop(big_login, 100, 1)).p50_ms
                big_validate_p50 = (await closed_loop(big_validate, 1000, 1)).p50_ms
            report.add("identity_login_p50_1m_vs_1k", big_login_p50 / small_login, "x", "<= 1.25",
                       f"{big_login_p50:.1f} ms at 1,000,000 accounts vs {small_login:.1f} ms at 1,000")
            report.add("identity_validate_p50_1m_vs_1k", big_validate_p50 / small_validate, "x", "<= 1.25",
                       f"{big_validate_p50:.2f} ms vs {small_validate:.2f} ms (uncached: first check of a session)")
        finally:
            for p in processes:
                if p.poll() is None:
                    p.terminate()
                    p.wait(15)
            nats.stop()


if __name__ == "__main__" and sys.argv[1:] == ["login"]:
    only = Report("identity-login")
    asyncio.run(run_login_only(only))
    print(f"   saved {only.save()}", flush=True)
