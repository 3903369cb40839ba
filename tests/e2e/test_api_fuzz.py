"""Schemathesis against the gateway's own /openapi.json, with the real services behind it (tests/e2e/stack.py).

Every operation gets schema-conforming and schema-violating requests, each carrying the CSRF cookie and header;
none may answer 5xx, and every 4xx must be the API's error shape. The console operations are fuzzed a second time
with an ASL's session. Examples are derandomized, so a run is repeatable (the fuzzing itself: api_fuzzing.py)."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testing.processes import NatsServer

from .api_fuzzing import WITH_SESSION, error_shape_problem, fuzz_gateway
from .stack import Stack, running_stack


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    # Every request comes from 127.0.0.1: lift the gateway's per-address limit (the services keep their own).
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1000000")
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def test_no_generated_request_gets_a_5xx_and_every_4xx_has_the_error_shape(stack: Stack) -> None:
    operations, sent, more, problems = await fuzz_gateway(stack)
    assert len(operations) >= 25, [o.label for o in operations]
    # the console: users (list, create), one user (read, change), its nine actions, audit events, the second-factor
    # policy; the session: 5 (who am I, the password, the second step with a code or a passkey's options and answer);
    # my second factors: 8 (the app, codes, and a passkey's options, answer and removal); my sessions: 3 (list, end
    # one, end the others)
    assert len([o for o in operations if WITH_SESSION.match(o.path)]) == 31, [o.label for o in operations]
    assert not problems, "\n".join(problems)
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
