"""Singleton work (the audit sequencer, the checkpointer) runs in one process at a time across the cluster."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session


def lock_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def try_singleton_lock(session: Session, name: str) -> bool:
    """Take a transaction-scoped lock named `name`, or return False if another process holds it.

    PostgreSQL: pg_try_advisory_xact_lock, released at commit. SQLite: one writer at a time is
    already guaranteed by the database file lock once the transaction writes, so the caller
    simply proceeds (the embedded profile runs one process).
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key(name)}).scalar())
    return True



def take_write_lock(session: Session, name: str, *, table: str) -> bool:
    """Mutual exclusion for a read-then-write pass; False if another process holds it.

    PostgreSQL: the advisory lock `name` (`try_singleton_lock`). SQLite: its single write lock, taken
    up front. There `try_singleton_lock` proceeds at once, and a transaction that reads first and writes
    later would then fail at its first write if another writer committed meanwhile; a no-op UPDATE of
    `table` as the first statement takes the write lock (waiting out the busy timeout), so the reads
    that follow see the latest data. Still busy after the timeout: False, as for a lock held elsewhere.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        quoted = bind.dialect.identifier_preparer.quote(table)
        try:
            session.execute(text(f"UPDATE {quoted} SET rowid = rowid WHERE 0"))
        except OperationalError as exc:
            if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                return False
            raise
        return True
    return try_singleton_lock(session, name)
