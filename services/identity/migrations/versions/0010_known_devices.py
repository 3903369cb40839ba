"""The login decides whether it comes from a new device from the account row it reads anyway (issue 13, login at
the hash's speed): each account remembers the browser-and-system/address pairs it logged in from in the last 90 days
(a digest → the last use). Filled from the sessions recorded with their origin, so the notices go on as before."""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from identity.domain.devices import NEW_DEVICE_WINDOW, Device, seen_from

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("known_devices", sa.JSON, nullable=False, server_default=sa.text("'{}'")))
    sessions = sa.table("sessions", sa.column("identifier", sa.String), sa.column("browser", sa.String),
                        sa.column("operating_system", sa.String), sa.column("client_address", sa.String),
                        sa.column("user_agent", sa.String), sa.column("second_factor_step", sa.String),
                        sa.column("created_at", sa.DateTime(timezone=True)))
    accounts = sa.table("accounts", sa.column("identifier", sa.String), sa.column("known_devices", sa.JSON))
    last_use = sa.func.max(sessions.c.created_at)
    connection = op.get_bind()
    rows = connection.execute(  # the logins recorded with their origin (migration 0009), not one waiting for its factor
        sa.select(sessions.c.identifier, sessions.c.browser, sessions.c.operating_system, sessions.c.client_address,
                  last_use).where(sessions.c.user_agent.is_not(None), sessions.c.second_factor_step != "VERIFY",
                                  sessions.c.created_at >= dt.datetime.now(dt.UTC) - NEW_DEVICE_WINDOW)
        .group_by(sessions.c.identifier, sessions.c.browser, sessions.c.operating_system, sessions.c.client_address)
        .order_by(last_use))
    known: dict[str, dict[str, str]] = {}
    for identifier, browser, system, address, at in rows:
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite gives the stored UTC time back naive
        known[identifier], _ = seen_from(known.get(identifier, {}), Device(browser, system, address), at)
    for identifier, devices in known.items():
        connection.execute(accounts.update().where(accounts.c.identifier == identifier).values(known_devices=devices))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.drop_column("known_devices")
