"""The four streams, one per producer, and the two things done with them (ARCHITECTURE §9 "Trust").

- ``provision``: the privileged step (``python -m kit.messaging.provision``, deploy/'s Job) creates them, or brings
  them back to this configuration, and creates the services' durable consumers. Its credential is held by no
  service process: whoever may update a stream may give it ``republish``, ``sources``, a ``mirror`` or subject
  transforms, which nats-server checks against no subject permission, and so move any message into any stream.
- ``wait_for_streams``: a service only looks at the streams it publishes to and reads from, and waits until they
  exist (its events wait in the outbox meanwhile).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Sequence

import nats.errors
import stamina
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError, ServiceUnavailableError

from kit.aio import sleep_unless

log = logging.getLogger(__name__)

STREAMS: dict[str, list[str]] = {
    "COFOR": ["cofor.>"],
    "IDENTITY": ["identity.>"],
    "SUPPORT": ["support.>"],
    "NOTIFICATION": ["notification.>"],
}
# The one subject every service publishes to: a request for a mail, read by support's mailer (services/notify/).
EMAIL_SUBJECT = "notification.email.requested"

# Long enough to cover a relay that crashed after publishing and restarts: its re-publish is then dropped.
DUPLICATE_WINDOW = dt.timedelta(minutes=30)
MAX_AGE = dt.timedelta(days=14)
# A cluster still electing its leaders, a server still starting: worth waiting for.
TRANSIENT = (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError, asyncio.TimeoutError)


class NotOurs(Exception):
    """A stream or durable consumer exists in a shape provisioning cannot take back by updating it."""


def stream_config(name: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=STREAMS[name],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE.total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        num_replicas=replicas,
    )


def foreign_parts(config: StreamConfig) -> list[str]:
    """What a stream carries that ``stream_config`` never sets: each moves messages between streams."""
    found = [part for part in ("mirror", "sources", "republish", "subject_transform") if getattr(config, part)]
    if config.name in STREAMS and config.subjects != STREAMS[config.name]:
        found.append(f"subjects {config.subjects}")
    return found


async def provision(js: JetStreamContext, consumers: Iterable[tuple[str, str]] = (), *, replicas: int = 1,
                    patience: float = 60.0) -> None:
    """Create or reset the four streams, then create the missing durables as pull consumers (a durable the server
    made pull can never be turned into a push consumer delivering to another subject; its owner sets the rest)."""
    # A cluster still electing its leaders answers within seconds: retry the whole (idempotent) pass on transient
    # errors until ``patience`` runs out, then the last error propagates. stamina logs each retry.
    async for attempt in stamina.retry_context(on=TRANSIENT, attempts=None, timeout=patience, wait_initial=0.5,
                                               wait_max=2.0, wait_jitter=0.5):
        with attempt:
            for name in STREAMS:
                await _provision_stream(js, name, replicas)
            for stream, durable in consumers:
                await _provision_durable(js, stream, durable)


async def _provision_stream(js: JetStreamContext, name: str, replicas: int) -> None:
    try:
        current = (await js.stream_info(name)).config
    except NotFoundError:
        await js.add_stream(stream_config(name, replicas))
        log.info("stream %s created", name)
        return
    if current.mirror:  # a mirror stays a mirror: only deleting the stream undoes it
        raise NotOurs(f"stream {name} is a mirror of {current.mirror.name}: not the portal's; an administrator "
                      f"must delete it (nats stream rm {name}) before it is provisioned again")
    found = foreign_parts(current)
    if found:
        log.warning("stream %s carried %s, which provisioning never sets: removed", name, ", ".join(found))
    await js.update_stream(stream_config(name, replicas))


async def _provision_durable(js: JetStreamContext, stream: str, durable: str) -> None:
    try:
        current = (await js.consumer_info(stream, durable)).config
    except NotFoundError:
        await js.add_consumer(stream, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                                     deliver_policy=DeliverPolicy.ALL))
        log.info("durable consumer %s on %s created", durable, stream)
        return
    # What no update can change: a durable made otherwise (after its deletion) would push elsewhere or skip events.
    policies = (current.deliver_policy, current.ack_policy)
    if current.deliver_subject or policies != (DeliverPolicy.ALL, AckPolicy.EXPLICIT):
        shape = f"pushes to {current.deliver_subject}" if current.deliver_subject else \
            "delivers {} with ack {}".format(*(getattr(p, "value", p) for p in policies))
        raise NotOurs(f"durable {durable} on {stream} {shape}: not the portal's; an administrator must delete it "
                      f"(nats consumer rm {stream} {durable})")


async def wait_for_streams(js: JetStreamContext, names: Sequence[str], stop: asyncio.Event) -> bool:
    """Until every stream in ``names`` exists (False if ``stop`` comes first); says once what it waits for."""
    told: set[str] = set()
    while not stop.is_set():
        missing = []
        for name in names:
            try:
                found = foreign_parts((await js.stream_info(name)).config)
            except NotFoundError:
                missing.append(name)
                continue
            if found and name not in told:
                told.add(name)
                log.error("stream %s carries %s: events relayed through it are dead-lettered; provision the streams "
                          "again (deploy/README.md)", name, ", ".join(found))
        if not missing:
            return True
        if "" not in told:
            told.add("")
            log.warning("waiting for streams %s: not provisioned yet (python -m kit.messaging.provision); events wait "
                        "in the outbox", ", ".join(missing))
        await sleep_unless(stop, 1.0)
    return False
