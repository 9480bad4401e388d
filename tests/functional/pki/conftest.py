"""openssl checks OCSP and time-stamp times against the real clock, so these tests run at the present."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from egov.platform.clock import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))
