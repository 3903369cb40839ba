"""A person sees and ends their own sessions (issue 16): each session gets a random public id (never the token
nor its digest), where it opened from (the browser and system read from the User-Agent, the text itself, the client
address) and its last activity. Live sessions get an id now; their origin stays unknown (empty, and a NULL
User-Agent: a login is compared only with sessions recorded with one)."""
import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("sessions") as table:
        table.add_column(sa.Column("public_id", sa.String(32), nullable=True))
        table.add_column(sa.Column("browser", sa.String(40), nullable=False, server_default=""))
        table.add_column(sa.Column("operating_system", sa.String(40), nullable=False, server_default=""))
        table.add_column(sa.Column("user_agent", sa.String(200), nullable=True))
        table.add_column(sa.Column("client_address", sa.String(100), nullable=False, server_default=""))
        table.add_column(_ts("last_active_at", True))
        table.create_index("ix_sessions_public_id", ["public_id"], unique=True)
    sessions = sa.table("sessions", sa.column("token_digest", sa.LargeBinary), sa.column("public_id", sa.String),
                        sa.column("revoked_at", sa.DateTime(timezone=True)),
                        sa.column("expires_at", sa.DateTime(timezone=True)))
    connection = op.get_bind()
    live = connection.execute(sa.select(sessions.c.token_digest).where(  # 12 h at most: the others need no name
        sessions.c.revoked_at.is_(None), sessions.c.expires_at > dt.datetime.now(dt.UTC))).scalars()
    for digest in list(live):
        connection.execute(sessions.update().where(sessions.c.token_digest == digest).values(
            public_id=secrets.token_urlsafe(16)))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as table:
        table.drop_index("ix_sessions_public_id")
        for name in ("last_active_at", "client_address", "user_agent", "operating_system", "browser", "public_id"):
            table.drop_column(name)
