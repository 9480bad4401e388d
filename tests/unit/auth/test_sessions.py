"""Session lifetimes (idle and absolute) and token handling, with a hand-moved clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from egov.auth.models import AuthSession
from egov.auth.sessions import SessionPolicy, clear_session_cookie_header, new_session_token, session_id_for
from egov.platform.clock import FixedClock

POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def open_session(clock: FixedClock) -> AuthSession:
    now = clock.now()
    return AuthSession(id="x", account_id="a", created_at=now, last_seen_at=now,
                       expires_at=now + POLICY.absolute, acr="1", revoked_at=None)


def test_idle_limit() -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    s = open_session(clock)
    clock.advance(minutes=29, seconds=59)
    assert POLICY.is_live(s, clock.now())
    clock.advance(seconds=1)
    assert not POLICY.is_live(s, clock.now())


def test_activity_keeps_a_session_alive_only_until_the_absolute_limit() -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    s = open_session(clock)
    for _ in range(12 * 3 - 1):  # a request every 20 minutes
        clock.advance(minutes=20)
        assert POLICY.is_live(s, clock.now())
        s.last_seen_at = clock.now()
    clock.advance(minutes=20)  # 12 hours after sign-in
    assert not POLICY.is_live(s, clock.now())


def test_revoked_session_is_dead_at_once() -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    s = open_session(clock)
    s.revoked_at = clock.now()
    assert not POLICY.is_live(s, clock.now())


def test_last_seen_is_written_at_most_once_a_minute() -> None:
    clock = FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    s = open_session(clock)
    clock.advance(seconds=59)
    assert not POLICY.needs_touch(s, clock.now())
    clock.advance(seconds=1)
    assert POLICY.needs_touch(s, clock.now())


def test_tokens_are_random_and_only_their_hash_is_an_id() -> None:
    a, b = new_session_token(), new_session_token()
    assert a != b and len(a) >= 43  # 32 bytes, URL-safe base64
    assert session_id_for(a) == hashlib.sha256(a.encode()).hexdigest()
    assert a not in session_id_for(a)


def test_clearing_header_matches_the_cookie_attributes() -> None:
    name, value = clear_session_cookie_header(secure=True)
    assert name == "set-cookie"
    assert value.startswith('egov_session=""; Max-Age=0;')
    assert "Path=/" in value and "HttpOnly" in value and "SameSite=Lax" in value and value.endswith("; Secure")
    assert "Secure" not in clear_session_cookie_header(secure=False)[1]
