"""Review finding 3 (ARCHITECTURE §9 "Trust"): NATS admits only the services, each with its own credential, and lets
each publish only its own events and read only its own consumers.

A real identity service consumes cofor's events. cofor's own credential opens a company and makes its first ASL
(the normal flow). Then forgers try, with no credential, an unknown one, or another service's: to publish a
``cofor.access.terms_accepted`` that would make them ASL of that OPEN company, to forge identity's events, to read,
create, delete or purge what they do not own, and to read another service's replies. Each attempt is refused by
the server, and identity creates no account.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, StreamConfig
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import events_pb2 as identity_events
from sqlalchemy import select

from kit import migrations
from kit.app import ServiceApp
from kit.messaging.credentials import new_seed
from kit.messaging.outbox import outbox_row
from kit.messaging.streams import ensure_streams
from kit.sealed import SealKeyPair
from kit.testing.processes import NatsServer
from kit.testing.streams import wait_for

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


@pytest.fixture
async def trust(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Trust]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}"
    await migrations.upgrade(url, MIGRATIONS)
    cofor = await nats_server.connect("cofor")
    await ensure_streams(cofor.jetstream(), ["COFOR"])  # the producer makes its stream (cofor's credential may)
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


async def test_without_a_known_credential_nothing_connects(nats_server: NatsServer) -> None:
    for options in ({}, {"nkeys_seed_str": new_seed()}, {"user": "cofor", "password": "cofor"}):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(nats_server.url, allow_reconnect=False, connect_timeout=2, **options)


async def test_forged_terms_acceptance_makes_no_administrator_of_an_open_company(trust: Trust) -> None:
    root, legit = a_root(), f"asl.{uuid.uuid4().hex[:8]}@supplier.example"
    await trust.referenced_and_accepted(root, legit)  # the normal flow: cofor's own events make the first ASL
    await wait_for(lambda: trust.accounts_of(legit), timeout=15)
    await trust.publish_as_cofor("cofor.access.opened", cofor_events.AccessOpened(cofor_root=root))

    forger = f"eve.{uuid.uuid4().hex[:8]}@attacker.example"
    event = terms_accepted(root, forger).SerializeToString()
    for user in ("identity", "support"):  # every other service's credential
        probe = await Probe.open(trust.server, user)
        await probe.nc.publish("cofor.access.terms_accepted", event)  # plain publish: lands in COFOR if allowed
        await probe.was_refused("cofor.access.terms_accepted")
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await probe.nc.jetstream(timeout=1).publish("cofor.access.terms_accepted", event)
        await probe.nc.close()

    # Identity applies cofor's events in order: once a later genuine one is applied, a forged one would have been.
    marker = f"later.{uuid.uuid4().hex[:8]}@supplier.example"
    await trust.referenced_and_accepted(a_root(), marker)
    await wait_for(lambda: trust.accounts_of(marker), timeout=15)
    assert await trust.accounts_of(forger) == []
    assert len(await trust.accounts_of(legit)) == 1
    # identity's own credential acknowledged what it applied (nothing waits for a redelivery).
    admin = await trust.server.connect()

    async def acknowledged() -> bool:
        info = await admin.jetstream().consumer_info("COFOR", IDENTITY_DURABLE)
        return info.num_ack_pending == 0 and info.num_pending == 0
    await wait_for(acknowledged, timeout=15)
    await admin.close()


async def test_one_service_cannot_forge_another_services_events_or_broadcasts(trust: Trust) -> None:
    admin = (await trust.server.connect()).jetstream()
    await ensure_streams(admin, ["IDENTITY"])
    before = (await admin.stream_info("IDENTITY")).state.messages
    cofor = await Probe.open(trust.server, "cofor")
    created = identity_events.AdministratorCreated(cofor_root=a_root()).SerializeToString()
    await cofor.nc.publish("identity.administrator.created", created)
    await cofor.was_refused("identity.administrator.created")
    # Only identity's replicas may tell each other which sessions were revoked.
    await cofor.nc.publish("_portal.identity.sessions_revoked", b'["V000001"]')
    await cofor.was_refused("_portal.identity.sessions_revoked")
    await cofor.nc.close()
    assert (await admin.stream_info("IDENTITY")).state.messages == before
    await admin._nc.close()


async def test_no_one_reads_changes_or_empties_what_it_does_not_own(trust: Trust) -> None:
    await trust.publish_as_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(cofor_root=a_root()))
    support = await Probe.open(trust.server, "support")
    js = support.nc.jetstream(timeout=1)
    api = "$JS.API"
    await support.api_refused(js.pull_subscribe("cofor.>", stream="COFOR"), f"{api}.CONSUMER.CREATE.COFOR")
    await support.api_refused(js.add_consumer("COFOR", ConsumerConfig(durable_name=IDENTITY_DURABLE)),
                              f"{api}.CONSUMER.DURABLE.CREATE.COFOR.{IDENTITY_DURABLE}")
    await support.api_refused(js.add_consumer("COFOR", ConsumerConfig(name=IDENTITY_DURABLE,
                                                                      durable_name=IDENTITY_DURABLE)),
                              f"{api}.CONSUMER.CREATE.COFOR.{IDENTITY_DURABLE}")
    await support.api_refused(js.consumer_info("COFOR", IDENTITY_DURABLE), f"{api}.CONSUMER.INFO.COFOR")
    await support.api_refused(js.delete_consumer("COFOR", IDENTITY_DURABLE), f"{api}.CONSUMER.DELETE.COFOR")
    await support.api_refused(js.purge_stream("COFOR"), f"{api}.STREAM.PURGE.COFOR")
    await support.api_refused(js.delete_stream("COFOR"), f"{api}.STREAM.DELETE.COFOR")
    await support.api_refused(js.get_msg("COFOR", 1), f"{api}.STREAM.MSG.GET.COFOR")
    await support.api_refused(js.get_msg("COFOR", 1, direct=True), f"{api}.DIRECT.GET.COFOR")
    # Pulling from identity's durable directly: the request to the consumer is refused.
    await support.nc.publish(f"{api}.CONSUMER.MSG.NEXT.COFOR.{IDENTITY_DURABLE}", b"1", reply="_INBOX.support.x")
    await support.was_refused(f"{api}.CONSUMER.MSG.NEXT.COFOR.{IDENTITY_DURABLE}")
    await support.nc.close()

    # Even the reader may only read: it cannot empty, reconfigure or re-source the producer's stream.
    identity = await Probe.open(trust.server, "identity")
    js = identity.nc.jetstream(timeout=1)
    await identity.api_refused(js.purge_stream("COFOR"), f"{api}.STREAM.PURGE.COFOR")
    await identity.api_refused(js.update_stream(StreamConfig(name="COFOR", subjects=["cofor.>", "identity.x.>"])),
                               f"{api}.STREAM.UPDATE.COFOR")
    await identity.api_refused(js.add_stream(StreamConfig(name="FORGED", subjects=["forged.>"])),
                               f"{api}.STREAM.CREATE.FORGED")
    await identity.api_refused(js.delete_consumer("COFOR", IDENTITY_DURABLE), f"{api}.CONSUMER.DELETE.COFOR")
    await identity.nc.close()
    info = await trust.cofor.jetstream().stream_info("COFOR")
    assert info.state.messages >= 1 and info.config.subjects == ["cofor.>"]


async def test_replies_and_events_reach_only_their_own_service(trust: Trust) -> None:
    support = await Probe.open(trust.server, "support")
    seen: list[str] = []

    async def spy(msg: Any) -> None:
        seen.append(msg.subject)
    for subject in ("_INBOX.>", "_INBOX.identity.>", ">", "cofor.>", "$JS.API.>"):
        await support.nc.subscribe(subject, cb=spy)
        await support.was_refused(subject)
    # identity makes requests (its JetStream API calls); the replies go to identity's inbox only.
    await trust.identity.nats.jetstream().stream_info("COFOR")  # type: ignore[union-attr]
    await trust.publish_as_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(cofor_root=a_root()))
    await support.nc.flush()
    await asyncio.sleep(0.3)
    assert seen == []
    await support.nc.close()
