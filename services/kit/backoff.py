"""The one pause policy of the kit's background loops after a failure (NATS or the database away): exponential
from 0.1 s, doubling up to 5 s, with jitter so that replicas do not retry in step; back to the start on success.

These loops run until the service stops and must stop at once when it does, so the pause wakes on ``stop``.
stamina (used where one call is retried within a time budget, kit/messaging/streams.py) sleeps without a way to
be woken, and retries a call rather than pacing a loop that also does other work between failures.
"""
from __future__ import annotations

import asyncio
import random

from kit.aio import sleep_unless


class Backoff:
    def __init__(self, initial: float = 0.1, maximum: float = 5.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._failures = 0

    def reset(self) -> None:
        """The work succeeded: the next failure pauses ``initial`` again."""
        self._failures = 0

    def next_delay(self) -> float:
        delay = self.initial * 2.0 ** min(self._failures, 32) + random.uniform(0, self.initial)
        self._failures += 1
        return min(self.maximum, delay)

    async def pause(self, stop: asyncio.Event) -> None:
        """Wait before the next try; returns early when ``stop`` is set."""
        await sleep_unless(stop, self.next_delay())
