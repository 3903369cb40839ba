"""A consumer acts only on events as their producer published them into its stream (ARCHITECTURE §9 "Trust"): one
that reached the stream through another stream's ``republish`` or through the stream's ``sources`` carries
JetStream's headers for it and is dead-lettered with that reason; one read from another stream (a mirror adds no
header) too. Genuine events beside them are applied, in a batch as alone. The streams are reconfigured here with
the test administrator's credential: no service's may (test_nats_streams_trust.py)."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

from google.protobuf.wrappers_pb2 import StringValue
from nats.js.api import AckPolicy, ConsumerConfig, RePublish, StreamConfig, StreamSource, SubjectTransform
from sqlalchemy import select

from kit.messaging import envelope
from kit.messaging.consumer import EventConsumer, Subscription
from kit.messaging.streams import stream_config
from kit.messaging.tables import DeadLetter
from testing.notes import NotesUnitOfWork, copy_note, count_notes, migrated_database
from testing.processes import NatsServer
from testing.streams import wait_for


async def test_republished_sourced_and_mirrored_events_are_dead_lettered_genuine_ones_applied(
        tmp_path: Path, private_nats: NatsServer) -> None:
    db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.sqlite3'}")
    nc = await private_nats.connect()  # the test administrator
    js = nc.jetstream()
    base = f"cofor.test.{uuid.uuid4().hex[:8]}"
    # RELAY republishes into COFOR's subjects; COFOR sources RELAY: what a stream's update could do before.
    await js.add_stream(StreamConfig(name="RELAY", subjects=["relay.>"],
                                     republish=RePublish(src="relay.r.>", dest=f"{base}.republished.>")))
    await js.update_stream(replace(stream_config("COFOR"), sources=[StreamSource(name="RELAY", subject_transforms=[
        SubjectTransform(src="relay.s.>", dest=f"{base}.sourced.>")])]))
    subjects = [f"{base}.genuine", f"{base}.republished.x", f"{base}.sourced.x"]
    consumer = EventConsumer(durable=f"test-{uuid.uuid4().hex[:8]}", stream="COFOR",
                             subscriptions=[Subscription(s, StringValue, copy_note) for s in subjects],
                             unit_of_work=lambda: NotesUnitOfWork(db))
    for text, subject in (("before", f"{base}.genuine"), ("forged", "relay.r.x"), ("forged", "relay.s.x"),
                          ("after", f"{base}.genuine")):
        await js.publish(subject, StringValue(value=text).SerializeToString(),
                         headers={envelope.MSG_ID: str(uuid.uuid4())})

    async def stored() -> bool:
        info = await js.stream_info("COFOR", subjects_filter=f"{base}.>")
        return sum((info.state.subjects or {}).values()) == 4  # 2 genuine, 1 republished, 1 sourced
    await wait_for(stored, timeout=10)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(js, stop))  # one batch: the foreign ones send it down the single path

    async def letters() -> list[DeadLetter]:
        async with db.session(readonly=True) as s, s.begin():
            return list((await s.scalars(select(DeadLetter).where(DeadLetter.consumer == consumer.durable))).all())
    await wait_for(lambda: _at_least(letters(), 2), timeout=15)
    await wait_for(lambda: _at_least(count_notes(db), 2), timeout=15)
    stop.set()
    await task
    assert await count_notes(db, "copy:before") == 1 and await count_notes(db, "copy:after") == 1
    assert await count_notes(db, "copy:forged") == 0
    reasons = {letter.subject: letter.error for letter in await letters()}
    assert set(reasons) == {f"{base}.republished.x", f"{base}.sourced.x"}
    assert "relayed by JetStream" in reasons[f"{base}.republished.x"] and "Nats-Stream," in reasons[
        f"{base}.republished.x"]
    assert "Nats-Stream-Source" in reasons[f"{base}.sourced.x"]

    # A mirror copies without any header: the stream it was read from gives it away.
    await js.add_stream(StreamConfig(name="MIRROR", mirror=StreamSource(name="COFOR")))
    mirrored = await js.pull_subscribe(f"{base}.genuine", stream="MIRROR", config=ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT))
    [msg] = await mirrored.fetch(1, timeout=10)
    assert not set(msg.headers or {}) - {envelope.MSG_ID}
    await consumer.handle(msg)
    [letter] = [letter for letter in await letters() if letter.subject == f"{base}.genuine"]
    assert letter.error.endswith("read from stream MIRROR, not from COFOR")
    assert await count_notes(db, "copy:before") == 1
    await nc.close()
    await db.dispose()


async def _at_least(awaitable, n: int) -> bool:  # type: ignore[no-untyped-def]
    value = await awaitable
    return (len(value) if isinstance(value, list) else value) >= n
