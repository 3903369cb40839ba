"""cofor figures with 100,000 suppliers: ValidateCofor per server CPU-second (vs a bare grpc.aio server),
latency at 32 concurrent calls, BatchValidateCofor of 1,000 codes."""
from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import cofor_service_pb2_grpc as api_grpc
from sqlalchemy import insert

from bench.load import closed_loop
from bench.report import Report
from bench.servers import BARE_SERVICE, cpu_seconds, spawn, wait_serving
from kit import migrations
from kit.auth import SERVICE_TOKEN_KEY
from kit.db import Database
from testing.fleet import nats_users
from testing.processes import NatsServer, free_port

from cofor.adapters.orm import sites, suppliers
from cofor.bootstrap import MIGRATIONS
from cofor.domain.codes import random_root

SUPPLIERS = 100_000
CALLS = 20_000
CONCURRENCY = 32
TOKEN = "bench-erp"


async def seed(url: str) -> list[str]:
    await migrations.upgrade(url, MIGRATIONS)
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    roots = list({random_root() for _ in range(int(SUPPLIERS * 1.01))})[:SUPPLIERS]
    async with db.write_transaction() as session:
        for start in range(0, SUPPLIERS, 5000):
            chunk = roots[start:start + 5000]
            await session.execute(insert(suppliers), [dict(
                cofor_root=r, legal_name=f"Supplier {r}", duns=f"{100000000 + i + start}", country_code="FR",
                presentation_id="seed", status="ACTIVE", status_reason="", head_office_site_code="01",
                access_state="OPEN", suspension_cause="", access_request_id="", administrators=[],
                administrators_revision=0, created_at=now, updated_at=now) for i, r in enumerate(chunk)])
            await session.execute(insert(sites), [dict(
                cofor_root=r, site_code="01", name=f"Supplier {r}", is_head_office=True, address_lines=[],
                postal_code="", city="", address_country="", created_at=now) for r in chunk])
    await db.dispose()
    return roots


async def measure(pid: int, target: str, call_factory) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(target) as channel:
        call = call_factory(channel)
        await closed_loop(call, 500, CONCURRENCY)  # warm-up
        before = cpu_seconds(pid)
        result = await closed_loop(call, CALLS, CONCURRENCY)
        used = cpu_seconds(pid) - before
    return CALLS / used, result


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite+aiosqlite:///{root / 'cofor.sqlite3'}"
        roots = await seed(url)
        nats = NatsServer(root / "nats", users=nats_users()).start()
        cofor_port, bare_port = free_port(), free_port()
        cofor = spawn(["-m", "cofor"], {"DATABASE_URL": url, "GRPC_PORT": str(cofor_port), **nats.environment("cofor"),
                                        "SERVICE_CREDENTIALS": f"erp:internal:{TOKEN}", "LOG_LEVEL": "WARNING",
                                        "METRICS_PORT": "0"}, root / "cofor.log")
        bare = spawn(["-m", "bench.servers", str(bare_port)], {}, root / "bare.log")
        try:
            await wait_serving(f"127.0.0.1:{cofor_port}")
            await wait_serving(f"127.0.0.1:{bare_port}")
            metadata = [(SERVICE_TOKEN_KEY, TOKEN)]

            def bare_call(channel: grpc.aio.Channel):  # type: ignore[no-untyped-def]
                echo = channel.unary_unary(f"/{BARE_SERVICE}/Echo", request_serializer=StringValue.SerializeToString,
                                           response_deserializer=StringValue.FromString)
                request = StringValue(value="12345A")
                return lambda i: echo(request, timeout=10)

            def validate_call(channel: grpc.aio.Channel):  # type: ignore[no-untyped-def]
                stub = api_grpc.CoforServiceStub(channel)
                return lambda i: stub.ValidateCofor(api.ValidateCoforRequest(cofor=roots[(i * 7919) % len(roots)]),
                                                    metadata=metadata, timeout=10)

            bare_rate, _ = await measure(bare.pid, f"127.0.0.1:{bare_port}", bare_call)
            rate, result = await measure(cofor.pid, f"127.0.0.1:{cofor_port}", validate_call)
            report.add("grpc_bare_rpcs_per_cpu_second", bare_rate, "rpcs/cpu-s", "baseline")
            report.add("cofor_validate_rpcs_per_cpu_second", rate, "rpcs/cpu-s", ">= 0.65 x bare",
                       f"{rate / bare_rate:.2f} x bare; {SUPPLIERS} suppliers, SQLite")
            report.add("cofor_validate_p50_at_32", result.p50_ms, "ms", "(report)", f"{CONCURRENCY} concurrent")  # type: ignore[attr-defined]
            report.add("cofor_validate_p99_at_32", result.p99_ms, "ms", "(report)")  # type: ignore[attr-defined]

            async with grpc.aio.insecure_channel(f"127.0.0.1:{cofor_port}") as channel:
                stub = api_grpc.CoforServiceStub(channel)
                rng = random.Random(7)

                async def batch(i: int) -> object:
                    codes = [rng.choice(roots) if k % 10 else "bad!" for k in range(1000)]
                    return await stub.BatchValidateCofor(api.BatchValidateCoforRequest(cofors=codes),
                                                         metadata=metadata, timeout=30)

                await closed_loop(batch, 5, 1)
                batches = await closed_loop(batch, 100, 1)
            report.add("cofor_batch_validate_1000_p50", batches.p50_ms, "ms", "(p99 <= 50)")
            report.add("cofor_batch_validate_1000_p99", batches.p99_ms, "ms", "<= 50")
        finally:
            for process in (cofor, bare):
                process.terminate()
                process.wait(10)
            nats.stop()
