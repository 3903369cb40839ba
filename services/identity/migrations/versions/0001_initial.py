"""Initial identity schema: the kit's tables (outbox, inbox, dead letters, rate counters, idempotency keys)."""
from kit.migrations import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
