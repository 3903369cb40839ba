"""The streams are made by a privileged step no service holds (ARCHITECTURE §9 "Trust", deploy/'s Job
``nats-provision``): ``python -m kit.messaging.provision`` with the provisioner's credential. That credential may
make the four streams and the declared durables and nothing else; provisioning again takes back a tampered stream
and refuses what it cannot take back; a service started first waits for its streams, serving, its events kept in
the outbox, and publishes them once the streams exist. A service's credential cannot provision."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RePublish,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)

from kit.app import ServiceApp
from kit.messaging.streams import STREAMS, NotOurs, foreign_parts, stream_config
from kit.messaging.trust import PROVISIONER
from kit.settings import ServiceSettings
from testing.fleet import nats_users
from testing.notes import migrated_database
from testing.processes import NatsServer
from testing.streams import wait_for

from .nats_forgery import IDENTITY_DURABLE, Probe
from .test_outbox_relay import pending_rows, stream_count
from .test_service_app import SERVICE, notes_rpc

API = "$JS.API"


async def test_the_provisioner_makes_streams_and_nothing_else(nats_server: NatsServer) -> None:
    probe = await Probe.open(nats_server, PROVISIONER)
    js = probe.nc.jetstream(timeout=1)
    for name in STREAMS:  # what it may: look at the streams (and make them, as the server's start did)
        assert (await js.stream_info(name)).config.subjects == STREAMS[name]
    await probe.nc.publish("cofor.access.terms_accepted", b"forged")
    await probe.was_refused("cofor.access.terms_accepted")
    await asyncio.gather(
        probe.api_refused(js.add_stream(StreamConfig(name="FORGED", subjects=["forged.>"])),
                          f"{API}.STREAM.CREATE.FORGED"),
        probe.api_refused(js.purge_stream("COFOR"), f"{API}.STREAM.PURGE.COFOR"),
        probe.api_refused(js.delete_stream("COFOR"), f"{API}.STREAM.DELETE.COFOR"),
        probe.api_refused(js.delete_msg("COFOR", 1), f"{API}.STREAM.MSG.DELETE.COFOR"),
        probe.api_refused(js.get_msg("COFOR", 1), f"{API}.STREAM.MSG.GET.COFOR"),
        probe.api_refused(js.pull_subscribe("cofor.>", stream="COFOR"), f"{API}.CONSUMER.CREATE.COFOR"),
        probe.api_refused(js.delete_consumer("COFOR", IDENTITY_DURABLE), f"{API}.CONSUMER.DELETE.COFOR"))
    await probe.nc.publish(f"{API}.CONSUMER.MSG.NEXT.COFOR.{IDENTITY_DURABLE}", b"1", reply="_INBOX.provisioner.x")
    await probe.was_refused(f"{API}.CONSUMER.MSG.NEXT.COFOR.{IDENTITY_DURABLE}")
    await probe.nc.subscribe(">")
    await probe.was_refused(">")
    await probe.nc.close()


async def test_provisioning_again_takes_back_a_tampered_stream_and_refuses_what_it_cannot(
        private_nats: NatsServer, caplog: pytest.LogCaptureFixture) -> None:
    nc = await private_nats.connect()  # the test administrator plays whoever tampered with the streams
    js = nc.jetstream()
    await js.publish("support.ticket.created", b"kept", headers={"Nats-Msg-Id": str(uuid.uuid4())})
    await js.update_stream(replace(stream_config("SUPPORT"), republish=RePublish(src="support.>", dest="cofor.>")))
    await js.update_stream(replace(stream_config("NOTIFICATION"), sources=[StreamSource(name="COFOR")]))
    await js.update_stream(replace(stream_config("IDENTITY"), subject_transform=SubjectTransform(
        src="identity.>", dest="identity.moved.>")))
    with caplog.at_level(logging.WARNING, logger="kit.messaging.streams"):
        await private_nats.provision()
    assert sorted(r.getMessage().split()[1] for r in caplog.records if "provisioning never sets" in r.getMessage()) \
        == ["IDENTITY", "NOTIFICATION", "SUPPORT"]
    for name in STREAMS:
        assert foreign_parts((await js.stream_info(name)).config) == [], name
    assert (await js.stream_info("SUPPORT")).state.messages == 1  # the configuration changes, never the messages

    for squatter, shape in ((ConsumerConfig(deliver_subject="_x.y"), "pushes to _x.y"),  # a durable's name taken
                            (ConsumerConfig(deliver_policy=DeliverPolicy.NEW), "delivers new with ack explicit")):
        await js.delete_consumer("NOTIFICATION", "support-mailer")
        await js.add_consumer("NOTIFICATION", replace(squatter, durable_name="support-mailer",
                                                      ack_policy=AckPolicy.EXPLICIT))
        with pytest.raises(NotOurs, match=f"support-mailer on NOTIFICATION {shape}"):
            await private_nats.provision()
    await js.delete_stream("COFOR")  # a mirror in a portal stream's place
    await js.add_stream(StreamConfig(name="COFOR", mirror=StreamSource(name="IDENTITY")))
    with pytest.raises(NotOurs, match="COFOR is a mirror of IDENTITY"):
        await private_nats.provision()
    await nc.close()


async def provisioning(server: NatsServer, seed: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "ENVIRONMENT": "development", "NATS_URL": server.url, "NATS_NKEY_SEED": seed,
           "PROVISION_TIMEOUT_SECONDS": "3", "LOG_LEVEL": "WARNING"}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "kit.messaging.provision", "cofor", "identity",
                                                "support", env=env)


async def test_a_service_waits_serving_for_its_streams_and_its_events_wait_in_the_outbox(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = NatsServer(tmp_path / "nats", users=nats_users(), provisions=False).start()
    db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'cofor.sqlite3'}")
    settings = type("CoforTest", (ServiceSettings,), {})(  # cofor's own credential, a kit-only service
        service_name="cofor", grpc_port=0, database_url=db.url, **server.settings("cofor"), relay_poll_seconds=0.2,
        shutdown_grace_seconds=0.5)
    subject = f"cofor.test.{uuid.uuid4().hex}"
    app = ServiceApp(settings, db, registrars=[notes_rpc(db, subject)], service_names=[SERVICE])
    admin = await server.connect()
    try:
        with caplog.at_level(logging.WARNING, logger="kit.messaging.streams"):
            await app.start()
            async with grpc.aio.insecure_channel(app.target) as channel:
                add = channel.unary_unary(f"/{SERVICE}/Add", request_serializer=StringValue.SerializeToString,
                                          response_deserializer=StringValue.FromString)
                await add(StringValue(value="waits"))
                # A service's credential cannot make the streams: the entry point gives up, nothing is made.
                assert await (await provisioning(server, server.seed("cofor"))).wait() == 1
                health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING and not app.messaging_ready.is_set()
            assert await pending_rows(db) == 1
            waiting = [r for r in caplog.records if r.getMessage().startswith("waiting for streams")]
            assert len(waiting) == 1 and "COFOR, NOTIFICATION" in waiting[0].getMessage()

            assert await (await provisioning(server, server.seed(PROVISIONER))).wait() == 0
            await asyncio.wait_for(app.messaging_ready.wait(), 15)
            await wait_for(lambda: stream_count(admin.jetstream(), subject), timeout=10)
            await wait_for(lambda: _none_pending(db), timeout=10)
        info = await admin.jetstream().consumer_info("COFOR", IDENTITY_DURABLE)  # the durables made too
        assert info.config.deliver_subject is None
    finally:
        await admin.close()
        await app.stop()
        server.stop()


async def _none_pending(db) -> bool:  # type: ignore[no-untyped-def]
    return await pending_rows(db) == 0
