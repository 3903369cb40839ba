"""Screenshots can no longer stall the support service (review finding 8, ARCHITECTURE §8): they are decoded off
the event loop, after every other field is checked and after the requester's limits are counted, a few at a time,
and a flood is refused rather than queued. Pillow's decoding (ImageFile.load) is observed, and held back where a
test needs decodes in flight: no timing is measured here (the figures are in hardening/screenshots.py)."""
from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from PIL import Image, ImageFile
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import ticket_pb2 as pb
from prometheus_client import REGISTRY

from kit.auth import CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of

from .conftest import TOKENS, Support, unique_email
from .test_tickets_and_help import contact, png


@dataclass
class Decodes:
    """Every decode Pillow runs: the thread it ran on; ``hold`` keeps decodes from finishing until ``release``."""

    threads: list[int] = field(default_factory=list)
    in_flight: int = 0
    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    released: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert await asyncio.to_thread(self.started.acquire, True, 10), "no decode started"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Decodes]:
    seen = Decodes()
    real = ImageFile.ImageFile.load

    def observed(image: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        with seen.lock:
            seen.threads.append(threading.get_ident())
            seen.in_flight += 1
        seen.started.release()
        try:
            if seen.hold:
                seen.released.wait(10)  # bounded: on the event loop this would freeze the test, not hang it
            return real(image)
        finally:
            with seen.lock:
                seen.in_flight -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", observed)
    yield seen
    seen.released.set()


def request(email: str, data: bytes, category: int = pb.TICKET_CATEGORY_LOGIN_PROBLEM) -> api.CreateTicketRequest:
    shot = pb.Screenshot(filename="s.png", content_type="image/png", data=data)
    return api.CreateTicketRequest(category=category, subject="Screen", text="See the screenshot.",  # type: ignore[arg-type]
                                   contact=contact(email), screenshot=shot)


async def create(support: Support, message: api.CreateTicketRequest, client: str,
                 vouch: tuple[str, str] | None = None) -> api.CreateTicketResponse:
    metadata = [(SERVICE_TOKEN_KEY, TOKENS["gateway"]), (CLIENT_ADDRESS_KEY, client)]
    if vouch:
        metadata += [("x-portal-principal-identifier", vouch[0]), ("x-portal-principal-cofor-root", vouch[1])]
    return await support.client.stub.CreateTicket(message, metadata=metadata, timeout=30)


async def failure(support: Support, message: api.CreateTicketRequest, client: str):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(support, message, client)
    return failure_of(err.value)


def big_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4000, 4000), (240, 240, 240)).save(out, "PNG")  # 16 Mpx, a few tens of kB
    return out.getvalue()


async def test_a_request_with_a_bad_field_is_refused_before_its_screenshot_is_decoded(
        support: Support, decodes: Decodes) -> None:
    found = await failure(support, request(unique_email("cheap"), big_png(), category=0), "198.51.100.1")
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in found.field_violations] == ["category"]
    assert decodes.threads == []


async def test_limits_are_counted_before_the_screenshot_is_decoded(support: Support, decodes: Decodes) -> None:
    client = "198.51.100.2"
    forged = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for n in range(20):  # each counted, then refused for its screenshot
        found = await failure(support, request(unique_email(f"forged{n}"), forged), client)
        assert found.code == grpc.StatusCode.INVALID_ARGUMENT and found.field_violations[0][0] == "screenshot.data"
    decoded = len(decodes.threads)
    found = await failure(support, request(unique_email("valid"), png()), client)
    assert (found.code, found.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert len(decodes.threads) == decoded  # refused without decoding

    email = unique_email("open")
    for n in range(5):
        await create(support, request(email, png()), f"198.51.100.{10 + n}")
    decoded = len(decodes.threads)
    found = await failure(support, request(email, png()), "198.51.100.20")
    assert found.reason == "TOO_MANY_OPEN_TICKETS" and len(decodes.threads) == decoded


async def test_help_answers_while_screenshots_are_being_decoded(support: Support, decodes: Decodes) -> None:
    decodes.hold = True
    tickets = [asyncio.create_task(create(support, request(unique_email(f"slow{n}"), png()), f"198.51.100.{30 + n}"))
               for n in range(3)]
    await decodes.wait_started(2)  # both decoders busy, one request waiting
    topics = await support.client.ListHelpTopics(api.ListHelpTopicsRequest(language="en"))
    article = await support.client.GetHelpArticle(api.GetHelpArticleRequest(id="log-in", language="fr"))
    assert topics.topics and article.article.body
    assert decodes.in_flight == 2 and not any(t.done() for t in tickets)  # answered while the decodes ran
    decodes.released.set()
    assert [r.ticket.screenshot.width_px for r in await asyncio.gather(*tickets)] == [64, 64, 64]
    assert threading.get_ident() not in decodes.threads  # never on the event loop's thread


async def test_a_flood_of_screenshots_is_refused_at_once_but_a_signed_in_requester_still_waits_for_a_turn(
        support: Support, decodes: Decodes) -> None:
    decodes.hold = True
    held = [asyncio.create_task(create(support, request(unique_email(f"flood{n}"), png()), f"198.51.100.{50 + n}"))
            for n in range(10)]  # 2 decoding (the default), 8 waiting (the default queue)
    await decodes.wait_started(2)
    while (REGISTRY.get_sample_value("portal_screenshot_jobs_held") or 0) < 10:
        await asyncio.sleep(0.05)
    found = await failure(support, request(unique_email("flood-more"), png()), "198.51.100.70")
    assert (found.code, found.reason, found.metadata["retryAfterSeconds"]) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "SCREENSHOTS_BUSY", "5")
    signed_in = asyncio.create_task(create(support, request(unique_email("member"), png()), "198.51.100.70",
                                           vouch=("V123456", "ABC123")))
    decodes.released.set()
    assert (await signed_in).ticket.identity_proven
    assert len(await asyncio.gather(*held)) == 10


@pytest.mark.parametrize("data,content_type,field,rule", [
    (b"\x00" * (5 * 1024 * 1024 + 1), "image/png", "screenshot.data", "SCREENSHOT_TOO_LARGE"),
    ("big", "image/png", "screenshot.data", "SCREENSHOT_TOO_LARGE"),  # 4500 × 4000: over 17,000,000 pixels
    (b"GIF89a" + b"\x00" * 100, "image/gif", "screenshot.data", "SCREENSHOT_INVALID"),
    ("small", "image/jpeg", "screenshot.content_type", "SCREENSHOT_INVALID"),  # a PNG said to be a JPEG
])
async def test_a_refused_screenshot_names_its_rule_as_the_contract_says(
        support: Support, data: bytes | str, content_type: str, field: str, rule: str) -> None:
    if data == "big":
        out = io.BytesIO()
        Image.new("1", (4500, 4000)).save(out, "PNG")
        data = out.getvalue()
    message = request(unique_email("rule"), png() if data == "small" else data)  # type: ignore[arg-type]
    message.screenshot.content_type = content_type
    found = await failure(support, message, "198.51.100.80")
    assert (found.code, found.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")
    assert list(zip([f for f, _ in found.field_violations], found.violation_reasons)) == [(field, rule)]
