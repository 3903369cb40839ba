"""Alembic, per service: programmatic upgrade, the shared env.py body, and the kit's own tables."""
from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def alembic_config(url: str, script_location: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["url"] = url
    return cfg


async def upgrade(url: str, script_location: Path, revision: str = "head") -> None:
    """Apply migrations; alembic drives its own event loop, so it runs in a worker thread."""
    from kit.db import ensure_sqlite_dir

    ensure_sqlite_dir(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url, script_location), revision)


def run_env() -> None:
    """The whole body of every service's ``migrations/env.py``."""
    url: str | None = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database URL: pass it as the alembic config attribute 'url' or set sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: sa.Connection) -> None:
        context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite",
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def timestamp_column(name: str, nullable: bool = False) -> sa.Column[datetime]:
    """The column type of ``kit.columns.timestamp_column``, for migrations (which must not import the models)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _position() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_kit_tables() -> None:
    """Outbox, inbox, dead letters, rate counters, idempotency keys (kit schema v1), for a first migration."""
    op.create_table(
        "outbox",
        sa.Column("position", _position(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox", ["position"],
                    sqlite_where=sa.text("published_at IS NULL"), postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", _position(), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False, index=True),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_kit_tables() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("rate_counters")
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
