"""The messaging tables, present in every service database: outbox, inbox, dead letters; and the outbox row an
event becomes. Created by kit/migrations.py."""
from __future__ import annotations

import datetime as dt
import uuid

from google.protobuf.message import Message
from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kit.clock import utcnow
from kit.logging import current_correlation_id
from kit.messaging import envelope
from kit.tables import KitBase, Position


class OutboxMessage(KitBase):
    """An event written in the same transaction as the change it reports; the relay publishes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "position",
              sqlite_where=text("published_at IS NULL"), postgresql_where=text("published_at IS NULL")),
    )

    position: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class InboxEntry(KitBase):
    """An event a consumer has applied; written in the same transaction as the effect."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeadLetter(KitBase):
    """An event a consumer gave up on (undecodable, or failed on every allowed delivery)."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(100), index=True)
    event_id: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    deliveries: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def outbox_values(subject: str, message: Message, *, producer: str) -> dict[str, object]:
    """The column values of one event's outbox row (no ORM object: for a prebuilt INSERT on a hot path). The event id
    doubles as the NATS message id (JetStream drops duplicates)."""
    event_id = str(uuid.uuid4())
    now = utcnow()
    return dict(
        event_id=event_id,
        subject=subject,
        payload=message.SerializeToString(),
        headers={
            envelope.MSG_ID: event_id,
            envelope.EVENT_TYPE: message.DESCRIPTOR.full_name,
            envelope.PRODUCER: producer,
            envelope.OCCURRED_AT: now.isoformat(),
            envelope.CORRELATION_ID: current_correlation_id(),
        },
        created_at=now,
        published_at=None,
    )


def outbox_row(subject: str, message: Message, *, producer: str) -> OutboxMessage:
    """The outbox row of one event, as an ORM object to add to a session."""
    return OutboxMessage(**outbox_values(subject, message, producer=producer))
