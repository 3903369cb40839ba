"""INSERT … ON CONFLICT for the two supported databases (SQLite and PostgreSQL share the syntax)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert(session: AsyncSession, table: Table, values: dict[str, Any], *, keys: list[str],
           update: dict[str, Any] | None = None, where: Any = None) -> Any:
    """Insert ``values``; on a key conflict apply ``update`` (only to a row matching ``where``, when given), or do
    nothing when it is empty. The conflicting row is locked meanwhile (PostgreSQL), so racing upserts serialise."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    if update:
        return stmt.on_conflict_do_update(index_elements=keys, set_=update, where=where)
    return stmt.on_conflict_do_nothing(index_elements=keys)
