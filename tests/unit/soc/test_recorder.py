"""scrub and the stored details text: secrets dropped at any depth, canonical JSON unchanged."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from egov.soc.audit import recorder
from egov.soc.audit.leaf import canonical_json
from egov.soc.audit.recorder import scrub, scrubbed_json

DETAILS = [
    {},
    {"b": 1, "a": "Đà Nẵng", "password": "hunter2"},
    {"Authorization": "Bearer x", "nested": {"client_secret": "s", "ok": [1, 2.5, None, True]}},
    {"list": [{"otp": "123456"}, ("tuple", {"refresh_token": "t"})], "n": -0.0, "big": 10**30},
    {"floats": [1e300, 1.0, 0.1, float("inf"), float("-inf"), float("nan")]},
    {3: "int key", False: "bool key", 2.5: "float key"},
    {"pin_code": 1, "spinner": "also scrubbed: contains pin", "cookie_consent": False},
    {"when": datetime(2026, 11, 25, tzinfo=UTC), "amount": Decimal("1.10"), "set": frozenset()},
    {"text": 'quote " backslash \\ control \x00\x1f \u2028 emoji 🇻🇳 </script>'},
]


@pytest.mark.parametrize("details", DETAILS)
def test_scrubbed_json_is_canonical_json_of_the_scrubbed_value(details: dict) -> None:
    want = canonical_json(scrub(details))
    assert scrubbed_json(details) == want
    assert scrubbed_json(details) == want  # and again, with every key's verdict cached


def test_keys_that_cannot_be_sorted_fail_the_same_way() -> None:
    with pytest.raises(TypeError):
        canonical_json({1: "a", "b": 2})
    with pytest.raises(TypeError):
        scrubbed_json({1: "a", "b": 2})


def test_secrets_are_scrubbed_at_any_depth() -> None:
    out = scrub(DETAILS[3])
    assert out["list"][0] == {"otp": "[scrubbed]"}
    assert out["list"][1] == ["tuple", {"refresh_token": "[scrubbed]"}]
    assert scrub({"Password": "x", "user": "y"}) == {"Password": "[scrubbed]", "user": "y"}
    assert scrub({7: {"token": 1}}) == {7: {"token": "[scrubbed]"}}
    assert "hunter2" not in scrubbed_json(DETAILS[1])


def test_the_key_cache_is_bounded_and_the_regex_still_decides_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "_KEY_IS_SECRET", {})
    monkeypatch.setattr(recorder, "_KEY_CACHE_MAX", 3)
    assert scrub({"a": 1, "b_token": 2, "c": 3}) == {"a": 1, "b_token": "[scrubbed]", "c": 3}
    assert recorder._KEY_IS_SECRET == {"a": False, "b_token": True, "c": False}
    assert scrub({"d": 4, "e_secret": 5, "b_token": 6}) == {"d": 4, "e_secret": "[scrubbed]", "b_token": "[scrubbed]"}
    assert len(recorder._KEY_IS_SECRET) == 3  # full: new keys are searched every time, not stored


def test_a_str_subclass_key_is_judged_by_its_text_not_the_cache() -> None:
    class Shown(str):
        def __str__(self) -> str:
            return "password"

    scrub({"harmless": 1})  # caches "harmless" as not secret
    assert scrub({Shown("harmless"): 1}) == {Shown("harmless"): "[scrubbed]"}  # as before: str(key) is searched


def test_nan_and_circular_values() -> None:
    assert scrubbed_json({"x": math.nan}) == '{"x":NaN}'
    loop: list = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        scrubbed_json({"loop": loop})  # scrub copies lists, so a cycle never reaches the encoder
