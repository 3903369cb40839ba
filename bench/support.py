"""support figures: CreateTicket with a 1 MiB screenshot, mailer throughput, event → SMTP acceptance latency."""
from __future__ import annotations

import asyncio
import io
import random
import tempfile
import time
import uuid
from pathlib import Path

import grpc
from PIL import Image
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc as api_grpc
from portal.support.v1 import ticket_pb2 as pb

from bench.load import closed_loop
from bench.report import Report, percentile
from bench.servers import cpu_seconds, spawn, wait_serving
from kit import migrations
from kit.auth import SERVICE_TOKEN_KEY
from kit.messaging import envelope
from kit.sealed import SealKeyPair
from testing.fleet import nats_users
from testing.mailsink import MailSink
from testing.processes import NatsServer, free_port

from support.bootstrap import MIGRATIONS

TICKETS = 60
MAILS = 2000
LATENCY_RATE = 50
LATENCY_SECONDS = 10


def screenshot_1mib() -> bytes:
    rng = random.Random(1)
    side = 600  # noise does not compress: 600 × 600 × 3 bytes ≈ 1 MiB of PNG
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite+aiosqlite:///{root / 'support.sqlite3'}"
        await migrations.upgrade(url, MIGRATIONS)
        seal = SealKeyPair.generate()
        server_nats = NatsServer(root / "nats", users=nats_users()).start()
        sink = MailSink(root / "mail").start()
        port = free_port()
        support = spawn(["-m", "support"], {
            "DATABASE_URL": url, "GRPC_PORT": str(port), **server_nats.environment("support"), "METRICS_PORT": "0",
            "SERVICE_CREDENTIALS": "agent:support:bench", "SMTP_PORT": str(sink.port), "LOG_LEVEL": "WARNING",
            "MAIL_SEAL_PRIVATE_KEY": seal.private_key, "MAIL_POLL_SECONDS": "1", "MAX_OPEN_TICKETS_PER_EMAIL": "1000"},
            root / "support.log")
        nc = await server_nats.connect()  # the test administrator publishes the mail requests
        js = nc.jetstream()
        try:
            await wait_serving(f"127.0.0.1:{port}")
            image = screenshot_1mib()
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = api_grpc.SupportServiceStub(channel)

                async def create(i: int) -> object:
                    return await stub.CreateTicket(api.CreateTicketRequest(
                        category=pb.TICKET_CATEGORY_LOGIN_PROBLEM, subject="Cannot log in", text="Screenshot attached",
                        screenshot=pb.Screenshot(filename="s.png", content_type="image/png", data=image),
                        contact=pb.TicketContact(name="Bench", email=f"b{i}@bench.example", phone="+33 1 23 45 67 89",
                                                 company="Bench SA", language="fr")),
                        metadata=[(SERVICE_TOKEN_KEY, "bench")], timeout=60)

                await closed_loop(create, 4, 2)
                before = cpu_seconds(support.pid)
                result = await closed_loop(create, TICKETS, 4)
                used = cpu_seconds(support.pid) - before
            report.add("support_create_ticket_1mib_per_cpu_second", TICKETS / used, "tickets/cpu-s", "(report)",
                       f"{len(image) / 2**20:.2f} MiB PNG decoded, re-encoded, stored")
            report.add("support_create_ticket_1mib_p99", result.p99_ms, "ms", "(report)", "4 concurrent")

            # Mailer throughput: a backlog of mail requests, drained to the local SMTP sink.
            await asyncio.sleep(3)  # let the ticket mails go out first
            already = len(sink.received)
            started = time.perf_counter()
            for start in range(0, MAILS, 500):
                futures = [await js.publish_async("notification.email.requested", ev.EmailRequested(
                    template=ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, language="fr",
                    to=[ev.EmailRecipient(address=f"m{i}@bench.example")],
                    params={"reference": f"B2B-2026-{i:06d}", "subject": "Bench"}).SerializeToString(),
                    headers={envelope.MSG_ID: str(uuid.uuid4())}) for i in range(start, min(start + 500, MAILS))]
                await asyncio.gather(*futures)
            deadline = time.perf_counter() + 120
            while len(sink.received) - already < MAILS and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            delivered = len(sink.received) - already
            report.add("mailer_throughput", delivered / elapsed, "mails/s", ">= 200",
                       f"{delivered} of {MAILS} delivered to the local SMTP sink")

            # Event → accepted by SMTP, at a steady rate.
            published: dict[str, float] = {}
            total = LATENCY_RATE * LATENCY_SECONDS
            t0 = time.perf_counter()
            for i in range(total):
                delay = t0 + i / LATENCY_RATE - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                event_id = str(uuid.uuid4())
                published[event_id] = time.monotonic()
                await js.publish("notification.email.requested", ev.EmailRequested(
                    template=ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, language="en",
                    to=[ev.EmailRecipient(address=f"lat{i}@bench.example")],
                    params={"reference": "B2B-2026-000001", "subject": "Latency"}).SerializeToString(),
                    headers={envelope.MSG_ID: event_id})
            deadline = time.perf_counter() + 60
            latencies: list[float] = []
            while time.perf_counter() < deadline:
                latencies = [m.received_at - published[m.message["Message-ID"][1:].split("@")[0]]
                             for m in sink.received if m.message["Message-ID"][1:].split("@")[0] in published]
                if len(latencies) >= total:
                    break
                await asyncio.sleep(0.1)
            report.add("event_to_smtp_p50", percentile(latencies, 50) * 1000, "ms", "(report)",
                       f"{LATENCY_RATE} mails/s for {LATENCY_SECONDS}s; {len(latencies)} of {total} arrived")
            report.add("event_to_smtp_p99", percentile(latencies, 99) * 1000, "ms", "(report)")
        finally:
            await nc.close()
            support.terminate()
            support.wait(15)
            sink.stop()
            server_nats.stop()
