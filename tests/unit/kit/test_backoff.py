"""The background loops' pause after a failure (kit.backoff.Backoff)."""
from __future__ import annotations

import asyncio
import time

from kit.backoff import Backoff


def test_pauses_double_up_to_the_maximum_with_jitter_and_start_again_after_a_success() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for n, delay in enumerate(delays[:3]):
        assert 0.1 * 2 ** n <= delay <= 0.1 * 2 ** n + 0.1
    assert delays[-1] == 1.0
    backoff.reset()
    assert backoff.next_delay() <= 0.2


async def test_a_pause_ends_at_once_when_the_service_stops() -> None:
    stop = asyncio.Event()
    backoff = Backoff(initial=30.0, maximum=30.0)
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    await backoff.pause(stop)
    assert time.monotonic() - started < 5
