"""Brute force. Lockout: two identity processes share one PostgreSQL database (the production multi-replica shape);
50 wrong guesses on one account, sent at once and spread over both, leave exactly LOCKOUT_THRESHOLD attempts counted,
the account BLOCKED with one lock event and one notice, and the right password then refused exactly like a wrong one.
Second factor: the same for 50 code guesses on a half-done login (exactly the factor's threshold checked, the
password's count untouched), a used code replayed on the other process refused, a reset password still asking
for the factor. Rate limits: behind the gateway (one trusted proxy, as deployed behind the ingress), hammering the
login and each recovery form from one client address lets through exactly the configured number of requests, then
429 with Retry-After; neither a forged X-Forwarded-For nor another client's traffic changes any count.

- brute_force_lockout.py: the guesses on one account and the lock they leave;
- brute_force_factor.py: the guesses on its second factor, a replayed code, a reset password;
- brute_force_rate_limits.py: the gateway's per-client, per-identifier and per-e-mail limits."""
from __future__ import annotations

import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import httpx
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc

from bench.report import Report
from hardening.brute_force_factor import second_factor
from hardening.brute_force_lockout import CONFIGURED as CONFIGURED  # re-exported: the test holds the figures to it
from hardening.brute_force_lockout import GUESSES as GUESSES
from hardening.brute_force_lockout import TOKEN, lockout, ready_account
from hardening.brute_force_rate_limits import GATEWAY_LIMIT as GATEWAY_LIMIT
from hardening.brute_force_rate_limits import rate_limits
from kit import migrations
from kit.db import Database
from kit.sealed import SealKeyPair
from testing.fleet import ServiceProcess, nats_users
from testing.processes import NatsServer, PostgresCluster
from testing.streams import wait_for

from identity.bootstrap import MIGRATIONS

CHEAP_ARGON2 = {"ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1"}  # quick: the behaviour, not the hashing cost


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
            await second_factor(report, nc.jetstream(), database, keys, stubs, identifier, email)
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
