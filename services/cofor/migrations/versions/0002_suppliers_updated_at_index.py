"""Index suppliers.updated_at: the validation directory reads recent changes by it."""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_suppliers_updated_at", "suppliers", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_suppliers_updated_at", table_name="suppliers")
