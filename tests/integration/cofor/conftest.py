"""A real cofor service (gRPC server, outbox relay, identity consumer) on each database, with real NATS."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from nats.js import JetStreamContext
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.support.v1 import events_pb2 as mail_events

from kit import migrations
from kit.app import ServiceApp
from kit.client import ServiceClient
from kit.sealed import SealKeyPair, unseal
from testing.clock import Clock
from testing.processes import NatsServer
from testing.streams import read_subject, wait_for

from cofor.bootstrap import MIGRATIONS, build_app
from cofor.settings import CoforSettings

TOKENS = {"gateway": "gw-secret", "purchasing": "buy-secret", "erp": "erp-secret", "support": "support-secret"}
CREDENTIALS = ("gateway:public:gw-secret,purchasing:purchasing:buy-secret,erp:internal:erp-secret,"
               "support:support:support-secret")


@dataclass
class Cofor:
    app: ServiceApp
    client: ServiceClient
    js: JetStreamContext
    seal: SealKeyPair
    clock: Clock

    async def mails_to(self, address: str, template: int,
                       count: int = 1) -> list[tuple[mail_events.EmailRequested, dict[str, str]]]:
        """The EmailRequested events for ``address`` (waits for ``count``), with their unsealed secrets."""
        async def probe() -> list[Any]:
            found = []
            for msg in await read_subject(self.js, "NOTIFICATION", "notification.email.requested"):
                event = mail_events.EmailRequested.FromString(msg.data)
                if event.template == template and any(r.address == address for r in event.to):
                    found.append((event, unseal(self.seal.private_key, event.sealed_secrets)))
            return found if len(found) >= count else []
        return await wait_for(probe)

    async def events(self, subject: str, **match: str) -> list[bytes]:
        msgs = await read_subject(self.js, "COFOR", subject)
        return [m.data for m in msgs]


@pytest.fixture
async def cofor(database_url: str, nats_server: NatsServer) -> AsyncIterator[Cofor]:
    await migrations.upgrade(database_url, MIGRATIONS)
    seal = SealKeyPair.generate()
    clock = Clock()
    settings = CoforSettings(grpc_port=0, database_url=database_url, **nats_server.settings("cofor"),
                             service_credentials=CREDENTIALS, mail_seal_public_key=seal.public_key,
                             relay_poll_seconds=0.2, shutdown_grace_seconds=0.5, consumer_max_deliver=3)
    nc = await nats_server.connect()  # the test administrator: it sends the events "identity" would
    app = build_app(settings, clock=clock)
    await app.start()
    channel = grpc.aio.insecure_channel(app.target)
    try:
        yield Cofor(app, ServiceClient(cofor_service_pb2_grpc.CoforServiceStub(channel), TOKENS), nc.jetstream(),
                    seal, clock)
    finally:
        await channel.close()
        await nc.close()
        await app.stop()
