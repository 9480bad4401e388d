"""Throttle.fail under concurrency on PostgreSQL: every failure counts, whatever the caller read before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from egov.platform.db import Database
from egov.platform.ids import new_id
from egov.platform.throttle import Throttle, ThrottleBucket


def test_a_failure_counted_elsewhere_meanwhile_is_not_overwritten(db: Database) -> None:
    """A request checks the bucket (and so holds a copy of it), another counts a failure and commits, then
    the first counts its own: both count (the first reads the row afresh, locked), none is lost."""
    if not db.is_postgres:
        pytest.skip("SQLite has one writer: the second transaction could not run while the first is open")
    throttle, key, now = Throttle(), f"ip:{new_id()}", datetime.now(UTC)
    with db.session() as s:
        throttle.fail(s, [key], now)  # the bucket exists, at 1
    first, second = db.sessions(), db.sessions()
    try:
        assert throttle.check(first, [key], now) == {key}
        held = first.get(ThrottleBucket, key)  # a caller that keeps its copy of the bucket (at 1)
        assert held is not None and held.failures == 1
        throttle.fail(second, [key], now)
        second.commit()
        throttle.fail(first, [key], now)
        first.commit()
    finally:
        first.close()
        second.close()
    with db.session() as s:
        bucket = s.get(ThrottleBucket, key)
        assert bucket is not None and bucket.failures == 3


def test_failures_racing_to_create_a_bucket_both_count(db: Database) -> None:
    """Two first failures: the second to insert the bucket counts on top of the first's, no error."""
    if not db.is_postgres:
        pytest.skip("SQLite has one writer: the second transaction could not run while the first is open")
    throttle, key, now = Throttle(), f"ip:{new_id()}", datetime.now(UTC)
    first, second = db.sessions(), db.sessions()
    try:
        assert throttle.check(first, [key], now) == set()  # first saw no bucket
        throttle.fail(second, [key], now)
        second.commit()
        throttle.fail(first, [key], now)  # its insert meets the committed bucket
        first.commit()
    finally:
        first.close()
        second.close()
    with db.session() as s:
        bucket = s.get(ThrottleBucket, key)
        assert bucket is not None and bucket.failures == 2
