"""The company gate remembers when each of its two states last changed at cofor, so that an older event
delivered late (a redelivery after a crash) cannot undo a newer one."""
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(_ts("supplier_status_at", True))
        batch.add_column(_ts("access_state_at", True))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("access_state_at")
        batch.drop_column("supplier_status_at")
