"""Hot INSERTs compiled once per shape and sent straight to psycopg on PostgreSQL; plain Core on SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, String, Table, bindparam
from sqlalchemy.exc import DBAPIError

# (table, keys, second table, its keys, row counts) -> the combined statement; (table, keys) -> INSERT
_COMBINED: dict[tuple[str, tuple[str, ...], str, tuple[str, ...], int, int], str] = {}
_PLAIN: dict[tuple[str, tuple[str, ...]], str] = {}


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (all with the same keys) into `table` in the connection's transaction.

    PostgreSQL: one INSERT compiled once per shape and sent by psycopg itself (SQLAlchemy's execution
    layer cost as much as the round trip, and these column types need none of its conversions); no
    RETURNING of new ids, which nobody reads. Elsewhere: one Core executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = tuple(rows[0])
    key = (table.name, columns)
    sql = _PLAIN.get(key)
    if sql is None:
        statement = table.insert().inline().values({name: bindparam(name, type_=table.c[name].type)
                                                    for name in columns})
        sql = _PLAIN[key] = str(statement.compile(dialect=conn.dialect))
    _send(conn, sql, rows)


def insert_rows_with(conn: Connection, table: Table, rows: list[dict[str, Any]],
                     second: Table, second_rows: list[dict[str, Any]]) -> None:
    """Rows of `table` and of `second` written together (e.g. business rows and their audit events).

    PostgreSQL: one statement (`WITH first_rows AS (INSERT …) INSERT …`), so atomic even on an
    autocommit connection, one round trip and one commit for them all. The statement is built once per
    shape with `$n` placeholders and sent through psycopg's raw cursor with one flat list of scalars:
    the query needs no parsing and every value goes through psycopg's C dumpers (one array per column
    instead cost twenty times as much to dump, in Python). Elsewhere: two statements in the
    connection's transaction. Every row has the same keys, every second row too."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        conn.execute(second.insert(), second_rows)
        return
    row_keys, second_keys = tuple(rows[0]), tuple(second_rows[0])
    shape = (table.name, row_keys, second.name, second_keys, len(rows), len(second_rows))
    sql = _COMBINED.get(shape)
    if sql is None:
        sql = _COMBINED[shape] = _combined_sql(conn, table, row_keys, second, second_keys, len(rows),
                                               len(second_rows))
    params = [item[name] for item in rows for name in row_keys]
    params.extend(item[name] for item in second_rows for name in second_keys)
    for value in params:
        if isinstance(value, datetime) and value.tzinfo is None:  # what UtcDateTime refuses via the ORM
            raise ValueError("insert_with_event: naive datetime; every time is stored in UTC")
    _send(conn, sql, [params], raw=True)


def _combined_sql(conn: Connection, table: Table, row_keys: tuple[str, ...], second: Table,
                  second_keys: tuple[str, ...], n: int, m: int) -> str:
    """WITH business_rows AS (INSERT INTO t (…) VALUES ($1, …), …) INSERT INTO second (…) VALUES …"""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    first = 1

    def insert(target: Table, names: tuple[str, ...], count: int) -> str:
        nonlocal first
        # A column left to a Python-side default would silently get NULL here (the ORM fills those; this
        # path does not): every such column must come from the caller.
        unfilled = [c.name for c in target.columns
                    if c.name not in names and c.default is not None and c.server_default is None]
        if unfilled:
            raise ValueError(f"insert_with_event: give every column a value ({', '.join(unfilled)})")
        # VARCHAR without its length: an explicit cast to VARCHAR(n) would cut an over-long value short
        # (and with it the leaf hash's truth); the column's own check then refuses it, as the ORM path does.
        casts = [(String() if isinstance(t, String) and t.length else t).compile(dialect=dialect)
                 for t in (target.c[name].type for name in names)]
        values = []
        for _ in range(count):
            values.append("(" + ", ".join(f"${first + j}::{cast}" for j, cast in enumerate(casts)) + ")")
            first += len(names)
        columns = ", ".join(quote(name) for name in names)
        return f"INSERT INTO {quote(target.name)} ({columns}) VALUES {', '.join(values)}"

    business = insert(table, row_keys, n)
    return f"WITH business_rows AS ({business}) {insert(second, second_keys, m)}"


def _send(conn: Connection, sql: str, rows: list[Any], *, raw: bool = False) -> None:
    """Statements compiled once per shape go straight to psycopg, in the connection's transaction (or
    its autocommit). `raw`: `$n` placeholders and a list of values per row (psycopg's raw cursor), else
    `%(name)s` and a dict. Errors come back as SQLAlchemy would raise them (IntegrityError, …)."""
    driver = conn.connection.driver_connection
    try:
        with (psycopg.RawCursor(driver) if raw else driver.cursor()) as cur:  # type: ignore[union-attr, arg-type]
            if len(rows) == 1:
                cur.execute(sql, rows[0])
            else:
                cur.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc
