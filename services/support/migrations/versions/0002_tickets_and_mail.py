"""Tickets, their screenshots, replies and status changes; the yearly reference counter; the mail spool."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0002"
down_revision = "0001"



def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("reference", sa.String(20), primary_key=True),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=False),
        sa.Column("contact_company", sa.String(200), nullable=False),
        sa.Column("contact_identifier", sa.String(40), nullable=False),
        sa.Column("contact_cofor", sa.String(40), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        _ts("created_at"), _ts("updated_at"),
    )
    op.create_index("ix_tickets_email_status", "tickets", ["contact_email", "status"])
    op.create_index("ix_tickets_created", "tickets", ["created_at"])
    op.create_table(
        "ticket_screenshots",
        sa.Column("reference", sa.String(20), sa.ForeignKey("tickets.reference"), primary_key=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "ticket_replies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(20), sa.ForeignKey("tickets.reference"), nullable=False, index=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(20), sa.ForeignKey("tickets.reference"), nullable=False, index=True),
        sa.Column("previous_status", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _ts("changed_at"),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "mail_spool",
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("reply_to", sa.JSON(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("sealed_secrets", sa.LargeBinary(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        _ts("created_at"), _ts("next_attempt_at"), _ts("sent_at", True),
    )
    op.create_index("ix_mail_spool_due", "mail_spool", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("mail_spool", "ticket_counters", "ticket_status_changes", "ticket_replies", "ticket_screenshots",
                  "tickets"):
        op.drop_table(table)
