"""Unknown usernames cost as much as known ones, so response time does not reveal who has an account."""

from __future__ import annotations

import statistics
import time

from sqlalchemy.orm import Session
from tests.factories.auth import make_account
from tests.functional.auth.conftest import Browser

from egov.platform.clock import FixedClock


def test_unknown_and_known_usernames_fail_in_similar_time(browser: Browser, session: Session,
                                                          clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    browser.get("/login")

    def timed(username: str) -> float:
        clock.advance(hours=2)  # past every backoff window, so each attempt really checks a password
        started = time.perf_counter()
        resp = browser.sign_in(username, "không phải mật khẩu này")
        elapsed = time.perf_counter() - started
        assert resp.status_code == 401
        return elapsed

    timed("canbo01"), timed("khongco01")  # warm-up: the dummy hash is made once per process
    known, unknown = [], []
    for n in range(10):  # interleaved, so a slow patch of the machine hits both alike
        known.append(timed("canbo01"))
        unknown.append(timed(f"khongco{n:02d}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, f"unknown/known median time ratio {ratio:.2f}"
