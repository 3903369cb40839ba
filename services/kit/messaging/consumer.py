"""Durable pull consumer: explicit ack, bounded redelivery with backoff, dead letters, inbox idempotency."""
from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import nats.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import IntegrityError

from kit.backoff import Backoff
from kit.db import UnitOfWork
from kit.logging import correlation_id_var
from kit.messaging.envelope import EventContext
from kit.messaging.tables import DeadLetter

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
U = TypeVar("U", bound=UnitOfWork)

Handler = Callable[[Any, EventContext, Any], Awaitable[None]]


# What JetStream adds to a message it moved from the stream it was published to: a stream's republish
# (Nats-Stream, Nats-Subject, Nats-Sequence, Nats-Time-Stamp, Nats-Last-Sequence) or sources (Nats-Stream-Source);
# nats-server's JSStream... and JSStreamSource constants. A mirror adds none: the stream check below catches it.
RELAYED_HEADERS = frozenset(h.lower() for h in ("Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp",
                                                "Nats-Last-Sequence", "Nats-Stream-Source"))


class PermanentError(Exception):
    """A handler raises it when retrying can never help: the event goes to the dead letters at once."""


@dataclass(frozen=True)
class Subscription(Generic[M]):
    """One subject a consumer applies: decode into ``message_type``, then ``handler(event, ctx, uow)``."""

    subject: str
    message_type: type[M]
    handler: Handler


class EventConsumer:
    """Applies events from one stream through a durable pull consumer named ``durable``.

    Each event is handled in its own unit of work together with its inbox entry, so a redelivered event
    is applied once. A failed event is redelivered after ``backoff[n]`` seconds; after ``max_deliver``
    attempts (or on a ``PermanentError``/undecodable payload) it is stored as a dead letter and terminated.
    """

    def __init__(self, *, durable: str, stream: str, subscriptions: Sequence[Subscription[Any]],
                 unit_of_work: Callable[[], U], max_deliver: int = 6,
                 backoff: Sequence[float] = (0.5, 2, 10, 30, 60), batch: int = 64, ack_wait: float = 30.0) -> None:
        if not subscriptions:
            raise ValueError("a consumer needs at least one subscription")
        self.durable = durable
        self.stream = stream
        self._by_subject = {s.subject: s for s in subscriptions}
        self._unit_of_work = unit_of_work
        self._max_deliver = max_deliver
        self._backoff = list(backoff)
        self._batch = batch
        self._ack_wait = ack_wait
        self.applied_total = 0
        self.dead_lettered_total = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            # One more than our own limit: the last attempt is ours to dead-letter, never the server's silent drop.
            max_deliver=self._max_deliver + 1,
            filter_subjects=sorted(self._by_subject),
            max_ack_pending=1000,
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """Create or update the durable consumer (idempotent, safe at every start-up)."""
        # The server's CONSUMER.CREATE creates, or updates the editable fields of, an existing durable.
        await js.add_consumer(self.stream, self.config())

    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        await self.ensure(js)
        sub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        try:
            backlog = True
            backoff = Backoff()
            while not stop.is_set():
                try:
                    # With a backlog, a batch fetch returns at once with what is there. Without one, a batch
                    # fetch would linger until the batch fills or times out, so wait for a single message
                    # instead: it is handed over the moment it arrives.
                    msgs = await sub.fetch(self._batch if backlog else 1, timeout=1.0)
                except (nats.errors.TimeoutError, asyncio.TimeoutError):
                    backlog = False
                    backoff.reset()  # the server answered: nothing to read
                    continue
                except Exception as exc:  # connection trouble: the client reconnects, we try again
                    log.warning("consumer %s fetch failed", self.durable, extra={"error": repr(exc)})
                    await backoff.pause(stop)
                    continue
                backoff.reset()
                if len(msgs) > 1:
                    await self.handle_batch(msgs)
                else:
                    await self.handle(msgs[0])
                last = msgs[-1].metadata if msgs else None
                backlog = bool(last and last.num_pending)
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass

    def not_from_producer(self, msg: Msg) -> str | None:
        """Why ``msg`` is not an event as its producer published it into this consumer's stream (ARCHITECTURE §9
        "Trust"), or None. Such a message came through a stream's republish, sources or mirror: anyone who could
        set those chose what it says, so it is never acted on."""
        relayed = sorted(h for h in (msg.headers or {}) if h.lower() in RELAYED_HEADERS)
        if relayed:
            return f"relayed by JetStream ({', '.join(relayed)}), not as its producer published it"
        stream = msg.metadata.stream if msg.reply else ""
        if stream != self.stream:
            return f"read from stream {stream or '(none)'}, not from {self.stream}"
        return None

    async def handle(self, msg: Msg) -> None:
        delivery = msg.metadata.num_delivered if msg.metadata else 1
        ctx = EventContext.from_headers(msg.subject, msg.headers, delivery)
        token = correlation_id_var.set(ctx.correlation_id or None)
        try:
            foreign = self.not_from_producer(msg)
            if foreign is not None:
                await self._dead_letter(msg, ctx, f"not from the producer's stream: {foreign}")
                return
            subscription = self._by_subject.get(msg.subject)
            if subscription is None:
                await self._dead_letter(msg, ctx, f"no handler for subject {msg.subject}")
                return
            try:
                event = subscription.message_type.FromString(msg.data)
            except DecodeError as exc:
                await self._dead_letter(msg, ctx, f"undecodable payload: {exc}")
                return
            try:
                await self._apply(subscription, event, ctx)
            except PermanentError as exc:
                await self._dead_letter(msg, ctx, f"permanent failure: {exc!r}")
                return
            except Exception as exc:
                if delivery >= self._max_deliver:
                    await self._dead_letter(msg, ctx, "".join(traceback.format_exception(exc))[-4000:])
                    return
                delay = self._backoff[min(delivery - 1, len(self._backoff) - 1)]
                log.warning("consumer %s failed on %s (delivery %d), retry in %ss: %r", self.durable, ctx.subject,
                            delivery, delay, exc, extra={"event_id": ctx.event_id})
                await msg.nak(delay=delay)
                return
            await msg.ack()
        finally:
            correlation_id_var.reset(token)

    async def handle_batch(self, msgs: list[Msg]) -> None:
        """A backlog is applied in one transaction (one commit instead of one per event). If anything in it
        fails, nothing of it is kept and each event is handled alone, so only the faulty one is retried (a batch
        with one that is not for this consumer, foreign or undecodable goes that way at once)."""
        prepared: list[tuple[Subscription[Any], Message, EventContext]] = []
        for msg in msgs:
            batchable = self._batchable(msg)
            if batchable is None:
                prepared = []
                break
            delivery = msg.metadata.num_delivered if msg.metadata else 1
            prepared.append((*batchable, EventContext.from_headers(msg.subject, msg.headers, delivery)))
        if not prepared:
            for msg in msgs:
                await self.handle(msg)
            return
        try:
            applied = 0
            async with self._unit_of_work() as uow:
                for subscription, event, ctx in prepared:
                    if await uow.already_processed(self.durable, ctx.event_id):
                        continue
                    token = correlation_id_var.set(ctx.correlation_id or None)
                    try:
                        await subscription.handler(event, ctx, uow)
                    finally:
                        correlation_id_var.reset(token)
                    await uow.record_processed(self.durable, ctx.event_id)
                    applied += 1
                await uow.commit()
        except Exception:
            for msg in msgs:
                await self.handle(msg)
            return
        self.applied_total += applied
        await asyncio.gather(*(msg.ack() for msg in msgs))

    def _batchable(self, msg: Msg) -> tuple[Subscription[Any], Message] | None:
        """Its subscription and event if ``msg`` can join a batch; None: ``handle`` says what is wrong with it."""
        subscription = self._by_subject.get(msg.subject)
        if subscription is None or self.not_from_producer(msg) is not None:
            return None
        try:
            return subscription, subscription.message_type.FromString(msg.data)
        except DecodeError:
            return None

    async def _apply(self, subscription: Subscription[Any], event: Message, ctx: EventContext) -> None:
        try:
            async with self._unit_of_work() as uow:
                if await uow.already_processed(self.durable, ctx.event_id):
                    return
                await subscription.handler(event, ctx, uow)
                await uow.record_processed(self.durable, ctx.event_id)
                await uow.commit()
                self.applied_total += 1
        except IntegrityError:
            # Another replica applied the same delivery first: its inbox row won the race; ours rolled back.
            async with self._unit_of_work() as uow:
                if await uow.already_processed(self.durable, ctx.event_id):
                    return
            raise

    async def _dead_letter(self, msg: Msg, ctx: EventContext, error: str) -> None:
        log.error("consumer %s dead-lettered %s", self.durable, ctx.subject,
                  extra={"event_id": ctx.event_id, "delivery": ctx.delivery, "error": error[:500]})
        async with self._unit_of_work() as uow:
            uow.session.add(DeadLetter(consumer=self.durable, event_id=ctx.event_id, subject=msg.subject,
                                       payload=msg.data, headers=dict(msg.headers or {}),
                                       deliveries=ctx.delivery, error=error))
            await uow.commit()
        self.dead_lettered_total += 1
        await msg.term()

