"""Closed-loop load: ``concurrency`` callers each send the next call when the last one returned."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.report import percentile


@dataclass
class LoadResult:
    calls: int
    seconds: float
    latencies: list[float]

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


async def closed_loop(call: Callable[[int], Awaitable[object]], total: int, concurrency: int) -> LoadResult:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(total, time.perf_counter() - started, latencies)
