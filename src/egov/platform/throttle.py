"""Backoff that expires: slows guessing per key (account, source address) without locking anyone out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, Exists, Integer, ScalarSelect, String, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from egov.platform.db import Base, UtcDateTime
from egov.platform.errors import TooManyAttempts


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    blocked_until: Mapped[datetime] = mapped_column(UtcDateTime())


class Throttle:
    """Exponential backoff per key: after `free` failures each one doubles the wait, up to `max_wait`.

    A bucket forgets itself after `forget_after` without failures, so the delay a stranger can
    inflict on a citizen's account is bounded and goes away by itself (no permanent lockout).
    """

    def __init__(self, *, free: int = 3, base_seconds: float = 1.0, max_seconds: float = 900.0,
                 forget_after: timedelta = timedelta(hours=1)) -> None:
        self.free = free
        self.base = base_seconds
        self.max = max_seconds
        self.forget_after = forget_after

    def check(self, session: Session, keys: list[str], now: datetime) -> set[str]:
        """Raise TooManyAttempts if any key is still waiting; else the keys that have a bucket at all
        (so a success need not delete what does not exist). The check reads only `blocked_until`,
        so keys of throttles with other parameters may be checked together in one query."""
        rows = session.scalars(select(ThrottleBucket).where(ThrottleBucket.key.in_(keys))).all()
        wait = max(((r.blocked_until - now).total_seconds() for r in rows), default=0.0)
        if wait > 0:
            raise TooManyAttempts(int(wait + 0.999))
        return {r.key for r in rows}

    @staticmethod
    def columns(keys: Sequence[str | BindParameter[str]], own: str | BindParameter[str]
                ) -> tuple[ScalarSelect[datetime], Exists]:
        """`check` folded into the caller's own query: the latest `blocked_until` among `keys`, and
        whether `own` has a bucket (so a success knows whether there is anything to clear)."""
        blocked = select(func.max(ThrottleBucket.blocked_until)).where(ThrottleBucket.key.in_(keys))
        return blocked.scalar_subquery(), exists().where(ThrottleBucket.key == own)

    @staticmethod
    def raise_if_blocked(blocked_until: datetime | None, now: datetime) -> None:
        wait = (blocked_until - now).total_seconds() if blocked_until is not None else 0.0
        if wait > 0:
            raise TooManyAttempts(int(wait + 0.999))

    def fail(self, session: Session, keys: list[str], now: datetime) -> None:
        """Count a failure for each key. Concurrent failures on one key (a burst from one address) are
        all counted: the row is read afresh and locked for the increment (a caller that checked the
        bucket earlier in its transaction holds an older copy), and a first failure that finds another
        has just created the bucket counts on top of it instead of failing the request."""
        session.flush()  # a change to a bucket not yet written must not be overwritten by the fresh read
        for key in keys:
            row = None
            for _ in range(3):  # created by another failure meanwhile, or deleted by a success: look again
                row = session.get(ThrottleBucket, key, with_for_update=True, populate_existing=True)
                if row is not None:
                    break
                try:
                    with session.begin_nested():
                        row = ThrottleBucket(key=key, failures=0, last_failure_at=now, blocked_until=now)
                        session.add(row)
                    break
                except IntegrityError:
                    row = None
            if row is None:
                raise RuntimeError(f"backoff bucket {key!r} kept changing under a failure")
            if now - row.last_failure_at > self.forget_after:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            over = row.failures - self.free
            delay = 0.0 if over <= 0 else min(self.max, self.base * (2 ** (over - 1)))
            row.blocked_until = now + timedelta(seconds=delay)

    def succeed(self, session: Session, keys: list[str]) -> None:
        session.execute(delete(ThrottleBucket).where(ThrottleBucket.key.in_(keys)))
