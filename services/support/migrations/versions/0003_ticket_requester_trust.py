"""Tickets record whether the requester's identifier and COFOR were proven (sent from a live portal session) and
which open tickets they count against (``flood_key``). Existing tickets were all anonymous: claimed, counted by
their e-mail."""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("identity_proven", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("flood_key", sa.String(300), nullable=False, server_default=""))
    op.execute("UPDATE tickets SET flood_key = 'email:' || lower(contact_email)")
    op.create_index("ix_tickets_flood_key_status", "tickets", ["flood_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_tickets_flood_key_status", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("flood_key")
        batch.drop_column("identity_proven")
