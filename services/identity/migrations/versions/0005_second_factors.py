"""Second factors (ARCHITECTURE §15): authenticator apps (TOTP, secret encrypted) and recovery codes (digests), each
factor with its own failure count; what a session still needs (a factor to give or to enrol) and how it was opened
(amr); the company's policy "second factor required for every user"."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "second_factors",
        sa.Column("identifier", sa.String(7), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        _ts("confirmed_at", True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("identifier", sa.String(7), primary_key=True),
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        _ts("used_at", True),
        _ts("created_at"),
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("second_factor_step", sa.String(10), nullable=False, server_default=""))
        batch.add_column(sa.Column("amr", sa.String(20), nullable=False, server_default="pwd"))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("second_factor_required", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("second_factor_required")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("amr")
        batch.drop_column("second_factor_step")
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
