"""Durable consumer + inbox against a real JetStream server, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import select

from kit.db import Database
from kit.messaging import envelope
from kit.messaging.consumer import EventConsumer, Subscription
from kit.messaging.envelope import EventContext
from kit.messaging.tables import DeadLetter
from testing.notes import NotesUnitOfWork, copy_note, count_notes, migrated_database
from testing.processes import NatsServer

from .test_outbox_relay import eventually


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await migrated_database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[Any]:
    nc = await nats_server.connect()  # the test administrator: these consumers have test names
    js = nc.jetstream()
    yield js
    await nc.close()


def consumer(db: Database, subject: str, handler: Any = copy_note, **kwargs: Any) -> EventConsumer:
    return EventConsumer(durable=f"test-{uuid.uuid4().hex[:10]}", stream="COFOR",
                         subscriptions=[Subscription(subject, StringValue, handler)],
                         unit_of_work=lambda: NotesUnitOfWork(db), **kwargs)


async def publish(js: Any, subject: str, value: str | bytes, event_id: str | None = None) -> str:
    event_id = event_id or str(uuid.uuid4())
    data = value if isinstance(value, bytes) else StringValue(value=value).SerializeToString()
    await js.publish(subject, data, headers={envelope.MSG_ID: event_id, envelope.CORRELATION_ID: "c-1"})
    return event_id


async def running(c: EventConsumer, js: Any) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    return stop, asyncio.create_task(c.run(js, stop))


async def dead_letters(db: Database, durable: str) -> list[DeadLetter]:
    async with db.session(readonly=True) as s, s.begin():
        return list((await s.scalars(select(DeadLetter).where(DeadLetter.consumer == durable))).all())


async def test_events_are_applied_in_one_transaction_with_their_inbox_entry(db: Database, js: Any) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"
    c = consumer(db, subject)
    for i in range(5):
        await publish(js, subject, f"e{i}")
    stop, task = await running(c, js)
    await eventually(lambda: _eq(count_notes(db), 5))
    stop.set()
    await task
    assert await count_notes(db, "copy:e3") == 1
    assert c.applied_total == 5


async def test_a_redelivered_event_is_applied_once(db: Database, js: Any) -> None:
    """The effect commits but the process dies before the ack: JetStream redelivers; the inbox absorbs it."""
    subject = f"cofor.test.{uuid.uuid4().hex}"
    c = consumer(db, subject, ack_wait=1.0)
    original_handle = c.handle
    seen: list[int] = []

    async def handle_but_lose_first_ack(msg: Any) -> None:
        seen.append(msg.metadata.num_delivered)
        if msg.metadata.num_delivered == 1:
            async def lost_ack() -> None:  # the crash: no ack reaches the server
                return None
            msg.ack = lost_ack
        await original_handle(msg)

    c.handle = handle_but_lose_first_ack  # type: ignore[method-assign]
    await publish(js, subject, "once")
    stop, task = await running(c, js)
    await eventually(lambda: _true(len(seen) >= 2), timeout=15)
    await asyncio.sleep(1.5)  # acked now: no third delivery may come
    stop.set()
    await task
    assert seen == [1, 2]
    assert await count_notes(db, "copy:once") == 1
    assert c.applied_total == 1


async def test_a_poison_message_is_dead_lettered_not_looped(db: Database, js: Any) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"
    c = consumer(db, subject)
    event_id = await publish(js, subject, b"\xff\xff\xff\xff")  # not a StringValue
    await publish(js, subject, "after-poison")  # the stream keeps flowing behind it
    stop, task = await running(c, js)
    await eventually(lambda: _eq(count_notes(db, "copy:after-poison"), 1))
    await eventually(lambda: _true_async_len(dead_letters(db, c.durable), 1))
    stop.set()
    await task
    [letter] = await dead_letters(db, c.durable)
    assert letter.event_id == event_id and "undecodable" in letter.error and letter.deliveries == 1


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(db: Database, js: Any) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"
    attempts: list[int] = []

    async def always_fails(event: StringValue, ctx: EventContext, uow: NotesUnitOfWork) -> None:
        attempts.append(ctx.delivery)
        await copy_note(event, ctx, uow)  # rolled back with the failure below
        raise RuntimeError("downstream broken")

    c = consumer(db, subject, handler=always_fails, max_deliver=3, backoff=(0.05, 0.1))
    event_id = await publish(js, subject, "doomed")
    stop, task = await running(c, js)
    await eventually(lambda: _true_async_len(dead_letters(db, c.durable), 1))
    await asyncio.sleep(0.5)  # terminated: no further delivery
    stop.set()
    await task
    assert attempts == [1, 2, 3]
    [letter] = await dead_letters(db, c.durable)
    assert letter.event_id == event_id and letter.deliveries == 3 and "downstream broken" in letter.error
    assert await count_notes(db) == 0


async def test_a_transient_failure_recovers_on_redelivery(db: Database, js: Any) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"
    calls: list[int] = []

    async def flaky(event: StringValue, ctx: EventContext, uow: NotesUnitOfWork) -> None:
        calls.append(ctx.delivery)
        await copy_note(event, ctx, uow)
        if ctx.delivery < 2:
            raise ConnectionError("database hiccup")  # the note written above rolls back with it

    c = consumer(db, subject, handler=flaky, backoff=(0.05,))
    await publish(js, subject, "flaky")
    stop, task = await running(c, js)
    await eventually(lambda: _eq(count_notes(db, "copy:flaky"), 1))
    stop.set()
    await task
    assert calls == [1, 2] and await dead_letters(db, c.durable) == []


async def _eq(awaitable: Any, expected: Any) -> bool:
    return bool(await awaitable == expected)


async def _true(value: bool) -> bool:
    return value


async def _true_async_len(awaitable: Any, n: int) -> bool:
    return len(await awaitable) == n


async def test_a_backlog_is_applied_in_one_transaction_and_one_bad_event_spoils_nothing(
        db: Database, js: Any) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"

    async def fails_on_seven(event: StringValue, ctx: EventContext, uow: NotesUnitOfWork) -> None:
        await copy_note(event, ctx, uow)
        if event.value == "e7":
            raise RuntimeError("bad event")

    c = consumer(db, subject, handler=fails_on_seven, max_deliver=2, backoff=(0.05,))
    for i in range(20):
        await publish(js, subject, f"e{i}")  # a backlog before the consumer starts: fetched as one batch
    stop, task = await running(c, js)
    await eventually(lambda: _true_async_len(dead_letters(db, c.durable), 1))
    await asyncio.sleep(0.3)
    stop.set()
    await task
    assert await count_notes(db) == 19  # the failed batch left nothing behind; the retry applied each once
    assert await count_notes(db, "copy:e7") == 0 and await count_notes(db, "copy:e19") == 1
    assert c.applied_total == 19
