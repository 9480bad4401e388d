"""Time comes from an injected Clock; stored in UTC, shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand, so expiry and backoff are tested without sleeping."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = at

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def local(dt: datetime) -> datetime:
    """The same instant on Vietnamese wall-clock time."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(VN_TZ)


def today_vn(clock: Clock) -> date:
    return local(clock.now()).date()


def format_date(d: date | datetime | None) -> str:
    """dd/MM/yyyy, as Vietnamese forms write dates."""
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = local(d)
    return d.strftime("%d/%m/%Y")


def format_datetime(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return local(dt).strftime("%d/%m/%Y %H:%M:%S")
