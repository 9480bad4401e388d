"""Backoff per account and per address: when it starts, how it grows, its cap, and that it forgets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from egov.auth.services import IP_FREE_ATTEMPTS
from egov.auth.usernames import account_throttle_key
from egov.platform.clock import FixedClock
from egov.platform.errors import TooManyAttempts
from egov.platform.throttle import Throttle, ThrottleBucket


@pytest.fixture
def session() -> Iterator[Session]:
    """The throttle's one table in an in-memory database: the arithmetic, not the storage, is under test."""
    engine = create_engine("sqlite://")
    ThrottleBucket.metadata.create_all(engine, tables=[ThrottleBucket.__table__])  # type: ignore[list-item]
    with Session(engine) as s:
        yield s
    engine.dispose()


def wait_after(throttle: Throttle, session: Session, clock: FixedClock, key: str) -> int:
    try:
        throttle.check(session, [key], clock.now())
    except TooManyAttempts as exc:
        return exc.retry_after
    return 0


def test_free_attempts_then_doubling_up_to_the_cap(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    throttle = Throttle(free=3, base_seconds=1.0, max_seconds=60.0)
    waits = []
    for _ in range(10):
        throttle.fail(session, ["acct:x"], clock.now())
        waits.append(wait_after(throttle, session, clock, "acct:x"))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]


def test_the_wait_runs_out_with_time(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    throttle = Throttle(free=0, base_seconds=1.0, max_seconds=900.0)
    for _ in range(4):
        throttle.fail(session, ["acct:x"], clock.now())
    assert wait_after(throttle, session, clock, "acct:x") == 8
    clock.advance(seconds=7.5)
    assert wait_after(throttle, session, clock, "acct:x") == 1  # rounded up, never 0 while waiting
    clock.advance(seconds=0.5)
    assert wait_after(throttle, session, clock, "acct:x") == 0


def test_an_hour_without_failures_forgets_the_count(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    throttle = Throttle(free=3, base_seconds=1.0, max_seconds=900.0)
    for _ in range(8):
        throttle.fail(session, ["acct:x"], clock.now())
    clock.advance(hours=1, seconds=1)
    throttle.fail(session, ["acct:x"], clock.now())
    assert session.get(ThrottleBucket, "acct:x").failures == 1  # type: ignore[union-attr]
    assert wait_after(throttle, session, clock, "acct:x") == 0


def test_keys_are_independent(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    throttle = Throttle(free=0, base_seconds=1.0)
    throttle.fail(session, ["acct:a"], clock.now())
    assert wait_after(throttle, session, clock, "acct:a") == 1
    assert wait_after(throttle, session, clock, "acct:b") == 0


def test_an_address_gets_more_free_failures_than_an_account() -> None:
    assert IP_FREE_ATTEMPTS > 3


def test_account_keys_keep_usernames_but_never_store_other_input() -> None:
    assert account_throttle_key(" 079203012345 ") == "acct:079203012345"
    assert account_throttle_key("Nguyen.An") == "acct:nguyen.an"
    typed_password = "mật khẩu của tôi!"
    key = account_throttle_key(typed_password)
    assert key.startswith("acct:#") and "mật" not in key and len(key) == 6 + 64
    assert account_throttle_key("x" * 65).startswith("acct:#")
