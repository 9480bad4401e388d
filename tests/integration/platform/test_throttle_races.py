"""Throttle.fail under concurrency on PostgreSQL: every failure counts, whatever the caller read before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from egov.platform.db import Database
from egov.platform.ids import new_id
from egov.platform.throttle import Throttle, ThrottleBucket

pytestmark = pytest.mark.postgres_only("SQLite has one writer: the second transaction could not run while the "
                                     "first is open")
NOW = datetime.now(UTC)


@contextmanager
def two_sessions(db: Database) -> Iterator[tuple[Session, Session]]:
    first, second = db.sessions(), db.sessions()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def failures(db: Database, key: str) -> int | None:
    with db.session() as s:
        bucket = s.get(ThrottleBucket, key)
        return bucket.failures if bucket is not None else None


def test_a_failure_counted_elsewhere_meanwhile_is_not_overwritten(db: Database) -> None:
    """A request checks the bucket (and keeps its copy), another counts a failure and commits, then the
    first counts its own: both count (the first reads the row afresh, locked), none is lost."""
    throttle, key = Throttle(), f"ip:{new_id()}"
    with db.session() as s:
        throttle.fail(s, [key], NOW)  # the bucket exists, at 1
    with two_sessions(db) as (first, second):
        assert throttle.check(first, [key], NOW) == {key}
        held = first.get(ThrottleBucket, key)  # a caller that keeps its copy of the bucket (at 1)
        assert held is not None and held.failures == 1
        throttle.fail(second, [key], NOW)
        second.commit()
        throttle.fail(first, [key], NOW)
        first.commit()
    assert failures(db, key) == 3


def test_failures_racing_to_create_a_bucket_both_count(db: Database) -> None:
    """Two first failures: the second to insert the bucket counts on top of the first's, no error."""
    throttle, key = Throttle(), f"ip:{new_id()}"
    with two_sessions(db) as (first, second):
        assert throttle.check(first, [key], NOW) == set()  # first saw no bucket
        throttle.fail(second, [key], NOW)
        second.commit()
        throttle.fail(first, [key], NOW)  # its insert meets the committed bucket
        first.commit()
    assert failures(db, key) == 2
