"""Passkeys (ARCHITECTURE §15): each WebAuthn credential of an account (its public key and signature counter; the
private key never leaves the holder's device), and the challenges of ceremonies under way (their digest, single
use, five minutes)."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("credential_id", sa.LargeBinary(1023), primary_key=True),
        sa.Column("identifier", sa.String(7), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(64), nullable=False),
        _ts("created_at"),
        _ts("last_used_at", True),
    )
    op.create_index("ix_passkeys_identifier", "passkeys", ["identifier"])
    op.create_table(
        "passkey_challenges",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("ceremony", sa.String(10), nullable=False),
        sa.Column("identifier", sa.String(7), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(64), nullable=False),
        _ts("expires_at"),
    )
    op.create_index("ix_passkey_challenges_expires_at", "passkey_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_table("passkey_challenges")
    op.drop_table("passkeys")
