"""Review finding 3 (ARCHITECTURE §9 "Trust"): NATS admits only the services, each with its own credential, and lets
each publish only its own events and read only its own consumers.

A real identity service consumes cofor's events. cofor's own credential opens a company and makes its first ASL
(the normal flow). Then forgers try, with no credential, an unknown one, or another service's: to publish a
``cofor.access.terms_accepted`` that would make them ASL of that OPEN company, to forge identity's events, to read,
create, delete or purge what they do not own, and to read another service's replies. Each attempt is refused by
the server, and identity creates no account.

The review of 2026-11-28: a service that could update a stream gave it ``republish`` (its own subject into COFOR)
or ``sources`` (COFOR and IDENTITY into the stream it reads); the server checks no subject permission on either.
No service credential may now create, update, delete or purge any stream (test_nats_streams_trust.py shows each
attempt refused and the forged event never acted on).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.identity.v1 import events_pb2 as identity_events

from kit.messaging.credentials import new_seed
from testing.processes import NatsServer
from testing.streams import wait_for

from .nats_forgery import IDENTITY_DURABLE, Probe, Trust, a_root, running_trust, terms_accepted


@pytest.fixture
async def trust(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Trust]:
    async with running_trust(tmp_path, nats_server) as running:
        yield running


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
