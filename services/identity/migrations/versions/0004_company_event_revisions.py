"""The company gate remembers cofor's supplier revision of the last applied status and access change: the exact
order of cofor's events (0003's event times stay, for events sent without a revision)."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("supplier_status_revision", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("access_state_revision", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("access_state_revision")
        batch.drop_column("supplier_status_revision")
