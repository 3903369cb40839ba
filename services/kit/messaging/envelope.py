"""Event metadata: it travels in NATS headers, the payload is the bare protobuf event message."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MSG_ID = "Nats-Msg-Id"  # JetStream de-duplicates on it inside the stream's duplicate window
EVENT_TYPE = "Portal-Event-Type"  # full protobuf message name
PRODUCER = "Portal-Producer"
OCCURRED_AT = "Portal-Occurred-At"  # RFC 3339, UTC
CORRELATION_ID = "Portal-Correlation-Id"


@dataclass(frozen=True)
class EventContext:
    """What a consumer handler knows about the event besides its payload."""

    event_id: str
    subject: str
    event_type: str
    producer: str
    occurred_at: dt.datetime | None
    correlation_id: str
    delivery: int

    @classmethod
    def from_headers(cls, subject: str, headers: dict[str, str] | None, delivery: int) -> EventContext:
        headers = headers or {}
        occurred = headers.get(OCCURRED_AT)
        return cls(
            event_id=headers.get(MSG_ID, ""),
            subject=subject,
            event_type=headers.get(EVENT_TYPE, ""),
            producer=headers.get(PRODUCER, ""),
            occurred_at=dt.datetime.fromisoformat(occurred) if occurred else None,
            correlation_id=headers.get(CORRELATION_ID, ""),
            delivery=delivery,
        )
