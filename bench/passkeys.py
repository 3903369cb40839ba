"""Passkey figures (ARCHITECTURE §15): WebAuthn assertion verifications per CPU-second (py_webauthn, in this
process), and sign-ins with a passkey alone per CPU-second of an identity process (BeginPasskeyLogin then
PasskeyLogin; the software key signs in this process, as a phone would), both beside raw argon2 verifications
per CPU-second measured in the same run, and beside that process's password logins."""
from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import grpc
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from portal.identity.v1 import passkeys_pb2 as pk
from sqlalchemy import insert

from bench.identity import META, PASSWORD, identifiers, raw_argon2_per_cpu_second, seed, start_identity
from bench.load import closed_loop
from bench.report import Report
from bench.servers import cpu_seconds
from kit.db import Database
from testing.fleet import nats_users
from testing.passkey import SoftPasskey
from testing.processes import NatsServer

from identity.adapters.orm import passkeys, second_factors
from identity.adapters.webauthn_ceremony import (
    RelyingParty,
    authentication_options,
    registration_options,
    verify_assertion,
    verify_registration,
)

ORIGIN = "http://localhost:8080"  # identity's default WEBAUTHN_ORIGINS
RP = RelyingParty("localhost", "Bench", (ORIGIN,))
KEYS = 230


def registered(identifier: str) -> tuple[SoftPasskey, dict[str, object]]:
    """A software key registered through the real ceremony (in this process), and its passkeys row."""
    key, handle = SoftPasskey(), identifier.encode()
    options, challenge = registration_options(RP, user_name=identifier, display_name=identifier, user_handle=handle,
                                              exclude=[])
    done = verify_registration(RP, json.loads(key.create_json(options, ORIGIN)), challenge)
    now = dt.datetime.now(dt.UTC)
    return key, dict(credential_id=done.credential_id, identifier=identifier, public_key=done.public_key,
                     sign_count=done.sign_count, name="bench", user_handle=handle, created_at=now, last_used_at=None)


def verifications_per_cpu_second(n: int = 400) -> float:
    key, row = registered("V000000")
    answers = []
    for _ in range(n):  # signed before the clock starts: what is measured is the portal's check
        options, challenge = authentication_options(RP, [])
        answers.append((json.loads(key.get_json(options, ORIGIN)), challenge))
    count, started = 0, time.process_time()
    for answer, challenge in answers:
        count = verify_assertion(RP, answer, challenge, row["public_key"], count)  # type: ignore[arg-type]
    return n / (time.process_time() - started)


async def run(report: Report) -> None:
    raw = raw_argon2_per_cpu_second()
    report.add("argon2_raw_verify_per_cpu_second", raw, "verifies/cpu-s", "baseline",
               "argon2id 7 MiB, t=5, p=1 (Keycloak's default)")
    checks = verifications_per_cpu_second()
    report.add("passkey_assertion_verifications_per_cpu_second", checks, "verifies/cpu-s", "(report)",
               f"{checks / raw:.0f} x raw argon2: py_webauthn's whole check of one answer (ES256)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        url = f"sqlite+aiosqlite:///{root / 'passkeys.sqlite3'}"
        await seed(url, 1_000)
        idents, others = identifiers(1_000, 1_000)[:KEYS], identifiers(1_000, 1_000)[KEYS:]  # others: no passkey
        keys, rows = zip(*(registered(i) for i in idents), strict=True)
        db = Database(url)
        async with db.write_transaction() as s:
            await s.execute(insert(passkeys), list(rows))
            await s.execute(insert(second_factors), [dict(
                identifier=i, kind="PASSKEY", secret_sealed=None, confirmed_at=r["created_at"], failed_attempts=0,
                last_step=0, created_at=r["created_at"]) for i, r in zip(idents, rows, strict=True)])
        await db.dispose()
        process, target = await start_identity(root, url, nats, "passkeys")
        try:
            async with grpc.aio.insecure_channel(target) as channel:
                stub = api_grpc.IdentityServiceStub(channel)

                async def passkey_login(i: int) -> object:
                    options = await stub.BeginPasskeyLogin(pk.BeginPasskeyLoginRequest(), metadata=META, timeout=30)
                    return await stub.PasskeyLogin(pk.PasskeyLoginRequest(
                        credential_json=keys[i].get_json(options.options_json, ORIGIN)), metadata=META, timeout=30)

                async def password_login(i: int) -> object:
                    return await stub.Login(api.LoginRequest(identifier=others[i], password=PASSWORD),
                                            metadata=META, timeout=30)

                per_cpu = {}
                for name, login, total in (("passkey", passkey_login, 200), ("password", password_login, 100)):
                    await closed_loop(lambda i, login=login: login(KEYS - 10 + i), 10, 4)  # type: ignore[misc]
                    before = cpu_seconds(process.pid)
                    await closed_loop(login, total, 4)
                    per_cpu[name] = total / (cpu_seconds(process.pid) - before)
        finally:
            process.terminate()
            process.wait(15)
            nats.stop()
    report.add("identity_passkey_logins_per_cpu_second", per_cpu["passkey"], "logins/cpu-s", "(report)",
               f"{per_cpu['passkey'] / raw:.1f} x raw argon2; {per_cpu['passkey'] / per_cpu['password']:.1f} x this "
               f"process's password logins ({per_cpu['password']:.1f}/cpu-s): BeginPasskeyLogin + PasskeyLogin")
