"""The brute-force suite's passkeys (hardening/brute_force.py, ARCHITECTURE §15): the ASL adds a passkey (a software
key, user verified); one answer to a login challenge is sent 20 times at once over both identity processes on one
PostgreSQL database; a used answer is replayed later on the other process; a cloned key (its signature counter
behind) and an answer made for another site are tried. What must hold: one session from one answer, nothing else."""
from __future__ import annotations

import asyncio
from collections import Counter

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from portal.identity.v1 import passkeys_pb2 as pk

from bench.report import Report
from hardening.brute_force_lockout import META, STRONG, answer
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY
from testing.authenticator import Authenticator
from testing.passkey import SoftPasskey

ORIGIN = "http://localhost:8080"  # identity's default WEBAUTHN_ORIGINS
AT_ONCE = 20


def _bearer(token: str) -> list[tuple[str, str]]:
    return [*META, (AUTHORIZATION_KEY, f"Bearer {token}")]


async def _answer(stub: api_grpc.IdentityServiceAsyncStub, key: SoftPasskey, origin: str = ORIGIN) -> str:
    options = await stub.BeginPasskeyLogin(pk.BeginPasskeyLoginRequest(), metadata=META)
    return key.get_json(options.options_json, origin)


async def _login(stub: api_grpc.IdentityServiceAsyncStub, credential: str, n: int = 0) -> tuple[str, str, str]:
    return await answer(stub.PasskeyLogin(pk.PasskeyLoginRequest(credential_json=credential), timeout=60,
                                          metadata=[*META, (CLIENT_ADDRESS_KEY, f"198.51.100.{n % 250}")]))


async def passkey_replays(report: Report, stubs: list[api_grpc.IdentityServiceAsyncStub], identifier: str,
                          app: Authenticator) -> None:
    pending = await stubs[0].Login(api.LoginRequest(identifier=identifier, password=STRONG), metadata=META)
    done = await stubs[0].VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=pb.SECOND_FACTOR_KIND_TOTP, code=await app.next_code(identifier)), metadata=_bearer(pending.session_token))
    key = SoftPasskey()
    options = await stubs[0].BeginPasskeyEnrolment(pk.BeginPasskeyEnrolmentRequest(),
                                                   metadata=_bearer(done.session_token))
    await stubs[0].FinishPasskeyEnrolment(pk.FinishPasskeyEnrolmentRequest(
        credential_json=key.create_json(options.options_json, ORIGIN), name="hardening"),
        metadata=_bearer(done.session_token))

    once = await _answer(stubs[0], key)
    at_once = await asyncio.gather(*(_login(stubs[n % 2], once, n) for n in range(AT_ONCE)))
    later = await _login(stubs[1], once)
    key.sign_count -= 1  # a clone that never saw the last signature
    cloned = await _login(stubs[1], await _answer(stubs[1], key))
    key.sign_count += 1
    phished = await _login(stubs[0], await _answer(stubs[0], key, "https://portal-login.example"))
    fresh = await _login(stubs[1], await _answer(stubs[1], key, ORIGIN))

    report.add("passkey_answers_accepted_at_once", sum(a[0] == "OK" for a in at_once), "sessions", "1",
               f"one login answer sent {AT_ONCE} times at once, half to each of 2 identity processes on one "
               "PostgreSQL; answers " + ", ".join(f"{r or c} ×{n}" for (c, r, _), n in Counter(at_once).items()))
    refused = [later, cloned, phished]
    report.add("passkey_replays_accepted", sum(a[0] == "OK" for a in refused), "sessions", "0",
               f"the used answer later on the other process: {later[1]}; a cloned key (counter behind): "
               f"{cloned[1]}; an answer made for another site: {phished[1]}")
    report.add("passkey_fresh_answer_accepted", 1.0 if fresh[0] == "OK" else 0.0, "bool", "1",
               f"the same key's next answer, for the portal: {fresh[0]}")
