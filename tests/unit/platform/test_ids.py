"""new_id: UUIDv7 strings in uuid's own form, time-ordered, 74 random bits."""

from __future__ import annotations

import time
import uuid

from egov.platform.ids import new_id


def test_new_id_is_a_uuid7_in_the_canonical_form() -> None:
    for _ in range(2000):
        value = new_id()
        parsed = uuid.UUID(value)
        assert str(parsed) == value  # lower-case hex, dashes at 8-4-4-4-12
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_new_id_carries_the_millisecond_clock() -> None:
    before = time.time_ns() // 1_000_000
    ms = uuid.UUID(new_id()).int >> 80
    after = time.time_ns() // 1_000_000
    assert before <= ms <= after


def test_new_id_orders_by_time_and_randomises_the_rest() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first  # a later millisecond sorts later, as text too
    ids = [uuid.UUID(new_id()).int for _ in range(4000)]
    assert len(set(ids)) == len(ids)
    rand_a = {(i >> 64) & 0xFFF for i in ids}
    rand_b = [i & ((1 << 62) - 1) for i in ids]
    assert len(rand_a) > 1000  # 12 random bits after the version nibble
    for bit in (0, 30, 55, 61):  # and 62 after the variant: each bit set about half the time
        assert 1500 < sum(v >> bit & 1 for v in rand_b) < 2500
