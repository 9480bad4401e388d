"""The v1 leaf encoding is a published format: these exact bytes must never change."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from egov.soc.audit.leaf import V1_FIELDS, canonical_json, encode_leaf


def _event(**overrides: object) -> SimpleNamespace:
    values: dict[str, object] = dict(
        event_id="0193b0a0-0000-7000-8000-000000000001",
        occurred_at=datetime(2026, 11, 25, 3, 4, 5, 6, tzinfo=UTC),
        event_type="registry:citizen:viewed", outcome="success", actor_id="acct-7", actor_kind="officer",
        actor_name="Nguyễn Thị Hoa", represented_party=None, agency_id="000.00.15.H29", assurance_level="2",
        source_ip="10.1.2.3", request_id="9f8e7d6c5b4a3921", channel="web", object_type="citizen",
        object_id="079203000123", details='{"fields":["họ tên"]}', leaf_version=1,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


GOLDEN = (
    b'egov-audit-leaf/v1\n{"actor_id":"acct-7","actor_kind":"officer",'
    b'"actor_name":"Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Hoa","agency_id":"000.00.15.H29","assurance_level":"2",'
    b'"channel":"web","details":"{\\"fields\\":[\\"h\xe1\xbb\x8d t\xc3\xaan\\"]}",'
    b'"event_id":"0193b0a0-0000-7000-8000-000000000001","event_type":"registry:citizen:viewed",'
    b'"object_id":"079203000123","object_type":"citizen","occurred_at":"2026-11-25T03:04:05.000006Z",'
    b'"outcome":"success","represented_party":null,"request_id":"9f8e7d6c5b4a3921","source_ip":"10.1.2.3"}'
)


def test_v1_bytes_are_stable() -> None:
    assert encode_leaf(_event()) == GOLDEN
    assert hashlib.sha256(b"\x00" + GOLDEN).hexdigest() == hashlib.sha256(b"\x00" + encode_leaf(_event())).hexdigest()


def test_every_v1_field_changes_the_leaf() -> None:
    base = encode_leaf(_event())
    for name in V1_FIELDS:
        if name == "occurred_at":
            changed = _event(occurred_at=datetime(2026, 11, 25, 3, 4, 5, 7, tzinfo=UTC))
        else:
            changed = _event(**{name: "x"})
        assert encode_leaf(changed) != base, name


def test_unknown_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit leaf version 2"):
        encode_leaf(_event(leaf_version=2))


def test_canonical_json_sorts_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": "Đà Nẵng"}) == '{"a":"Đà Nẵng","b":1}'


@pytest.mark.parametrize("text", ["", "plain", 'quote " and \\ backslash', "dòng\nmới\t", "\x00\x1f\x7f",
                                  "emoji 🇻🇳", "\u2028\u2029", "ß" * 300, "</script>",
                                  "100% %s %(x)s %%"])
def test_the_fast_encoding_is_the_reference_encoding(text: str) -> None:
    from egov.soc.audit.leaf import encode_leaf_reference

    for name in ("actor_name", "details", "object_id", "represented_party"):
        event = _event(**{name: text})
        assert encode_leaf(event) == encode_leaf_reference(event)
    odd = _event(object_id=12345)  # not a string: the general path, still the reference bytes
    assert encode_leaf(odd) == encode_leaf_reference(odd)
    for moment in (datetime(2026, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        event = _event(occurred_at=moment)  # whole seconds still write .000000; tiny years keep strftime's form
        assert encode_leaf(event) == encode_leaf_reference(event)


def test_encode_values_refuses_a_wrong_shape() -> None:
    from egov.soc.audit.leaf import V1_ORDERED, encode_values

    values = [getattr(_event(), name) for name in V1_ORDERED]
    assert encode_values(1, values) == GOLDEN
    assert encode_values(None, tuple(values)) == GOLDEN  # rows without a version are v1
    with pytest.raises(ValueError, match="16 values, got 15"):
        encode_values(1, values[:-1])
    moment = V1_ORDERED.index("occurred_at")
    with pytest.raises(AttributeError):  # occurred_at must be a datetime, never passed through as text
        encode_values(1, [*values[:moment], "2026-11-25T03:04:05.000006Z", *values[moment + 1:]])
