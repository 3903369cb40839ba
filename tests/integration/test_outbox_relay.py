"""Outbox + relay against a real JetStream server, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import func, select

from kit.db import Database
from kit.messaging.outbox import OutboxRelay
from kit.messaging.tables import OutboxMessage
from testing.notes import NotesUnitOfWork, count_notes, migrated_database
from testing.processes import NatsServer, PostgresCluster


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await migrated_database(database_url)
    yield database
    await database.dispose()


async def jetstream(server: NatsServer, user: str = "cofor") -> Any:
    # cofor's own credential: the relay publishes cofor's events into the stream cofor owns. (Reading the stream
    # back with a consumer of the test's own takes the test administrator.)
    nc = await server.connect(user, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    return nc, js


async def stream_count(js: Any, subject: str) -> int:
    info = await js.stream_info("COFOR", subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def pending_rows(db: Database) -> int:
    async with db.session(readonly=True) as s, s.begin():
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.published_at.is_(None))) or 0)


async def eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_committed_change_publishes_exactly_once_and_rollback_publishes_nothing(
        db: Database, nats_server: NatsServer) -> None:
    nc, js = await jetstream(nats_server)
    committed, rolled_back = f"cofor.test.{uuid.uuid4().hex}", f"cofor.test.{uuid.uuid4().hex}"
    async with NotesUnitOfWork(db) as uow:
        uow.add_note("kept", committed)
        await uow.commit()
    async with NotesUnitOfWork(db) as uow:
        uow.add_note("dropped", rolled_back)
        # no commit: leaving the block rolls back
    async with NotesUnitOfWork(db) as uow:
        uow.add_note("failed", rolled_back)
        with pytest.raises(ZeroDivisionError):
            1 / 0  # noqa: B018 - an error before commit
    relay = OutboxRelay(db, poll_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(js, stop))
    await eventually(lambda: _is(pending_rows(db), 0))
    # Give the relay a few more rounds to prove it does not publish twice.
    await asyncio.sleep(0.3)
    stop.set()
    await task
    assert await stream_count(js, committed) == 1
    assert await stream_count(js, rolled_back) == 0
    assert await count_notes(db, "kept") == 1
    assert await count_notes(db, "dropped") == 0 and await count_notes(db, "failed") == 0
    await nc.close()


async def _is(awaitable: Any, expected: Any) -> bool:
    return bool(await awaitable == expected)


async def test_event_committed_while_nats_is_down_is_published_when_it_returns(
        db: Database, private_nats: NatsServer) -> None:
    nc, js = await jetstream(private_nats)
    private_nats.kill()
    subject = f"cofor.test.{uuid.uuid4().hex}"
    relay = OutboxRelay(db, poll_seconds=0.05, publish_timeout=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(js, stop))
    async with NotesUnitOfWork(db) as uow:
        for i in range(20):
            uow.add_note(f"while-down-{i}", subject)
        await uow.commit()  # the change commits although NATS is away
    await asyncio.sleep(1.0)
    assert await pending_rows(db) == 20  # nothing lost, nothing marked
    private_nats.start()
    await eventually(lambda: _is(pending_rows(db), 0), timeout=20)
    stop.set()
    await task
    assert await stream_count(js, subject) == 20
    await nc.close()


async def test_relay_killed_between_publish_and_mark_leaves_one_copy(
        db: Database, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    nc, js = await jetstream(nats_server)
    subject = f"cofor.test.{uuid.uuid4().hex}"
    async with NotesUnitOfWork(db) as uow:
        for i in range(10):
            uow.add_note(f"crash-{i}", subject)
        await uow.commit()

    crashing = OutboxRelay(db)

    async def crash(*_: Any) -> None:
        raise SystemExit("relay process died before marking rows sent")

    monkeypatch.setattr(crashing, "_mark", crash)
    with pytest.raises(SystemExit):
        await crashing.publish_batch(js)  # PostgreSQL marks in the claiming transaction...
        await crashing.flush_marks()  # ...SQLite in bulk afterwards: either way the process dies first
    assert await stream_count(js, subject) == 10  # published...
    assert await pending_rows(db) == 10  # ...but not marked

    restarted = OutboxRelay(db)  # a new process: publishes the same rows again
    assert await restarted.publish_batch(js) == 10
    await restarted.flush_marks()
    assert await pending_rows(db) == 0
    assert await stream_count(js, subject) == 10  # JetStream dropped the duplicates (Nats-Msg-Id)
    await nc.close()


async def test_relay_publishes_in_commit_order(db: Database, nats_server: NatsServer) -> None:
    nc, js = await jetstream(nats_server, "admin")
    subject = f"cofor.test.{uuid.uuid4().hex}"
    for i in range(30):
        async with NotesUnitOfWork(db) as uow:
            uow.add_note(str(i), subject)
            await uow.commit()
    relay = OutboxRelay(db, batch_size=7)
    while await relay.publish_batch(js):
        pass
    sub = await js.subscribe(subject, ordered_consumer=True)
    values = []
    for _ in range(30):
        msg = await sub.next_msg(timeout=5)
        values.append(StringValue.FromString(msg.data).value)
    assert values == [str(i) for i in range(30)]
    await nc.close()


async def test_relays_in_several_replicas_share_the_outbox_without_publishing_twice(
        postgres: PostgresCluster, nats_server: NatsServer) -> None:
    """PostgreSQL only (a SQLite file has one process, so one relay): SKIP LOCKED hands each row to one relay."""
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    dbs = [await migrated_database(url) for _ in range(3)]  # three "replicas", one database
    nc, js = await jetstream(nats_server)
    subject = f"cofor.test.{uuid.uuid4().hex}"
    relays = [OutboxRelay(db, batch_size=50) for db in dbs]
    writes = 0

    async def write(db: Database) -> None:
        nonlocal writes
        for i in range(20):
            async with NotesUnitOfWork(db) as uow:
                for k in range(10):
                    uow.add_note(f"{i}-{k}", subject)
                await uow.commit()
                writes += 10

    async def drain(relay: OutboxRelay, stop: asyncio.Event) -> None:
        while not stop.is_set() or await pending_rows(relay._db):
            await relay.publish_batch(js)
            await asyncio.sleep(0)

    stop = asyncio.Event()
    draining = [asyncio.create_task(drain(r, stop)) for r in relays]
    await asyncio.gather(*(write(db) for db in dbs))
    stop.set()
    await asyncio.gather(*draining)
    assert sum(r.published_total for r in relays) == writes == 600  # no row published by two relays
    assert all(r.published_total > 0 for r in relays)  # and they really shared the work
    assert await stream_count(js, subject) == 600
    for db in dbs:
        await db.dispose()
    await nc.close()
