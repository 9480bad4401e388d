"""claim_rows(): take due work rows without two workers taking the same one."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

T = TypeVar("T")


def claim_rows(session: Session, stmt: Select[Any]) -> list[Any]:
    """The rows `stmt` selects, locked for this transaction; rows another worker holds are skipped.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so any number of workers share a queue without waiting on
    each other. SQLite: the session's transaction already holds the single write lock
    (BEGIN IMMEDIATE), so nobody else can claim meanwhile.
    """
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))
