"""Schemathesis against the gateway's own /openapi.json, with the real services behind it (tests/e2e/stack.py).

Every operation gets schema-conforming and schema-violating requests, each carrying the CSRF cookie and header;
none may answer 5xx, and every 4xx must be the API's error shape. The console operations are fuzzed a second time
with an ASL's session. Examples are derandomized, so a run is repeatable."""
from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from schemathesis import GenerationMode

from kit.testing.processes import NatsServer

from .stack import Browser, Stack, running_stack

CSRF = "__Host-portal_csrf"
SESSION = "__Host-portal_session"
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
ASL_PASSWORD = "Les sapins de Gérardmer brillent sous la neige"
# With a session: the ASL console and the session itself. Logging out would only end the fuzzing session early.
WITH_SESSION = re.compile(r"^/api/v1/(users|audit-events|session$|password:change)")


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    # Every request comes from 127.0.0.1: lift the gateway's per-address limit (the services keep their own).
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1000000")
    async with running_stack(tmp_path, nats_server) as s:
        yield s


def error_shape_problem(status: int, text: str) -> str:
    """'' when a 4xx body is {"error": {"code", "reason", "message", "field_violations": [...]}}."""
    try:
        body = json.loads(text)
    except ValueError:
        return "not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no error object"
    missing = {"code", "reason", "message", "field_violations"} - error.keys()
    if missing:
        return f"missing {sorted(missing)}"
    if not all(isinstance(error[k], str) for k in ("code", "reason", "message")) or not error["code"]:
        return "code, reason and message must be strings (code not empty)"
    violations = error["field_violations"]
    if not isinstance(violations, list) or not all(
            isinstance(v, dict) and {"field", "description", "reason"} <= v.keys() for v in violations):
        return "field_violations must be a list of {field, description, reason}"
    return ""


def fuzz(base_url: str, operations: list[Any], cookies: dict[str, str]) -> tuple[Counter[tuple[str, int]], list[str]]:
    """Runs in a worker thread (blocking HTTP) while the stack serves from the test's event loop. Returns the
    count of each (operation, status) and the problems found."""
    problems: list[str] = []
    sent: Counter[tuple[str, int]] = Counter()
    headers = {"X-CSRF-Token": cookies[CSRF]}
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, cookies=cookies, timeout=30)
                status = response.status_code
                sent[operation.label, status] += 1
                problem = f"answered {status}" if status >= 500 else \
                    error_shape_problem(status, response.text) if status >= 400 else ""
                if problem:
                    request = response.request
                    problems.append(f"{operation.label} [{mode.value}]: {problem}\n  request: {request.method} "
                                    f"{request.url}\n  body: {request.body!r:.500}\n  response: {response.text:.500}")
            try:
                run()
            except Unsatisfiable:  # nothing of the operation can violate its schema (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    return sent, problems


async def asl_session(stack: Stack) -> Browser:
    """A referenced supplier with its access OPEN and its ASL logged in, past the temporary password."""
    visitor = stack.browser()
    started = await visitor.post("/api/v1/presentations", json={
        "duns": str(random.randrange(10**8, 10**9)), "email": f"presenter.{uuid.uuid4().hex[:8]}@supplier.example",
        "legal_name": "Forges de Lorraine"})
    file_id = started.json()["presentation"]["presentation_id"]
    await visitor.patch(f"/api/v1/presentations/{file_id}", json={
        "national_registration_number": "552100554", "tax_number": "FR40303265045", "country_code": "FR",
        "legal_existence_proof_ref": "kbis.pdf",
        "head_office_address": {"lines": ["1 rue des Forges"], "postal_code": "57000", "city": "Metz",
                                "country_code": "FR"}})
    assert (await visitor.post(f"/api/v1/presentations/{file_id}:submit")).status_code == 200
    root = (await stack.cofor.ReferenceSupplier(cofor_api.ReferenceSupplierRequest(
        presentation_id=file_id))).supplier.cofor_root
    signatory, asl_email = f"sign.{root}@supplier.example", f"asl.{root}@supplier.example"
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    requested = await visitor.post("/api/v1/access-requests", json={
        "cofor": root, "signatory": {"given_name": "Claire", "family_name": "Martin", "email": signatory, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": asl_email, **contact}})
    assert requested.status_code == 200, requested.text
    token = stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(signatory))
    version = (await visitor.get(f"/api/v1/terms?token={token}")).json()["terms_version"]
    assert (await visitor.post("/api/v1/terms:accept", json={"acceptance_token": token,
                                                             "terms_version": version})).status_code == 200
    await stack.mail(asl_email, count=2)
    mails = [m.message.get_content() for m in stack.sink.received if asl_email in m.rcpt_tos]
    identifier = next(m.group(1) for body in mails if (m := re.search(r"\b(V\d{6})\b", body)))
    temporary = next(m.group(1) for body in mails if (m := re.search(r"^\s*([A-Za-z2-9]{20})\s*$", body, re.M)))
    for _ in range(100):  # access opens when cofor hears identity's AdministratorCreated
        outcome = (await visitor.post("/api/v1/access:analyze", json={"cofor": root})).json()["outcome"]
        if outcome == "ANALYSIS_OUTCOME_ACCESS_OPEN":
            break
        await asyncio.sleep(0.1)
    asl = stack.browser()
    assert (await asl.post("/api/v1/session:login", json={"identifier": identifier,
                                                          "password": temporary})).status_code == 200
    changed = await asl.post("/api/v1/password:change", json={"current_password": temporary,
                                                              "new_password": ASL_PASSWORD})
    assert changed.status_code == 200, changed.text
    return asl


async def test_no_generated_request_gets_a_5xx_and_every_4xx_has_the_error_shape(stack: Stack) -> None:
    spec = (await stack.web.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [o.label for o in operations]
    base_url = str(stack.web.base_url).rstrip("/")

    anonymous = stack.browser()
    await anonymous.get("/api/v1/csrf")
    sent, problems = await asyncio.to_thread(fuzz, base_url, operations, {CSRF: anonymous.cookies[CSRF]})

    asl = await asl_session(stack)
    console = sorted((o for o in operations if WITH_SESSION.match(o.path)),
                     key=lambda o: o.path == "/api/v1/password:change")  # last: it may end the session
    assert len(console) == 8, [o.label for o in console]
    more, found = await asyncio.to_thread(fuzz, base_url, console, {CSRF: asl.cookies[CSRF],
                                                                    SESSION: asl.cookies[SESSION]})
    assert not problems + found, "\n".join(problems + found)
    assert sum(sent.values()) + sum(more.values()) >= 600
    assert sent["GET /api/v1/users", 401] and not sent["GET /api/v1/users", 200]
    assert more["GET /api/v1/users", 200]  # the second pass really went through as the ASL
    # (wrong current passwords in POST /password:change, fuzzed last, count toward the ASL's lockout)


async def test_what_the_fuzzer_found_stays_fixed(stack: Stack) -> None:
    visitor = stack.browser()
    # A token that cannot travel in gRPC metadata (control or non-ASCII characters) counts as no token: no 500.
    for token in ("%01", "%C3%A9t%C3%A9"):
        reply = await visitor.get(f"/api/v1/presentations/{uuid.uuid4()}?token={token}")
        assert reply.status_code == 401 and not error_shape_problem(401, reply.text), reply.text
    # A body that is not JSON, an unknown method: the API's error shape, not FastAPI's {"detail": ...}.
    garbled = await visitor.post("/api/v1/access:analyze", content=b"\xcc",
                                 headers={"content-type": "application/json"})
    assert garbled.status_code == 400 and garbled.json()["error"]["reason"] == "INVALID_REQUEST", garbled.text
    wrong_method = await visitor.send("DELETE", "/api/v1/session")
    assert wrong_method.status_code == 405 and not error_shape_problem(405, wrong_method.text), wrong_method.text
    missing = await visitor.get("/fr/no-such-page")  # the pages keep their own answers
    assert missing.status_code == 404 and "error" not in missing.text
