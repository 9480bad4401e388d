"""Fixtures and factories for the soc context: audit events, a sequenced and checkpointed log, the attacker.

    from tests.factories.soc import make_events, sequence_and_checkpoint, tamper

The attacker works through the owner's connection (`owner_db`): on PostgreSQL it first sets
`session_replication_role = replica`, which switches off the append-only triggers and the foreign
keys, as a superuser could; on SQLite it opens the file directly with foreign keys off.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from egov.bootstrap import Container
from egov.platform.db import Database
from egov.platform.ids import new_id
from egov.soc import record_event
from egov.soc.audit.checkpoints import Checkpointer, CheckpointInfo
from egov.soc.audit.leaf import V1_FIELDS
from egov.soc.audit.sequencer import SequenceResult, sequence_pending
from egov.soc.models import AuditEvent

BASE_TIME = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def make_events(
    session: Session,
    n: int,
    *,
    event_type: str = "test:thing:done",
    agency_id: str | None = None,
    actor_id: str | None = "acct-test",
    actor_name: str | None = "Nguyễn Văn Thử",
    start: datetime = BASE_TIME,
    commit: bool = True,
) -> list[AuditEvent]:
    """`n` events one second apart (object ids obj-0, obj-1, …), committed unless told otherwise."""
    written = [
        record_event(session, event_type, object_type="thing", object_id=f"obj-{i}", agency_id=agency_id,
                     actor_id=actor_id, actor_name=actor_name, details={"i": i, "note": "thử nghiệm"},
                     at=start + timedelta(seconds=i))["event_id"]
        for i in range(n)
    ]
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.event_id.in_(written))
                                  .order_by(AuditEvent.id)))
    if commit:
        session.commit()
    return events


def make_event_with_id(session: Session, pk: int, *, event_type: str = "test:thing:done") -> AuditEvent:
    """An event whose id was drawn long before it commits (a slow transaction), left uncommitted.

    record_event lets the sequence pick ids; this writes the row with a chosen id instead, which
    is exactly what a transaction that drew its id early and commits late looks like.
    """
    event = AuditEvent(id=pk, event_id=new_id(), occurred_at=BASE_TIME, event_type=event_type, outcome="success",
                       actor_id="acct-test", object_type="thing", object_id=f"obj-late-{pk}", details="{}",
                       leaf_version=1)
    session.add(event)
    session.flush()
    return event


def sequence_and_checkpoint(container: Container) -> tuple[SequenceResult, CheckpointInfo | None]:
    """Sequence everything committed, then sign and publish a checkpoint right away."""
    result = sequence_pending(container.db, container.clock)
    cp = Checkpointer(container.db, container.clock, container.keys, container.settings).run(force=True)
    return result, cp


@contextmanager
def attacker(owner_db: Database) -> Iterator[Any]:
    """A connection that can rewrite the audit tables, as someone holding the owner/superuser could.

    Yields an object with `execute(sql, params)`; everything commits at the end of the block.
    """
    if owner_db.is_postgres:
        with owner_db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))

            class _Pg:
                def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
                    return conn.execute(text(sql), params or {})

            yield _Pg()
        return
    path = make_url(owner_db.url).database
    assert path
    raw = sqlite3.connect(path)  # foreign keys are off by default on a plain connection
    try:
        class _Lite:
            def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
                return raw.execute(sql, params or {})

        yield _Lite()
        raw.commit()
    finally:
        raw.close()


def tamper(owner_db: Database, *statements: tuple[str, dict[str, Any]] | str) -> None:
    with attacker(owner_db) as conn:
        for st in statements:
            sql, params = (st, {}) if isinstance(st, str) else st
            conn.execute(sql, params)


def event_pk_at_leaf(owner_db: Database, leaf_index: int) -> int:
    with owner_db.engine.connect() as conn:
        return int(conn.execute(text("SELECT event_pk FROM audit_leaves WHERE leaf_index = :i"),
                                {"i": leaf_index}).scalar_one())


def swap_event_contents(owner_db: Database, pk_a: int, pk_b: int) -> None:
    """Swap every leaf-covered column of two events (ids stay): the log now tells them in the other order."""
    cols = list(V1_FIELDS)
    with attacker(owner_db) as conn:
        rows = {}
        for pk in (pk_a, pk_b):
            rows[pk] = conn.execute(f"SELECT {', '.join(cols)} FROM audit_events WHERE id = :id", {"id": pk}).fetchone()
        conn.execute("UPDATE audit_events SET event_id = :tmp WHERE id = :id", {"tmp": "swap-tmp", "id": pk_a})
        sets = ", ".join(f"{c} = :{c}" for c in cols)
        for target, source in ((pk_b, pk_a), (pk_a, pk_b)):
            values = dict(zip(cols, rows[source], strict=True))
            conn.execute(f"UPDATE audit_events SET {sets} WHERE id = :id", {**values, "id": target})


def truncate_tail(owner_db: Database, keep: int) -> None:
    """Delete every leaf from `keep` on, their events, the nodes they completed and later checkpoints."""
    with owner_db.engine.connect() as conn:
        pks = [int(r[0]) for r in conn.execute(text("SELECT event_pk FROM audit_leaves WHERE leaf_index >= :k"),
                                               {"k": keep})]
    statements: list[tuple[str, dict[str, Any]]] = [
        ("DELETE FROM audit_checkpoints WHERE tree_size > :k", {"k": keep}),
        ("DELETE FROM audit_leaves WHERE leaf_index >= :k", {"k": keep}),
    ]
    for level in range(1, 64):
        statements.append(("DELETE FROM audit_tree_nodes WHERE level = :l AND idx >= :i",
                           {"l": level, "i": keep >> level}))
    for pk in pks:
        statements.append(("DELETE FROM audit_events WHERE id = :id", {"id": pk}))
    tamper(owner_db, *statements)


def leave_room_below(session: Session, owner_db: Database, first_id: int = 1000) -> AuditEvent:
    """Make the next events' ids start above `first_id`, so tests can commit a lower id "late".

    A late commit is an id drawn long before its transaction commits; a free id below the
    sequenced ones stands in for it on both databases.
    """
    event = make_event_with_id(session, first_id)
    session.commit()
    if owner_db.is_postgres:
        with owner_db.engine.begin() as conn:
            conn.execute(text("SELECT setval('audit_events_id_seq', :v)"), {"v": first_id})
    return event
