"""Fuzzing: hypothesis-generated requests for every RPC of every service, and schemathesis on the gateway.

The three services run in this process on SQLite, with a real NATS server and SMTP sink (tests/e2e/stack.py),
seeded by a scenario made through the real APIs (portalctl's demo seeder): an onboarded supplier with OPEN access,
its ASL and a user logged in, a company whose terms are pending, a suspended one, submitted and started company
files, a ticket. Requests are built from the generated descriptors (testing/protofuzz.py) with values mixed from
hypothesis and from the scenario's data, so that they reach the code behind validation.

Checks: no INTERNAL, UNKNOWN or DATA_LOSS ever; health SERVING at the end; and a rejected call (any status but
OK) changes nothing: every table of the three databases is compared before and after it, the outbox included,
calls one at a time, the event flow settled before each. What a rejection may change by design is listed in
``ALLOWED_ON_REJECTION``. The full run also sends schemathesis' examples to the gateway of a fresh stack (no 5xx;
tests/e2e/api_fuzzing.py).

- fuzz_system.py: the services' channels and SQLite files, the scenario's actors, the tally, settling, snapshots;
- fuzz_scenario.py: the scenario, made through the real APIs and repaired when a request broke it;
- fuzz_cases.py: one generated case, its call and its checks;
- fuzz_state.py: ``ALLOWED_ON_REJECTION`` and the comparison of every table before and after a call.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from schemathesis import GenerationMode

from bench.report import Report
from hardening.fuzz_cases import Fuzzer
from hardening.fuzz_system import PACKAGES
from kit.app import ServiceApp
from testing import protofuzz
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.api_fuzzing import fuzz_gateway
from tests.e2e.stack import running_stack

FULL_CASES = 10_000
QUICK_CASES_PER_METHOD = 10  # inside make test: ~470 cases, derandomized
GATEWAY_EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 50}  # full run only

# Identity's rate limits are lifted so that generated logins and recoveries reach the code behind them
# (the limits have their own tests); lockout keeps its default, so blocking and unlocking are fuzzed too.
ENVIRONMENT = {"RATE_LIMIT_PER_MINUTE": "1000000", "LOGIN_LIMIT_PER_CLIENT_PER_MINUTE": "1000000",
               "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE": "1000000", "RECOVERY_LIMIT_PER_HOUR": "1000000",
               "RECOVERY_LIMIT_PER_CLIENT_PER_HOUR": "1000000", "ACCOUNT_REQUEST_LIMIT_PER_CLIENT_PER_HOUR": "1000000"}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def not_serving(apps: list[ServiceApp]) -> list[str]:
    """The services whose health check does not answer SERVING."""
    down = []
    for app in apps:
        async with grpc.aio.insecure_channel(app.target) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
                serving = reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.aio.AioRpcError:
                serving = False
        if not serving:
            down.append(app.settings.service_name)
    return down


async def run(report: Report, *, quick: bool = False) -> None:
    methods = protofuzz.service_methods(PACKAGES)
    examples = QUICK_CASES_PER_METHOD if quick else math.ceil(FULL_CASES / len(methods))
    seed_value = None if quick else random.randrange(2**32)  # quick: derandomized, the same cases every run
    print(f"   {examples} cases for each of {len(methods)} RPCs, hypothesis seed "
          f"{seed_value if seed_value is not None else '(derandomized)'}", flush=True)
    gateway = None
    with tempfile.TemporaryDirectory() as tmp, environment(ENVIRONMENT):
        root = Path(tmp)
        server = NatsServer(root / "nats", users=nats_users()).start()
        try:
            async with running_stack(root / "grpc", server) as stack:
                fuzzer = Fuzzer(stack, server)
                try:
                    await fuzzer.start()
                    started = time.perf_counter()
                    await fuzzer.fuzz(examples, quick, seed_value)
                    seconds = time.perf_counter() - started
                    await fuzzer.settle()
                    fuzzer.take_snapshots()
                    down = await not_serving(stack.apps)
                finally:
                    await fuzzer.stop()
            if not quick:  # a fresh stack: the limits the services count per client address start from zero
                async with running_stack(root / "gateway", server) as stack:
                    gateway = await fuzz_gateway(stack, examples=GATEWAY_EXAMPLES, derandomize=False,
                                                 seed_value=seed_value)
                    down += [f"{name} (after schemathesis)" for name in await not_serving(stack.apps)]
        finally:
            server.stop()
    o = fuzzer.outcome
    total = sum(o.cases.values())
    names = [f"{m.containing_service.name}.{m.name}" for m in methods]
    missing = [n for n in names if not o.cases[n]]
    statuses = ", ".join(f"{k} {v}" for k, v in o.statuses.most_common())
    report.add("fuzz_cases", total, "cases", ">= 300" if quick else f">= {FULL_CASES}",
               f"{examples} per method; {statuses}; seed {seed_value if seed_value is not None else 'derandomized'}")
    report.add("fuzz_methods_covered", len(names) - len(missing), "methods", f"{len(names)}",
               f"of {len(names)} RPCs in {', '.join(PACKAGES)}"
               + (f"; NO CASES: {', '.join(missing)}" if missing else ""))
    report.add("fuzz_methods_answered_ok", sum(1 for n in names if o.ok[n]), "methods", "(report)",
               "methods where at least one generated call succeeded (depth); none OK: "
               + (", ".join(n for n in names if not o.ok[n]) or "-"))
    report.add("fuzz_internal_errors", len(o.internal), "calls", "0", "\n".join(o.internal[:3])[:3000])
    report.add("fuzz_state_changes_on_rejection", len(o.state_changes), "calls", "0",
               "\n".join(o.state_changes[:5])[:3000])
    report.add("fuzz_dead_letters", fuzzer.dead_letters(), "events", "0", "events a consumer gave up on")
    report.add("fuzz_not_serving_at_end", len(down), "services", "0", ", ".join(down))
    report.add("fuzz_cases_per_second", total / seconds, "cases/s", "(report)",
               f"{seconds:.0f} s; scenario repairs {dict(o.repairs) or 'none'}; settle timeouts {o.settle_timeouts}")
    if gateway is not None:
        operations, sent, more, problems = gateway
        counts = sent + more
        fivexx = sum(n for (_, status), n in counts.items() if status >= 500)
        report.add("fuzz_gateway_5xx", fivexx, "responses", "0",
                   f"{sum(counts.values())} schemathesis requests on {len(operations)} operations; "
                   f"{len(problems)} problems" + (f": {problems[0][:1500]}" if problems else ""))
