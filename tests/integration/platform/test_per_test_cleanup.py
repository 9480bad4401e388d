"""The per-test cleanup (tests/conftest.py) empties exactly what a test wrote, audit log included."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.factories.registry import HCMC, make_agency
from tests.factories.soc import make_events

from egov.platform.clock import FixedClock
from egov.platform.db import Database


def test_it_finds_and_empties_every_table_written_by_any_connection(
        session: Session, clock: FixedClock, owner_db: Database, _cleaner: Any) -> None:
    assert _cleaner.dirty() == []  # what the tests before this one wrote is gone
    make_events(session, 3)  # the app role's connection; on PostgreSQL it may not delete these rows
    make_agency(session, clock, HCMC)
    session.commit()
    with owner_db.engine.begin() as conn:  # another connection, plain SQL: found all the same
        conn.execute(text("INSERT INTO throttle_buckets (key, failures, last_failure_at, blocked_until)"
                          " VALUES ('ip:test', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    assert {"audit_events", "agencies", "throttle_buckets"} <= set(_cleaner.dirty())
    session.close()

    _cleaner.clean()
    assert _cleaner.dirty() == []
    # Emptied tables start their ids again, as TRUNCATE ... RESTART IDENTITY did.
    [event] = make_events(session, 1)
    assert event.id == 1
