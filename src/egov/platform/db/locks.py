"""Singleton work (the audit sequencer) must run in one process at a time across the cluster."""

from __future__ import annotations

import zlib

from sqlalchemy import text
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
