"""Public validation runs in a worker process with hard limits: a stuck or swelling job is killed,
the caller gets a clear refusal, and the next upload is served by a fresh worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.factories.signing import SigningWorld, make_pdf

from egov.signing.interfaces import UnsafeInput
from egov.signing.isolation import IsolatedValidator, probe
from egov.signing.pades import PadesLevel, sign_pdf
from egov.signing.validation import Indication


@pytest.fixture
def isolated() -> Iterator[IsolatedValidator]:
    iv = IsolatedValidator(timeout=60, memory_bytes=1024**3)
    assert iv.call(probe).startswith("ok")  # the first call spawns the worker and imports the stack
    yield iv
    iv.close()


def test_reports_come_back_from_the_worker(isolated: IsolatedValidator, signing_world: SigningWorld) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=datetime.now(UTC), level=PadesLevel.B_T,
                      timestamper=w.timestamper)
    report = isolated.validate("pdf", signed, None, w.trust, 10 * 1024 * 1024)
    assert report.indication is Indication.TOTAL_PASSED
    with pytest.raises(UnsafeInput) as caught:
        isolated.validate("xml", b"<!DOCTYPE r><r/>", None, w.trust, 1024)
    assert "DOCTYPE" in caught.value.detail_vi and caught.value.detail_vi != caught.value.detail_en


def test_a_stuck_worker_is_killed_and_replaced(isolated: IsolatedValidator) -> None:
    isolated.timeout = 1.0
    started = time.monotonic()
    with pytest.raises(UnsafeInput, match="too long"):
        isolated.call(probe, 30.0)
    assert time.monotonic() - started < 10
    isolated.timeout = 60
    assert isolated.call(probe).startswith("ok")  # a fresh worker


def test_memory_is_capped(isolated: IsolatedValidator) -> None:
    with pytest.raises(UnsafeInput, match="memory"):
        isolated.call(probe, 0.0, 2 * 1024**3)
    assert isolated.call(probe, 0.0, 1024).startswith("ok")
