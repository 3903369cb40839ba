"""A NATS connection that keeps trying: services serve RPCs even while NATS is away (the outbox waits)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
from nats.aio.client import Client

from kit.backoff import Backoff

log = logging.getLogger(__name__)


async def connect_forever(url: str, stop: asyncio.Event, *, name: str, **options: Any) -> Client | None:
    """Connect, retrying the first connection too; returns None if ``stop`` is set first. ``options`` are the
    credential and TLS arguments of ``nats.connect`` (``kit.messaging.credentials.connect_options``)."""
    async def on_error(error: Exception) -> None:
        # nats-py's default logs a traceback for every failed reconnect; one line is enough here.
        log.warning("NATS: %r", error)

    backoff = Backoff()
    while not stop.is_set():
        try:
            return await nats.connect(
                servers=url.split(","),
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                ping_interval=5,
                max_outstanding_pings=3,
                error_cb=on_error,
                **options,
            )
        except Exception as exc:
            log.warning("NATS not reachable at %s; retrying", url, extra={"error": repr(exc)})
            await backoff.pause(stop)
    return None
