"""The pool pings a connection only after it sat idle, and a connection the database dropped meanwhile is
replaced before any request sees it (instead of pool_pre_ping's round trip on every checkout)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from egov.platform.db import Database

pytestmark = pytest.mark.postgres_only("the pool and its pings are PostgreSQL's (SQLite has no server to drop "
                                     "a connection)")


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(owner: Database, pid: int) -> None:
    with owner.engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    time.sleep(0.2)


def test_an_idle_connection_killed_by_the_server_is_replaced_unnoticed(migrated: tuple[str, str],
                                                                       owner_db: Database) -> None:
    db = Database(migrated[0], pool_size=1, max_overflow=0, ping_after_idle_seconds=0.05)
    try:
        first = _backend_pid(db)
        _terminate(owner_db, first)
        time.sleep(0.1)  # idle past the threshold: the next checkout pings, finds it dead, reconnects
        assert _backend_pid(db) != first
    finally:
        db.dispose()


def test_a_busy_connection_is_not_pinged(migrated: tuple[str, str], owner_db: Database) -> None:
    """The other side of the trade: within the idle window nothing is checked (the cost saved), so a
    connection killed in that instant fails its next statement once, and the pool then replaces it."""
    db = Database(migrated[0], pool_size=1, max_overflow=0, ping_after_idle_seconds=3600)
    try:
        first = _backend_pid(db)
        _terminate(owner_db, first)
        with pytest.raises(OperationalError):
            _backend_pid(db)
        assert _backend_pid(db) != first
    finally:
        db.dispose()
