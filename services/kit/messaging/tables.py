"""The kit's own tables, present in every service database: outbox, inbox, dead letters."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class KitBase(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime()}


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


class RateCounter(KitBase):
    """Calls counted per fixed window for one rate-limit key (e.g. "recover:ip:203.0.113.9"), counted atomically."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # window start, epoch seconds
    count: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(KitBase):
    """AIP-155: a request_id already served, and the resource its first call produced."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
