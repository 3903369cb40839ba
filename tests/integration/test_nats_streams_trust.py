"""The review of 2026-11-28 (ARCHITECTURE §9 "Trust"): with support's credential, the reviewer updated SUPPORT with a
``republish`` of ``support.relay.x`` to ``cofor.access.terms_accepted``, published a TermsAccepted on it, and
identity made the attacker ASL of an open company; ``sources: [COFOR, IDENTITY]`` on NOTIFICATION read foreign
streams through support's own durable. nats-server checks no subject permission on a stream's republish, sources,
mirror or subject transforms, so no service credential may create, update, delete or purge any stream.

For each service's credential, every such attempt on every stream is refused by the server; what it then publishes
on its own subjects stays in its own stream; identity creates no account; every stream still holds only its
producer's subjects and carries none of those settings; and its durable, made a pull consumer by the provisioner,
cannot be turned into a push consumer delivering elsewhere (identity's session broadcast here).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats.js.errors
import pytest
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RePublish,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)
from portal.cofor.v1 import events_pb2 as cofor_events

from kit.messaging import envelope
from kit.messaging.streams import STREAMS, foreign_parts, stream_config
from kit.messaging.trust import declared_grant
from testing.processes import NatsServer
from testing.streams import wait_for

from .nats_forgery import Probe, Trust, a_root, running_trust, terms_accepted

FORGED = "cofor.access.terms_accepted"
API = "$JS.API"


@pytest.fixture
async def trust(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Trust]:
    async with running_trust(tmp_path, nats_server) as running:
        yield running


def relay(stream: str) -> str:
    """A subject of ``stream``'s producer: what the review republished into COFOR."""
    return STREAMS[stream][0].replace(">", "relay.x")


def reconfigured(name: str) -> list[StreamConfig]:
    """The provisioned configuration of ``name`` with each setting that moves messages past the permissions."""
    base = stream_config(name)
    return [replace(base, republish=RePublish(src=relay(name), dest=FORGED)),
            replace(base, sources=[StreamSource(name="COFOR"), StreamSource(name="IDENTITY")]),
            replace(base, sources=[StreamSource(name="COFOR", subject_transforms=[
                SubjectTransform(src="cofor.>", dest=STREAMS[name][0].replace(">", "copied.>"))])]),
            replace(base, subject_transform=SubjectTransform(src=relay(name), dest=FORGED))]


def attempts(js: JetStreamContext) -> list[tuple[Awaitable[Any], str]]:
    """Every way to change, empty or add a stream, with the API subject the server refuses."""
    calls: list[tuple[Awaitable[Any], str]] = []
    for name in STREAMS:
        calls += [(js.update_stream(config), f"{API}.STREAM.UPDATE.{name}") for config in reconfigured(name)]
        calls += [(js.add_stream(reconfigured(name)[0]), f"{API}.STREAM.CREATE.{name}"),
                  (js.purge_stream(name), f"{API}.STREAM.PURGE.{name}"),
                  (js.delete_msg(name, 1), f"{API}.STREAM.MSG.DELETE.{name}"),
                  (js.delete_stream(name), f"{API}.STREAM.DELETE.{name}")]
    for forged in (StreamConfig(name="FORGED", subjects=["forged.>"], sources=[StreamSource(name="COFOR"),
                                                                               StreamSource(name="IDENTITY")]),
                   StreamConfig(name="FORGED", mirror=StreamSource(name="COFOR")),
                   StreamConfig(name="FORGED", subjects=["forged.>"],
                                subject_transform=SubjectTransform(src="forged.>", dest=FORGED))):
        calls.append((js.add_stream(forged), f"{API}.STREAM.CREATE.FORGED"))
    return calls


async def count(admin: JetStreamContext, stream: str, subject: str) -> int:
    info = await admin.stream_info(stream, subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


@pytest.mark.parametrize("user", ["cofor", "identity", "support"])
async def test_no_service_credential_reconfigures_empties_or_adds_a_stream(trust: Trust, user: str) -> None:
    await trust.server.provision()  # idempotent: the durables as the provisioner makes them, whatever ran before
    root, legit = a_root(), f"asl.{uuid.uuid4().hex[:8]}@supplier.example"
    await trust.referenced_and_accepted(root, legit)
    await wait_for(lambda: trust.accounts_of(legit), timeout=15)
    await trust.publish_as_cofor("cofor.access.opened", cofor_events.AccessOpened(cofor_root=root))
    admin_nc = await trust.server.connect()
    admin = admin_nc.jetstream()
    accepted_before = await count(admin, "COFOR", FORGED)

    probe = await Probe.open(trust.server, user)
    js = probe.nc.jetstream(timeout=1)
    await asyncio.gather(*(probe.api_refused(call, subject) for call, subject in attempts(js)))
    # The review's next step: the forged acceptance on a subject this credential may publish. It stays there.
    forger = f"eve.{uuid.uuid4().hex[:8]}@attacker.example"
    own = next(name for name in STREAMS if STREAMS[name][0] == f"{user}.>")
    await js.publish(relay(own), terms_accepted(root, forger).SerializeToString(),
                     headers={envelope.MSG_ID: str(uuid.uuid4())})
    # Its durable (made pull by the provisioner) cannot be turned into one that pushes to another subject.
    stream, durable = declared_grant(user).consumers[0]
    with pytest.raises(nats.js.errors.APIError, match="pull consumer to push"):
        await js.add_consumer(stream, ConsumerConfig(
            durable_name=durable, deliver_subject="_portal.identity.sessions_revoked", ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL))
    await probe.nc.close()

    marker = f"later.{uuid.uuid4().hex[:8]}@supplier.example"  # identity applies in order: after this, all is applied
    await trust.referenced_and_accepted(a_root(), marker)
    await wait_for(lambda: trust.accounts_of(marker), timeout=15)
    assert await trust.accounts_of(forger) == []
    assert await count(admin, "COFOR", FORGED) == accepted_before + 1  # the marker's, nothing else
    assert {info.config.name for info in await admin.streams_info()} == set(STREAMS)
    for name, subjects in STREAMS.items():
        info = await admin.stream_info(name, subjects_filter=">")
        assert foreign_parts(info.config) == [], name
        producer = subjects[0].removesuffix(">")
        assert all(subject.startswith(producer) for subject in info.state.subjects or {}), (name, info.state.subjects)
    await admin_nc.close()
