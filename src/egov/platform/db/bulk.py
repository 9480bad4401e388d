"""bulk_load(): COPY on PostgreSQL, executemany on SQLite; the only place that knows the difference."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def bulk_load(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in `columns` order) inside the session's transaction; returns the count.

    On PostgreSQL the rows stream through COPY FROM STDIN (about 5x executemany, see the anchors);
    on SQLite they go through one executemany. Either way they commit or roll back with the caller.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cols = ", ".join(f'"{c}"' for c in columns)
        n = 0
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    batch = [dict(zip(columns, row, strict=True)) for row in rows]
    if batch:
        conn.execute(table.insert(), batch)
    return len(batch)
