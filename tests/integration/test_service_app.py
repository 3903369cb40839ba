"""Two kit-built services in one test: an RPC commits a change whose event reaches the other's consumer."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kit.app import ServiceApp
from kit.auth import Ctx
from kit.db import Database
from kit.messaging.consumer import EventConsumer, Subscription
from kit.settings import ServiceSettings
from testing.notes import NotesUnitOfWork, copy_note, count_notes, migrated_database
from testing.processes import NatsServer

from .test_outbox_relay import eventually

SERVICE = "test.v1.NotesService"


def settings(name: str, url: str, nats: NatsServer, consumers: tuple[tuple[str, str], ...] = ()) -> ServiceSettings:
    # Test consumers of a test service: declared as a service declares its own; NATS as the test administrator.
    declared = type("TestSettings", (ServiceSettings,), {"nats_consumers": consumers})
    return declared(service_name=name, grpc_port=0, database_url=url, nats_url=nats.url,
                    nats_nkey_seed=nats.seed("admin"), relay_poll_seconds=60.0, shutdown_grace_seconds=1.0)


def notes_rpc(db: Database, subject: str):  # type: ignore[no-untyped-def]
    async def add(request: StringValue, context: Ctx) -> StringValue:
        async with NotesUnitOfWork(db) as uow:
            event_id = uow.add_note(request.value, subject)
            await uow.commit()
        return StringValue(value=event_id)

    def register(server: grpc.aio.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(add, request_deserializer=StringValue.FromString,
                                                      response_serializer=StringValue.SerializeToString)
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"Add": handler})])

    return register


async def test_event_travels_from_one_service_outbox_to_another_service_consumer(
        tmp_path: Path, nats_server: NatsServer) -> None:
    subject = f"cofor.test.{uuid.uuid4().hex}"
    producer_db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'producer.sqlite3'}")
    consumer_db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.sqlite3'}")
    producer = ServiceApp(settings("cofor", producer_db.url, nats_server), producer_db,
                          registrars=[notes_rpc(producer_db, subject)], service_names=[SERVICE])
    durable = f"identity-test-{uuid.uuid4().hex[:8]}"
    consumer = ServiceApp(settings("identity", consumer_db.url, nats_server, (("COFOR", durable),)), consumer_db,
                          registrars=[], service_names=[], consumers=[EventConsumer(
                              durable=durable, stream="COFOR",
                              subscriptions=[Subscription(subject, StringValue, copy_note)],
                              unit_of_work=lambda: NotesUnitOfWork(consumer_db))])
    await producer.start()
    await consumer.start()
    # Connected to NATS (streams and durable consumer in place); from here the commit must wake the relay.
    await asyncio.wait_for(asyncio.gather(producer.messaging_ready.wait(), consumer.messaging_ready.wait()), 30)
    try:
        async with grpc.aio.insecure_channel(producer.target) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            add = channel.unary_unary(f"/{SERVICE}/Add", request_serializer=StringValue.SerializeToString,
                                      response_deserializer=StringValue.FromString)
            await add(StringValue(value="hello"))
            # The relay polls only every 60 s here: arriving within 10 s proves the commit woke it.
            await eventually(lambda: _eq(count_notes(consumer_db, "copy:hello"), 1), timeout=10)
    finally:
        await producer.stop()
        await consumer.stop()


async def _eq(awaitable, expected) -> bool:  # type: ignore[no-untyped-def]
    return bool(await awaitable == expected)


async def test_readiness_follows_the_database(tmp_path: Path, nats_server: NatsServer) -> None:
    """PostgreSQL stops: the service reports NOT_SERVING (traffic goes to healthier replicas); it comes back:
    SERVING."""
    from testing.processes import PostgresCluster

    cluster = PostgresCluster().start()
    try:
        db = await migrated_database(cluster.create_database("ready"))
        app = ServiceApp(settings("cofor", db.url, nats_server), db, registrars=[], service_names=[SERVICE])
        await app.start()
        app._tasks.append(asyncio.create_task(app._watch_database(every=0.2)))  # faster than production's 2 s

        async def status() -> int:
            async with grpc.aio.insecure_channel(app.target) as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE))
                return reply.status

        cluster.stop()
        await eventually(lambda: _eq(status(), health_pb2.HealthCheckResponse.NOT_SERVING), timeout=15)
        cluster.start()
        await eventually(lambda: _eq(status(), health_pb2.HealthCheckResponse.SERVING), timeout=20)
        await app.stop()
    finally:
        cluster.destroy()
