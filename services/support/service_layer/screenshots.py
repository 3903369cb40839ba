"""Screenshots are decoded off the event loop, a few at a time; past a short queue they are refused at once.

Decoding a big image takes up to about half a second of CPU (Pillow releases the GIL meanwhile). On the event loop
it would stall every other call of the service (help pages, health checks, the mailer). The pool's threads bound
how many decode at once; ``held`` bounds how many wait, so that a flood costs a counter increment, not memory and
not an ever longer queue. A job counts as held until its thread is done with it, even when the caller stopped
waiting (deadline, cancelled call): abandoned work still occupies a decoder.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from prometheus_client import Counter, Gauge

from kit.errors import ResourceExhausted

from support.domain.screenshots import CleanScreenshot, clean_screenshot

DECODES = Counter("portal_screenshot_decodes_total", "Screenshots decoded, by where the decoding ran",
                  ["thread"])  # "event_loop" must stay 0
BUSY = Counter("portal_screenshot_busy_total", "Screenshots refused because every decoder and queue place was taken",
               ["requester"])
HELD = Gauge("portal_screenshot_jobs_held", "Screenshots being decoded or waiting for a decoder")
RETRY_AFTER_SECONDS = 5


def _yield_the_cpu() -> None:
    """Decoder threads run at the lowest priority (Linux: niceness is per thread), so that the event loop's thread
    gets a core first when the machine is busy."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _decode(data: bytes, filename: str) -> CleanScreenshot:
    try:
        asyncio.get_running_loop()
        DECODES.labels("event_loop").inc()
    except RuntimeError:  # no loop in this thread: a worker
        DECODES.labels("worker").inc()
    return clean_screenshot(data, filename)


class ScreenshotDecoder:
    def __init__(self, workers: int = 2, queue: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="screenshot",
                                        initializer=_yield_the_cpu)
        self._anyone = workers + queue
        # A signed-in requester may wait in a queue twice as long: a flood of anonymous screenshots never refuses them.
        self._proven = workers + 2 * queue
        self.held = 0

    async def clean(self, data: bytes, filename: str, *, proven: bool = False) -> CleanScreenshot:
        """The cleaned screenshot (ScreenshotRejected when it is not a bounded PNG or JPEG); RESOURCE_EXHAUSTED
        ``SCREENSHOTS_BUSY`` when the queue is full."""
        if self.held >= (self._proven if proven else self._anyone):
            BUSY.labels("proven" if proven else "anonymous").inc()
            raise ResourceExhausted("SCREENSHOTS_BUSY", "too many screenshots are being checked; try again shortly",
                                    metadata={"retryAfterSeconds": str(RETRY_AFTER_SECONDS)})
        loop = asyncio.get_running_loop()
        job = self._pool.submit(_decode, data, filename)
        self._hold(1)

        def done(_: Future[CleanScreenshot]) -> None:  # in the worker thread (or here, if cancelled before it ran)
            try:
                loop.call_soon_threadsafe(self._hold, -1)
            except RuntimeError:  # the loop is closed: the service is gone, nothing left to count
                pass

        job.add_done_callback(done)
        return await asyncio.wrap_future(job)

    def _hold(self, change: int) -> None:
        self.held += change
        HELD.set(self.held)
