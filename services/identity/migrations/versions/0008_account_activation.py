"""A new account is activated by its holder through a one-time link (issue 16): the link's token as a digest, and
when it stops working, on the account until the holder has chosen a password."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("activation_digest", sa.LargeBinary(32), nullable=True))  # SHA-256 of the token
        table.add_column(_ts("activation_expires_at", True))
        table.create_unique_constraint("uq_accounts_activation_digest", ["activation_digest"])


def downgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.drop_constraint("uq_accounts_activation_digest", type_="unique")
        table.drop_column("activation_expires_at")
        table.drop_column("activation_digest")
