"""The kit's tables that every service database holds, besides messaging's (kit/messaging/tables.py): rate
counters and idempotency keys, and the declarative base all the kit's tables share. Created by kit/migrations.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.clock import utcnow
from kit.columns import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")


class KitBase(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime()}


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
