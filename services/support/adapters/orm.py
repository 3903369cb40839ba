"""Tables of the support database: tickets (with replies, status changes, screenshot) and the mail spool, and
their mapping onto the pure domain classes (imperative mapping, as in cofor)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.orm import column_property, composite, deferred, registry, relationship

from kit.columns import timestamp_column as _ts
from kit.columns import value_enum as _enum

from support.domain.mail import SpooledMail
from support.domain.tickets import Category, Contact, Reply, Screenshot, Status, StatusChange, Ticket

metadata = MetaData()
mapper_registry = registry(metadata=metadata)



tickets = Table(
    "tickets", metadata,
    Column("reference", String(20), primary_key=True),
    Column("category", _enum(Category), nullable=False),
    Column("status", _enum(Status), nullable=False),
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
    Column("previous_status", _enum(Status), nullable=False),
    Column("status", _enum(Status), nullable=False),
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


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    contact = composite(Contact, tickets.c.contact_name, tickets.c.contact_email, tickets.c.contact_phone,
                        tickets.c.contact_company, tickets.c.contact_identifier, tickets.c.contact_cofor,
                        tickets.c.language)
    # The image stays in the database until a mail attaches it; its size is read there. Not expired on flush: a
    # new ticket's screenshot already knows its size, and an async session cannot lazy-load it again.
    shot = mapper_registry.map_imperatively(Screenshot, ticket_screenshots, properties={
        "data": deferred(ticket_screenshots.c.data),
        "size": column_property(func.length(ticket_screenshots.c.data), expire_on_flush=False),
    })
    reply = mapper_registry.map_imperatively(Reply, ticket_replies)
    change = mapper_registry.map_imperatively(StatusChange, ticket_status_changes)
    mapper_registry.map_imperatively(Ticket, tickets, properties={
        "contact": contact,
        "screenshot": relationship(shot, uselist=False, lazy="selectin", cascade="all"),
        "replies": relationship(reply, lazy="selectin", order_by=ticket_replies.c.created_at, cascade="all"),
        "status_changes": relationship(change, lazy="selectin", order_by=ticket_status_changes.c.changed_at,
                                       cascade="all"),
    })
    mapper_registry.map_imperatively(SpooledMail, mail_spool)
