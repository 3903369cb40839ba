"""Tables of the support database: tickets (with replies, status changes, screenshot) and the mail spool."""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, String, \
    Table, Text

from kit.db import timestamp_column as _ts

metadata = MetaData()

tickets = Table(
    "tickets", metadata,
    Column("reference", String(20), primary_key=True),
    Column("category", String(30), nullable=False),
    Column("status", String(30), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(254), nullable=False),
    Column("contact_phone", String(40), nullable=False),
    Column("contact_company", String(200), nullable=False),
    Column("contact_identifier", String(40), nullable=False),
    Column("contact_cofor", String(40), nullable=False),
    Column("language", String(2), nullable=False),
    _ts("created_at"), _ts("updated_at"),
    # True when the identifier and COFOR are a live session's (the gateway vouched for them), False when typed.
    Column("identity_proven", Boolean, nullable=False, default=False),
    # Which open tickets a new one counts against (domain.tickets.flood_key).
    Column("flood_key", String(300), nullable=False),
    Index("ix_tickets_email_status", "contact_email", "status"),
    Index("ix_tickets_flood_key_status", "flood_key", "status"),
    Index("ix_tickets_created", "created_at"),
)

ticket_screenshots = Table(
    "ticket_screenshots", metadata,
    Column("reference", String(20), ForeignKey("tickets.reference"), primary_key=True),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

ticket_replies = Table(
    "ticket_replies", metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(20), ForeignKey("tickets.reference"), nullable=False, index=True),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
    _ts("created_at"),
)

ticket_status_changes = Table(
    "ticket_status_changes", metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(20), ForeignKey("tickets.reference"), nullable=False, index=True),
    Column("previous_status", String(30), nullable=False),
    Column("status", String(30), nullable=False),
    Column("note", Text, nullable=False),
    Column("author", String(200), nullable=False),
    _ts("changed_at"),
)

ticket_counters = Table(
    "ticket_counters", metadata,
    Column("year", Integer, primary_key=True),
    Column("last", BigInteger, nullable=False),
)

# One row per EmailRequested event: the mail waits here until the SMTP server accepted it. Secrets stay sealed
# at rest and are wiped once the mail is sent.
mail_spool = Table(
    "mail_spool", metadata,
    Column("event_id", String(100), primary_key=True),
    Column("template", String(60), nullable=False),
    Column("language", String(2), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("reply_to", JSON, nullable=True),
    Column("params", JSON, nullable=False),
    Column("sealed_secrets", LargeBinary, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # PENDING, SENT, FAILED
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    _ts("created_at"), _ts("next_attempt_at"), _ts("sent_at", True),
    Index("ix_mail_spool_due", "status", "next_attempt_at"),
)
