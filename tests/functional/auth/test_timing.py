"""Unknown usernames cost as much as known ones, so response time does not reveal who has an account."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy.orm import Session
from tests.factories.auth import make_account
from tests.functional.auth.conftest import Browser

from egov.auth import Passwords
from egov.platform.clock import FixedClock
from egov.settings import Settings

PRODUCTION_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 19 * 1024, "argon2_parallelism": 1}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The production Argon2 cost: at the suite's cheap one, a skipped verification would not show."""
    return settings.model_copy(update=PRODUCTION_ARGON2)


def test_unknown_and_known_usernames_fail_in_similar_time(browser: Browser, session: Session,
                                                          clock: FixedClock) -> None:
    make_account(session, username="canbo01", passwords=Passwords())
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
