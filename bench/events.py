"""Event backbone figures: outbox relay throughput and commit → consumer latency, SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from google.protobuf.wrappers_pb2 import StringValue

from bench.report import Report, percentile
from kit.db import Database
from kit.messaging.consumer import EventConsumer, Subscription
from kit.messaging.envelope import EventContext
from kit.messaging.outbox import OutboxRelay
from testing.fleet import nats_users
from testing.notes import NotesUnitOfWork, migrated_database
from testing.processes import NatsServer, PostgresCluster

THROUGHPUT_EVENTS = 20_000
LATENCY_RATE = 200  # events per second
LATENCY_SECONDS = 10


async def raw_publish_rate(js: object, n: int = 20_000) -> float:
    """Baseline: JetStream acks per second for pipelined publishes, no database involved."""
    subject = f"cofor.bench.raw.{uuid.uuid4().hex}"
    payload = StringValue(value="x" * 40).SerializeToString()
    started = time.perf_counter()
    for start in range(0, n, 500):
        futures = [await js.publish_async(subject, payload, headers={"Nats-Msg-Id": str(uuid.uuid4())})  # type: ignore[attr-defined]
                   for _ in range(min(500, n - start))]
        await asyncio.gather(*futures)
    return n / (time.perf_counter() - started)


async def relay_throughput(db: Database, js: object) -> float:
    subject = f"cofor.bench.relay.{uuid.uuid4().hex}"
    for start in range(0, THROUGHPUT_EVENTS, 1000):
        async with NotesUnitOfWork(db) as uow:
            for i in range(start, start + 1000):
                uow.add_note(str(i), subject)
            await uow.commit()
    relay = OutboxRelay(db, batch_size=1000)
    started = time.perf_counter()
    total = 0
    while (sent := await relay.publish_batch(js)):  # type: ignore[arg-type]
        total += sent
    elapsed = time.perf_counter() - started
    assert total == THROUGHPUT_EVENTS, total
    return total / elapsed


async def commit_to_consumer_latency(producer_db: Database, consumer_db: Database, js: object) -> list[float]:
    subject = f"cofor.bench.latency.{uuid.uuid4().hex}"
    latencies: list[float] = []
    committed_at: dict[str, float] = {}

    async def record(event: StringValue, ctx: EventContext, uow: NotesUnitOfWork) -> None:
        latencies.append(time.perf_counter() - committed_at[event.value])

    stop = asyncio.Event()
    relay = OutboxRelay(producer_db, poll_seconds=1.0)
    consumer = EventConsumer(durable=f"bench-{uuid.uuid4().hex[:8]}", stream="COFOR",
                             subscriptions=[Subscription(subject, StringValue, record)],
                             unit_of_work=lambda: NotesUnitOfWork(consumer_db))
    tasks = [asyncio.create_task(relay.run(js, stop)), asyncio.create_task(consumer.run(js, stop))]  # type: ignore[arg-type]
    await asyncio.sleep(0.5)
    total = LATENCY_RATE * LATENCY_SECONDS
    interval = 1 / LATENCY_RATE
    start = time.perf_counter()
    for i in range(total):
        target = start + i * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        key = str(i)
        async with NotesUnitOfWork(producer_db) as uow:
            uow.add_note(key, subject)
            await uow.commit()
            # Stamped as the commit returns: the relay it woke cannot run before this line yields.
            committed_at[key] = time.perf_counter()
    deadline = time.perf_counter() + 30
    while len(latencies) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    if len(latencies) < total:
        raise RuntimeError(f"only {len(latencies)} of {total} events arrived")
    return latencies


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = NatsServer(root / "nats", users=nats_users()).start()
        cluster = PostgresCluster(durable=True).start()
        try:
            nc = await server.connect()  # the test administrator (the baseline reads and purges)
            js = nc.jetstream()
            raw = await raw_publish_rate(js)
            report.add("jetstream_raw_publish", raw, "msgs/s", "baseline", "pipelined publish_async, same server")
            for kind in ("sqlite", "postgresql"):
                def url(name: str, kind: str = kind) -> str:
                    if kind == "sqlite":
                        return f"sqlite+aiosqlite:///{root / f'{name}.sqlite3'}"
                    return cluster.create_database(name)

                db = await migrated_database(url("throughput"))
                rate = await relay_throughput(db, js)
                await db.dispose()
                report.add(f"outbox_relay_throughput_{kind}", rate, "events/s", ">= 5000",
                           f"{rate / raw:.2f} x raw JetStream publish")
                producer, consumer = await migrated_database(url("producer")), await migrated_database(url("consumer"))
                lat = await commit_to_consumer_latency(producer, consumer, js)
                await producer.dispose()
                await consumer.dispose()
                report.add(f"commit_to_consumer_p50_{kind}", percentile(lat, 50) * 1000, "ms", "(p99 <= 50)",
                           f"{LATENCY_RATE} events/s for {LATENCY_SECONDS}s")
                report.add(f"commit_to_consumer_p99_{kind}", percentile(lat, 99) * 1000, "ms", "<= 50")
            await nc.close()
        finally:
            cluster.destroy()
            server.stop()
