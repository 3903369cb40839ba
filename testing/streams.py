"""Reading what a stream holds, for tests: every message on a subject filter, oldest first."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def read_subject(js: JetStreamContext, stream: str, subject: str) -> list[Msg]:
    """All messages currently stored for ``subject`` (an ephemeral consumer, no ack)."""
    info = await js.stream_info(stream, subjects_filter=subject)
    total = sum((info.state.subjects or {}).values())
    if not total:
        return []
    sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=10))
    messages: list[Msg] = []
    try:
        while len(messages) < total:
            try:
                messages += await sub.fetch(min(256, total - len(messages)), timeout=2)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                break
    finally:
        await sub.unsubscribe()
    return messages


async def wait_for(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``probe`` until it returns something truthy; that value is returned."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"nothing arrived within {timeout}s")
        await asyncio.sleep(interval)
