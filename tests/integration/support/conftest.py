"""A real support service (tickets, help, mailer) on each database, with real NATS and a real SMTP sink."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import grpc
import nats
import pytest
from nats.js import JetStreamContext
from portal.support.v1 import support_service_pb2_grpc

from kit import migrations
from kit.app import ServiceApp
from kit.client import ServiceClient
from kit.sealed import SealKeyPair
from testing.mailsink import MailSink
from testing.processes import NatsServer
from testing.streams import wait_for

from support.bootstrap import MIGRATIONS, build_app
from support.settings import SupportSettings

TOKENS = {"gateway": "gw-secret", "agent": "agent-secret", "erp": "erp-secret"}
CREDENTIALS = "gateway:public:gw-secret,agent:support:agent-secret,erp:internal:erp-secret"
SUPPORT_MAILBOX = "helpdesk@portal.example"


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as sink:
        yield sink


@dataclass
class Support:
    app: ServiceApp
    client: ServiceClient
    js: JetStreamContext
    sink: MailSink
    seal: SealKeyPair

    async def mails_to(self, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        async def probe() -> list[EmailMessage]:
            found = [m.message for m in self.sink.received if address in m.rcpt_tos]
            return found if len(found) >= count else []
        return await wait_for(probe, timeout=timeout)


@pytest.fixture
async def support(database_url: str, nats_server: NatsServer, mail_sink: MailSink) -> AsyncIterator[Support]:
    await migrations.upgrade(database_url, MIGRATIONS)
    seal = SealKeyPair.generate()
    settings = SupportSettings(
        grpc_port=0, database_url=database_url, **nats_server.settings("support"), service_credentials=CREDENTIALS,
        smtp_port=mail_sink.port, support_mailbox=SUPPORT_MAILBOX, mail_seal_private_key=seal.private_key,
        portal_public_url="https://b2b.portal.example", relay_poll_seconds=0.2, shutdown_grace_seconds=0.5,
        mail_poll_seconds=0.2, mail_max_backoff_seconds=0.5)
    nc = await nats_server.connect()  # the test administrator
    js = nc.jetstream()
    # Every test starts with an empty mail stream and a new mailer consumer: no earlier test's mail is replayed.
    await js.purge_stream("NOTIFICATION")
    await _fresh_mailer_consumer(js)
    app = build_app(settings)
    await app.start()
    channel = grpc.aio.insecure_channel(app.target)
    try:
        yield Support(app, ServiceClient(support_service_pb2_grpc.SupportServiceStub(channel), TOKENS), js,
                      mail_sink, seal)
    finally:
        await channel.close()
        await app.stop()
        await nc.close()


async def _fresh_mailer_consumer(js: JetStreamContext) -> None:
    try:
        await js.delete_consumer("NOTIFICATION", "support-mailer")
    except nats.js.errors.NotFoundError:
        pass


def unique_email(tag: str = "user") -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@supplier.example"
