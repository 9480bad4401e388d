"""A business row and its audit event written as one (`soc.insert_with_event` on `Database.write_once`):
both or neither, on both databases; on PostgreSQL one statement sent straight to the driver."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from egov.platform.db import Database
from egov.platform.ids import new_id
from egov.signing.models import SignatureRecord
from egov.soc import event_values, insert_with_event
from egov.soc.models import AuditEvent

SIGNATURES: Table = SignatureRecord.__table__  # type: ignore[assignment]


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


def test_every_column_needs_a_value_and_times_are_utc(db: Database) -> None:
    """PostgreSQL's path skips the ORM and SQLAlchemy's type processing, so it checks for itself."""
    if not db.is_postgres:
        pytest.skip("the one-statement path is PostgreSQL's")
    event = event_values("signing:document:signed", object_type="signature", object_id="x")
    incomplete = row("whatever")
    del incomplete["id"]  # left to the ORM's default, which this path does not apply
    with pytest.raises(ValueError, match="every column"), db.write_once() as conn:
        insert_with_event(conn, SIGNATURES, incomplete, event)
    with pytest.raises(ValueError, match="naive"), db.write_once() as conn:
        insert_with_event(conn, SIGNATURES, row("whatever", created_at=datetime(2026, 11, 26, 9, 0)), event)
    assert events_with(db, event["event_id"]) == 0
