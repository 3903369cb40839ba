"""Schemathesis against the gateway's own /openapi.json, with the real services behind it (tests/e2e/stack.py).

Every operation gets schema-conforming and schema-violating requests, each carrying the CSRF cookie and header;
the console operations are fuzzed a second time with an ASL's session. Used by tests/e2e/test_api_fuzz.py (a
derandomized sample) and by the hardening suite ``fuzz`` (more examples, random)."""
from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from .journeys import onboarded_company
from .stack import Stack

CSRF = "__Host-portal_csrf"
SESSION = "__Host-portal_session"
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
# With a session: the ASL console and the session itself. Logging out would only end the fuzzing session early.
WITH_SESSION = re.compile(
    r"^/api/v1/(users|audit-events|session$|session:verify|password:change|second-factor|sessions)")


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


def fuzz(base_url: str, operations: list[Any], cookies: dict[str, str], *,
         examples: dict[GenerationMode, int] = EXAMPLES, derandomize: bool = True,
         seed_value: int | None = None) -> tuple[Counter[tuple[str, int]], list[str]]:
    """Runs in a worker thread (blocking HTTP) while the stack serves from the test's event loop. Returns the
    count of each (operation, status) and the problems found (a 5xx, or a 4xx without the error shape)."""
    problems: list[str] = []
    sent: Counter[tuple[str, int]] = Counter()
    headers = {"X-CSRF-Token": cookies[CSRF]}
    for operation in operations:
        for mode, count in examples.items():
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=count, deadline=None, derandomize=derandomize, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, cookies=cookies, timeout=30)
                status = response.status_code
                sent[operation.label, status] += 1  # noqa: B023  (run runs before the loop moves on)
                problem = f"answered {status}" if status >= 500 else \
                    error_shape_problem(status, response.text) if status >= 400 else ""
                if problem:
                    request = response.request
                    problems.append(f"{operation.label} [{mode.value}]: {problem}\n  request: {request.method} "  # noqa: B023
                                    f"{request.url}\n  body: {request.body!r:.500}\n  response: {response.text:.500}")
            try:
                (seed(seed_value)(run) if seed_value is not None else run)()
            except Unsatisfiable:  # nothing of the operation can violate its schema (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    return sent, problems


async def fuzz_gateway(stack: Stack, *, examples: dict[GenerationMode, int] = EXAMPLES, derandomize: bool = True,
                       seed_value: int | None = None
                       ) -> tuple[list[Any], Counter[tuple[str, int]], Counter[tuple[str, int]], list[str]]:
    """Every operation anonymously, then the console operations as an ASL. Returns the operations, the
    (operation, status) counts of each pass and the problems found."""
    spec = (await stack.web.get("/openapi.json")).json()
    operations = []
    for result in schemathesis.openapi.from_dict(spec).get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    base_url = str(stack.web.base_url).rstrip("/")

    # The ASL first: the anonymous pass spends the per-address limits (terms acceptance) that onboarding needs.
    _, asl = await onboarded_company(stack)
    anonymous = stack.browser()
    await anonymous.get("/api/v1/csrf")
    sent, problems = await asyncio.to_thread(fuzz, base_url, operations, {CSRF: anonymous.cookies[CSRF]},
                                             examples=examples, derandomize=derandomize, seed_value=seed_value)
    console = sorted((o for o in operations if WITH_SESSION.match(o.path)),
                     key=lambda o: o.path == "/api/v1/password:change")  # last: it may end the session
    more, found = await asyncio.to_thread(fuzz, base_url, console, {CSRF: asl.browser.cookies[CSRF],
                                                                    SESSION: asl.browser.cookies[SESSION]},
                                          examples=examples, derandomize=derandomize, seed_value=seed_value)
    return operations, sent, more, problems + found
