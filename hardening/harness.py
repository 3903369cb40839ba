"""What several hardening suites need beside the fleet's processes (testing/fleet.py): events published as a
service's outbox relay publishes them (same headers), so that the services under test see exactly what production
sends."""
from __future__ import annotations

from google.protobuf.message import Message
from nats.js import JetStreamContext

from kit.messaging.tables import outbox_row


async def publish_as(js: JetStreamContext, producer: str, subject: str, message: Message) -> str:
    """Publish ``message`` with the envelope headers ``producer``'s relay would set; returns the event id."""
    row = outbox_row(subject, message, producer=producer)
    await js.publish(subject, row.payload, headers=dict(row.headers))
    return row.event_id
