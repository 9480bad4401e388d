"""A business row and its audit event written as one (`soc.insert_with_event` on `Database.write_once`):
both or neither, on both databases; on PostgreSQL one statement sent straight to the driver."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from egov.platform.db import Database
from egov.platform.ids import new_id
from egov.platform.throttle import ThrottleBucket
from egov.signing.models import SignatureRecord
from egov.soc import event_values, insert_many_with_events, insert_with_event
from egov.soc.models import AuditEvent

SIGNATURES: Table = SignatureRecord.__table__  # type: ignore[assignment]
BUCKETS: Table = ThrottleBucket.__table__  # type: ignore[assignment]


def row(identity_id: str, **changes: object) -> dict[str, object]:
    return {"id": new_id(), "account_id": None, "identity_id": identity_id, "kind": "xml", "level": "B-B",
            "document_sha256": "0" * 64, "signed_sha256": "1" * 64, "approval_id": None,
            "created_at": datetime.now(UTC), **changes}


def events_with(db: Database, event_id: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_id == event_id)) or 0


def test_a_refused_business_row_takes_its_event_with_it(db: Database) -> None:
    event = event_values("signing:document:signed", object_type="signature", object_id="x")
    with pytest.raises(IntegrityError), db.write_once() as conn:  # no such signing identity (foreign key)
        insert_with_event(conn, SIGNATURES, row("no-such-identity"), event)
    assert events_with(db, event["event_id"]) == 0


@pytest.mark.postgres_only("the one-statement path is PostgreSQL's")
def test_every_column_needs_a_value_and_times_are_utc(db: Database) -> None:
    """PostgreSQL's path skips the ORM and SQLAlchemy's type processing, so it checks for itself."""
    event = event_values("signing:document:signed", object_type="signature", object_id="x")
    incomplete = row("whatever")
    del incomplete["id"]  # left to the ORM's default, which this path does not apply
    with pytest.raises(ValueError, match="every column"), db.write_once() as conn:
        insert_with_event(conn, SIGNATURES, incomplete, event)
    with pytest.raises(ValueError, match="naive"), db.write_once() as conn:
        insert_with_event(conn, SIGNATURES, row("whatever", created_at=datetime(2026, 11, 26, 9, 0)), event)
    assert events_with(db, event["event_id"]) == 0



def test_many_rows_and_their_events_are_written_together_or_not_at_all(db: Database) -> None:
    """The batch form (the token hot path's group commit): every row and event, values intact (times,
    NULLs, bytes); one refused row takes the whole batch with it, events included."""
    now = datetime.now(UTC).replace(microsecond=0)
    key = new_id()
    rows: list[dict[str, Any]] = [{"key": f"{key}-{i}", "failures": i, "last_failure_at": now, "blocked_until": now}
                                  for i in range(3)]
    events = [event_values("platform:test:batch", object_type="bucket", object_id=r["key"], details={"n": i})
              for i, r in enumerate(rows)]
    with db.write_once() as conn:
        insert_many_with_events(conn, BUCKETS, rows, events)
    again = [{**rows[0], "key": f"{key}-new"}, rows[1]]  # the second repeats a key: refused
    refused = [event_values("platform:test:batch", object_type="bucket", object_id=r["key"]) for r in again]
    with pytest.raises(IntegrityError), db.write_once() as conn:
        insert_many_with_events(conn, BUCKETS, again, refused)
    with db.session() as s:
        stored = s.execute(select(BUCKETS.c.key, BUCKETS.c.failures, BUCKETS.c.blocked_until)
                           .where(BUCKETS.c.key.like(f"{key}-%")).order_by(BUCKETS.c.key)).all()
        logged = {e.event_id: (e.object_id, e.details, e.leaf_hash, e.actor_id) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.event_id.in_([e["event_id"] for e in events + refused])))}
    assert [tuple(r) for r in stored] == [(r["key"], r["failures"], now) for r in rows]
    assert logged == {e["event_id"]: (e["object_id"], e["details"], e["leaf_hash"], None) for e in events}


@pytest.mark.postgres_only("the one-statement path is PostgreSQL's (SQLite does not hold VARCHAR to its length)")
def test_an_over_long_value_is_refused_not_cut_short(db: Database) -> None:
    """The one-statement path casts to the bare type: a value longer than its column is refused (as the
    ORM path refuses it), never truncated under a leaf hash computed from the whole value."""
    now = datetime.now(UTC)
    row = {"key": "k" * 201, "failures": 1, "last_failure_at": now, "blocked_until": now}  # key is String(200)
    event = event_values("platform:test:batch", object_type="bucket", object_id="long")
    with pytest.raises(DBAPIError), db.write_once() as conn:
        insert_many_with_events(conn, BUCKETS, [row], [event])
    assert events_with(db, event["event_id"]) == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(BUCKETS).where(BUCKETS.c.key.like("kkk%"))) == 0
