"""SMTP outage: nothing listens on the mail server's port for the first half of a run, then the server comes back on
the same port. Meanwhile mails are requested at a steady rate, of several kinds: ticket mails through CreateTicket
(to the support mailbox and the acknowledgement to the requester) and the other services' EmailRequested events
(identity's temporary password, lock notice and lost identifier, cofor's terms link), published as their relays do.
Every mail must arrive exactly once after the server returns, sealed secrets included."""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from nats.js import JetStreamContext
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import support_service_pb2 as api
from portal.support.v1 import support_service_pb2_grpc as api_grpc
from portal.support.v1 import ticket_pb2 as pb

from bench.report import Report, percentile
from hardening.harness import publish_as
from kit import migrations
from kit.auth import CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import SealKeyPair, seal
from testing.fleet import ServiceProcess, nats_users
from testing.mailsink import MailSink, ReceivedMail
from testing.processes import NatsServer, free_port

from support.bootstrap import MIGRATIONS

MAILS, QUICK_MAILS = 2000, 100
SECONDS, QUICK_SECONDS = 20.0, 4.0  # the server is down for the first half
TOKEN = "harden-outage"
SUPPORT_MAILBOX = "helpdesk@outage.example"
REFERENCE = re.compile(r"\[(B2B-\d{4}-\d{6})\]")
LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
# The other services' mails, as they request them: producer, template, params, secrets (sealed to the mailer).
EVENT_MAILS: dict[str, tuple[str, int, dict[str, str], dict[str, str]]] = {
    "temporary_password": ("identity", ev.EMAIL_TEMPLATE_TEMPORARY_PASSWORD,
                           {"expire_time": LATER, "context": "new_account"}, {"temporary_password": "secret"}),
    "account_locked_notice": ("identity", ev.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE,
                              {"identifier": "V123456", "lock_time": LATER, "cause": "failed_attempts"}, {}),
    "identifier_recovery": ("identity", ev.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY,
                            {"identifiers": '["V123456"]', "legal_name": "Forges SA", "cofor_root": "12345A"}, {}),
    "terms_acceptance": ("cofor", ev.EMAIL_TEMPLATE_TERMS_ACCEPTANCE,
                         {"legal_name": "Forges SA", "cofor": "12345A  01", "signatory_name": "Claire Martin",
                          "administrator_name": "Paul Durand", "expire_time": LATER}, {"acceptance_token": "secret"}),
}

Mail = tuple[str, str, str]  # (recipient, kind, key): what makes a mail a duplicate of another, whatever its id


@dataclass
class Feed:
    """What was asked for, and when: each expected mail with whether it was requested while the server was down."""

    expected: dict[Mail, bool] = field(default_factory=dict)
    requested_at: dict[Mail, float] = field(default_factory=dict)
    secrets: dict[Mail, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def mail_of(received: ReceivedMail) -> Mail:
    to = received.rcpt_tos[0]
    reference = REFERENCE.search(str(received.message["Subject"]))
    if to == SUPPORT_MAILBOX:
        return to, "ticket_to_support", reference.group(1) if reference else ""
    kind, _, key = to.partition("@")[0].rpartition(".")
    if kind == "requester":
        return to, "ticket_acknowledgement", reference.group(1) if reference else ""
    return to, kind, key


async def run(report: Report, *, quick: bool = False) -> None:
    mails, seconds = (QUICK_MAILS, QUICK_SECONDS) if quick else (MAILS, SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:  # undone in reverse order
            root = Path(tmp)
            sink = MailSink(root / "mail", port=free_port())  # not started: nothing listens on its port yet
            stack.callback(sink.stop)
            keys = SealKeyPair.generate()
            url = f"sqlite+aiosqlite:///{root / 'support.sqlite3'}"
            await migrations.upgrade(url, MIGRATIONS)
            server = NatsServer(root / "nats", users=nats_users()).start()
            stack.callback(server.stop)
            support = ServiceProcess("support", {  # the mailer's backoff and poll as shipped
                "DATABASE_URL": url, **server.environment("support"), "SERVICE_CREDENTIALS": f"gateway:public:{TOKEN}",
                "SMTP_PORT": str(sink.port), "SUPPORT_MAILBOX": SUPPORT_MAILBOX,
                "MAIL_SEAL_PRIVATE_KEY": keys.private_key}, root / "support.log")
            stack.callback(support.stop)
            port = support.start().port
            nc = await server.connect()  # the test administrator publishes mail requests and reads the spool
            stack.push_async_callback(nc.close)
            js = nc.jetstream()
            await support.serving()
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            stack.push_async_callback(channel.close)
            feed = Feed()
            returned_at = await steady_feed(api_grpc.SupportServiceStub(channel), js, keys, sink, feed, mails, seconds)
            await delivered(report, sink, feed, returned_at, timeout=60 if quick else 180)


async def steady_feed(stub: api_grpc.SupportServiceAsyncStub, js: JetStreamContext, keys: SealKeyPair,
                      sink: MailSink, feed: Feed, mails: int, seconds: float) -> float:
    """Request ``mails`` mails evenly over ``seconds``, starting the sink halfway; returns when it came back."""
    plan: list[str] = []
    count = 0
    while count < mails:  # one request in three is a ticket (two mails), the others cycle through the event kinds
        kind = "ticket" if len(plan) % 3 == 0 else list(EVENT_MAILS)[len(plan) % len(EVENT_MAILS)]
        plan.append(kind)
        count += 2 if kind == "ticket" else 1
    down = True
    tasks: list[asyncio.Task[None]] = []
    returned_at = 0.0
    started = time.monotonic()
    for n, kind in enumerate(plan):
        delay = started + n * seconds / len(plan) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if down and time.monotonic() - started >= seconds / 2:
            await asyncio.to_thread(sink.start)  # the mail server is back, on the same port
            returned_at, down = time.monotonic(), False
        request = ticket(stub, n, feed, down) if kind == "ticket" else event(js, keys, kind, n, feed, down)
        tasks.append(asyncio.create_task(request))
    await asyncio.gather(*tasks)
    return returned_at


async def ticket(stub: api_grpc.SupportServiceAsyncStub, n: int, feed: Feed, down: bool) -> None:
    requester = f"requester.{n}@outage.example"
    asked = time.monotonic()
    try:  # as the gateway sends it: each requester from an address of their own (tickets are limited per address)
        reply = await stub.CreateTicket(api.CreateTicketRequest(
            category=pb.TICKET_CATEGORY_LOGIN_PROBLEM, subject=f"Outage {n}", text="Cannot log in",
            contact=pb.TicketContact(name="Claire Martin", email=requester, phone="+33 1 23 45 67 89",
                                     company="Forges SA", language="fr" if n % 2 else "en")),
            metadata=[(SERVICE_TOKEN_KEY, TOKEN), (CLIENT_ADDRESS_KEY, f"10.1.{n // 256}.{n % 256}")], timeout=30)
    except grpc.aio.AioRpcError as error:
        feed.failures.append(f"CreateTicket {error.code().name}")
        return
    reference = reply.ticket.reference
    for mail in ((SUPPORT_MAILBOX, "ticket_to_support", reference), (requester, "ticket_acknowledgement", reference)):
        feed.expected[mail], feed.requested_at[mail] = down, asked


async def event(js: JetStreamContext, keys: SealKeyPair, kind: str, n: int, feed: Feed, down: bool) -> None:
    producer, template, params, secrets = EVENT_MAILS[kind]
    to = f"{kind}.{n}@outage.example"
    secrets = {name: f"{value}-{n}" for name, value in secrets.items()}
    feed.expected[(to, kind, str(n))], feed.requested_at[(to, kind, str(n))] = down, time.monotonic()
    if secrets:
        feed.secrets[(to, kind, str(n))] = next(iter(secrets.values()))
    try:
        await publish_as(js, producer, EMAIL_SUBJECT, ev.EmailRequested(
            template=template, language="fr" if n % 2 else "en",  # type: ignore[arg-type]
            to=[ev.EmailRecipient(address=to, display_name="Claire Martin")], params=params,
            sealed_secrets=seal(keys.public_key, secrets) if secrets else b""))
    except Exception as error:  # a lost publish is a failed request: counted, never hidden
        feed.failures.append(f"publish {error!r}")


async def delivered(report: Report, sink: MailSink, feed: Feed, returned_at: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not set(feed.expected) <= {mail_of(m) for m in sink.received} and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # a duplicate would arrive meanwhile
    received = list(sink.received)
    kinds = Counter(mail_of(m) for m in received)
    got = set(kinds) & set(feed.expected)
    backlog = [m for m, down in feed.expected.items() if down]
    last = max((m.received_at for m in received), default=returned_at)
    backlog_last = max((m.received_at for m in received if feed.expected.get(mail_of(m))), default=returned_at)
    by_message_id = len(received) - len({m.message["Message-ID"] for m in received})
    by_content = sum(n - 1 for n in kinds.values())
    without_secret = sum(1 for m in received
                         if (secret := feed.secrets.get(mail_of(m))) and secret not in m.message.get_content())

    report.add("smtp_outage_mails_requested", len(feed.expected), "mails", "(report)",
               f"{len(backlog)} while the server was down, {len(feed.failures)} requests failed")
    report.add("smtp_outage_mails_delivered", len(got), "mails", f"= {len(feed.expected)}")
    report.add("smtp_outage_lost", len(set(feed.expected) - got), "mails", "0")
    report.add("smtp_outage_duplicated", max(by_message_id, by_content), "mails", "0",
               f"{by_message_id} by Message-ID, {by_content} by (recipient, kind, key)")
    report.add("smtp_outage_unexpected", len(set(kinds) - set(feed.expected)), "mails", "0")
    report.add("smtp_outage_without_secret", without_secret, "mails", "0",
               "sealed secrets must still open on the retries after the outage")
    report.add("smtp_outage_requests_failed", len(feed.failures), "requests", "0",
               "; ".join(sorted(set(feed.failures)))[:200] or "CreateTicket and publishing never wait for SMTP")
    report.add("smtp_outage_catch_up_seconds", last - returned_at, "s", "(report)",
               "server back → last mail delivered (the feed goes on meanwhile)")
    report.add("smtp_outage_backlog_drained_seconds", backlog_last - returned_at, "s", "(report)",
               f"server back → last of the {len(backlog)} mails requested while it was down; retries back off "
               "exponentially (MAIL_MAX_BACKOFF_SECONDS as shipped)")
    latencies = [m.received_at - feed.requested_at[mail] for m in received
                 if (mail := mail_of(m)) in feed.expected and not feed.expected[mail]]
    report.add("smtp_outage_latency_after_return_p99", percentile(latencies, 99) * 1000, "ms", "(report)",
               f"request → delivery of the {len(latencies)} mails requested after the server came back "
               f"(p50 {percentile(latencies, 50) * 1000:.0f} ms)")
    delivered_after = sum(1 for m in received if m.received_at >= returned_at)
    report.add("smtp_outage_throughput_after_return", delivered_after / max(last - returned_at, 1e-3), "mails/s",
               "(report)", f"{delivered_after} mails (backlog and steady feed) since the server came back")
