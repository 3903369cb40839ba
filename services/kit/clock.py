"""Time in one place: aware UTC datetimes inside the services, protobuf Timestamps on the wire."""
from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_timestamp(value: dt.datetime | None) -> Timestamp | None:
    """A proto Timestamp (None stays None, so an unset message field stays unset); naive datetimes are UTC."""
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> dt.datetime | None:
    """An aware UTC datetime, or None for an unset (zero) Timestamp."""
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToDatetime(tzinfo=dt.UTC)
