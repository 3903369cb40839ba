"""What the NATS trust tests share: a connection that records what the server refused it, and a real identity
service consuming cofor's events, whose accounts show whether a forged event was acted on."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from sqlalchemy import select

from kit import migrations
from kit.app import ServiceApp
from kit.messaging.tables import outbox_row
from kit.sealed import SealKeyPair
from testing.processes import NatsServer
from testing.streams import wait_for

from identity.adapters.orm import accounts
from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

IDENTITY_DURABLE = "identity-cofor-events"


@dataclass
class Probe:
    """A connection as one user that records what the server refused it."""

    nc: Client
    refused: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, server: NatsServer, user: str) -> Probe:
        probe = cls.__new__(cls)
        probe.refused = []

        async def on_error(error: Exception) -> None:
            probe.refused.append(str(error))
        probe.nc = await server.connect(user, error_cb=on_error, allow_reconnect=False)
        return probe

    async def was_refused(self, subject: str) -> None:
        """The server said "Permissions Violation" about ``subject``."""
        try:
            await wait_for(lambda: _found(self.refused, subject), timeout=5)
        except AssertionError:
            raise AssertionError(f"no refusal for {subject}; the server refused {self.refused}") from None

    async def api_refused(self, call: Any, subject: str) -> None:
        """A JetStream API call gets no answer (the request never reached JetStream) and the server says why."""
        with pytest.raises((nats.errors.TimeoutError, asyncio.TimeoutError)):
            await call
        await self.was_refused(subject)


async def _found(refused: list[str], subject: str) -> bool:
    # nats-py hands the server's message over in lower case.
    return any("permissions violation" in r.lower() and f'"{subject.lower()}' in r.lower() for r in refused)


@dataclass
class Trust:
    server: NatsServer
    identity: ServiceApp
    cofor: Client  # the legitimate producer of cofor's events, with cofor's own credential

    async def publish_as_cofor(self, subject: str, message: Any) -> None:
        row = outbox_row(subject, message, producer="cofor")
        await self.cofor.jetstream().publish(subject, row.payload, headers=dict(row.headers))

    async def accounts_of(self, email: str) -> list[Any]:
        async with self.identity.database.session(readonly=True) as s, s.begin():
            return list((await s.execute(select(accounts).where(accounts.c.email == email))).all())

    async def referenced_and_accepted(self, root: str, email: str) -> None:
        await self.publish_as_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(
            cofor_root=root, head_office_cofor=f"{root}  01", legal_name=f"Company {root}"))
        await self.publish_as_cofor("cofor.access.terms_accepted", terms_accepted(root, email))


def terms_accepted(root: str, email: str) -> cofor_events.TermsAccepted:
    return cofor_events.TermsAccepted(
        cofor_root=root, legal_name=f"Company {root}", access_request_id=str(uuid.uuid4()),
        administrator=cofor_pb.Contact(given_name="Eve", family_name="Mallory", email=email, phone="+33 1 23 45 67 89",
                                       job_title="IT", language="fr"))


def a_root() -> str:
    return "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))


@asynccontextmanager
async def running_trust(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Trust]:
    """identity running with its own credential; cofor's credential in the test's hand."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}"
    await migrations.upgrade(url, MIGRATIONS)
    cofor = await nats_server.connect("cofor")  # the streams are there: the server's start provisioned them
    identity = build_app(IdentitySettings(
        grpc_port=0, database_url=url, **nats_server.settings("identity"), service_credentials="gw:public:gw-secret",
        mail_seal_public_key=SealKeyPair.generate().public_key, shutdown_grace_seconds=0.5, argon2_memory_kib=1024,
        argon2_time_cost=1))
    await identity.start()
    await asyncio.wait_for(identity.messaging_ready.wait(), 30)
    try:
        yield Trust(nats_server, identity, cofor)
    finally:
        await identity.stop()
        await cofor.close()
