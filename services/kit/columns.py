"""Column types shared by the services' tables: aware UTC timestamps on every database, domain enums by value."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Column, DateTime, Enum
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are aware and UTC in Python on every database (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def timestamp_column(name: str, nullable: bool = False) -> Column[dt.datetime]:
    """An aware UTC timestamp column for a service's tables."""
    return Column(name, UtcDateTime(), nullable=nullable)


def value_enum(cls: type[enum.Enum], length: int = 30) -> Enum:
    """A domain enum stored as plain VARCHAR holding its value (the schema the migrations made), loaded back as the
    enum."""
    return Enum(cls, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda e: [m.value for m in e])
