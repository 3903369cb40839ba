"""SQLAlchemy's aiosqlite driver, with each statement one trip to the connection's thread.

The stock adapter makes a statement four trips between the event loop and aiosqlite's thread (open a cursor,
execute, fetch the rows, close the cursor), each a queue put, a thread wake-up and a wake-up of the loop. A login is
a dozen statements: those trips cost more CPU than the statements. Here the cursor's whole life runs in one call on
the thread; what SQLAlchemy then reads (description, rowcount, lastrowid, the rows) is kept on the adapter. A
transaction's BEGIN travels with its first statement, and a rollback with nothing to undo (the pool's reset of a
connection after a commit) makes no trip. Server-side cursors (unused by the services) keep the stock behaviour."""
from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_


def _run(connection: sqlite3.Connection, begin: str, operation: str, parameters: Any,
         many: bool) -> tuple[Any, list[Any], int, int | None]:
    """On aiosqlite's thread: the transaction's BEGIN if it is the first statement, the statement, its rows and what
    the cursor says of it, the cursor closed."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute(begin)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:  # no cursor opened yet
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        """Every row is fetched at once."""

    async def _async_soft_close(self) -> None:
        """Nothing is left open on the thread."""

    def close(self) -> None:
        self._rows.clear()

    async def _one_trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: Any = self._connection  # an aiosqlite.Connection: its queue to the thread is _execute
        adapter = cast(OneTripConnection, self._adapt_connection)
        async with adapter._execute_mutex:
            begin, adapter.begin_sql = adapter.begin_sql, ""
            adapter.may_be_in_transaction = True
            self._description, rows, self._rowcount, self._lastrowid = await connection._execute(
                _run, connection._conn, begin, operation, parameters, many)
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._one_trip(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._one_trip(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("begin_sql", "may_be_in_transaction")
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:  # an aiosqlite.Connection
        super().__init__(dbapi, connection)
        self.begin_sql = ""  # sent with the next statement
        self.may_be_in_transaction = False  # no statement since the last commit or rollback: nothing to end

    def begin_with_next_statement(self, sql: str) -> None:
        self.begin_sql = sql

    def commit(self) -> None:
        self.begin_sql = ""
        if self.may_be_in_transaction:
            super().commit()
            self.may_be_in_transaction = False

    def rollback(self) -> None:
        self.begin_sql = ""
        if self.may_be_in_transaction:
            super().rollback()
            self.may_be_in_transaction = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Given to ``create_async_engine(module=…)``: connections whose cursors make one trip per statement."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter: a forgotten connection never blocks an exit
        return OneTripConnection(self, await_(connection))
