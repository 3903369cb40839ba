"""Kit tables plus a 'notes' table standing for a service's own state."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table("notes", sa.Column("id", sa.String(36), primary_key=True), sa.Column("text", sa.Text()))


def downgrade() -> None:
    op.drop_table("notes")
    drop_kit_tables()
