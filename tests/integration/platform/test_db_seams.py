"""The dialect seams of platform/db (raw inserts, the write lock) and the explicitly installed session hooks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from egov.platform.db import Database
from egov.platform.db.hooks import has_hooks
from egov.platform.db.locks import take_write_lock
from egov.platform.db.raw import insert_rows, insert_rows_with
from egov.platform.ids import new_id
from egov.platform.throttle import ThrottleBucket
from egov.soc.audit.recorder import _PENDING, event_values, record_event
from egov.soc.models import AuditCheckpoint, AuditEvent

BUCKETS = cast(Table, ThrottleBucket.__table__)
EVENTS = cast(Table, AuditEvent.__table__)


def bucket(key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"key": key, "failures": 1, "last_failure_at": now, "blocked_until": now}


def count(db: Database, table: Table, where: Any) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table).where(where)) or 0


def test_insert_rows_writes_every_row_on_this_database(db: Database) -> None:
    keys = [f"seam-{new_id()}" for _ in range(3)]
    with db.write_once() as conn:
        insert_rows(conn, BUCKETS, [bucket(k) for k in keys])
        insert_rows(conn, BUCKETS, [])  # nothing to write: no statement, no error
    assert count(db, BUCKETS, BUCKETS.c.key.in_(keys)) == 3


def test_insert_rows_with_writes_both_tables_or_neither(db: Database) -> None:
    key = f"seam-{new_id()}"
    events = [event_values("soc:test:seam", object_id=key) for _ in range(2)]
    with db.write_once() as conn:
        insert_rows_with(conn, BUCKETS, [bucket(key)], EVENTS, events)
    assert count(db, BUCKETS, BUCKETS.c.key == key) == 1
    assert count(db, EVENTS, EVENTS.c.object_id == key) == 2


def test_take_write_lock_is_free_then_refused_while_another_writer_holds_sqlite(tmp_path: Path) -> None:
    from egov.migrations.runner import upgrade

    path = tmp_path / "lock.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    checkpoints = AuditCheckpoint.__tablename__
    with db.deferred_sessions() as s:
        s.execute(text("PRAGMA busy_timeout=50"))  # outside the transaction: not wait 30 s below
        assert take_write_lock(s, "seam", table=checkpoints) is True
        s.rollback()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        with db.deferred_sessions() as s:
            s.execute(text("PRAGMA busy_timeout=50"))
            s.commit()
            assert take_write_lock(s, "seam", table=checkpoints) is False
            s.rollback()
    finally:
        other.execute("ROLLBACK")
        other.close()
        db.dispose()


def test_only_our_session_factories_hold_audit_events(db: Database) -> None:
    """The hooks are on `Database.session_factories` (installed at start-up), not on every Session."""
    ours = db.sessions()
    plain = Session(bind=db.engine)
    try:
        assert has_hooks(ours, "audit") and has_hooks(ours, "pki_status")
        assert not has_hooks(plain, "audit") and not has_hooks(plain, "pki_status")
        record_event(ours, "soc:test:held", object_id="ours")
        assert len(ours.info[_PENDING]) == 1  # held until commit
        record_event(plain, "soc:test:at_once", object_id="plain")
        assert _PENDING not in plain.info  # a session without the hooks writes each event at once,
        assert plain.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.object_id == "plain")) == 1
        plain.commit()
        ours.commit()
    finally:
        ours.close()
        plain.close()
    assert count(db, EVENTS, EVENTS.c.object_id.in_(["ours", "plain"])) == 2  # and neither is lost
