"""Accounts, sessions, the company-gate projection and the audit trail."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0002"
down_revision = "0001"



def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("identifier", sa.String(7), primary_key=True),
        sa.Column("cofor_root", sa.String(6), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("job_title", sa.String(100), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("is_administrator", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("disabled_cause", sa.String(30), nullable=False),
        sa.Column("lock_cause", sa.String(30), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        _ts("password_expires_at", True), _ts("password_changed_at", True),
        sa.Column("password_history", sa.JSON(), nullable=False),
        sa.Column("reset_hash", sa.Text(), nullable=True),
        _ts("reset_expires_at", True),
        sa.Column("origin_access_request_id", sa.String(36), nullable=True, unique=True),
        sa.Column("created_by", sa.String(7), nullable=False),
        _ts("created_at"), _ts("updated_at"), _ts("last_login_at", True), _ts("locked_at", True),
    )
    op.create_index("ix_accounts_company", "accounts", ["cofor_root", "family_name", "given_name"])
    op.create_index("ix_accounts_email", "accounts", ["email"])
    op.create_table(
        "sessions",
        sa.Column("token_digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("identifier", sa.String(7), nullable=False, index=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        _ts("created_at"), _ts("expires_at"), _ts("idle_expires_at"), _ts("revoked_at", True),
    )
    op.create_table(
        "companies",
        sa.Column("cofor_root", sa.String(6), primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("supplier_active", sa.Boolean(), nullable=False),
        sa.Column("access_open", sa.Boolean(), nullable=False),
        sa.Column("administrators_revision", sa.BigInteger(), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(36), primary_key=True),
        _ts("occurred_at"),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(7), nullable=False),
        sa.Column("cofor_root", sa.String(6), nullable=False),
        sa.Column("client_address", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_subject", "audit_events", ["subject", "occurred_at"])
    op.create_index("ix_audit_company", "audit_events", ["cofor_root", "occurred_at"])


def downgrade() -> None:
    for table in ("audit_events", "companies", "sessions", "accounts"):
        op.drop_table(table)
