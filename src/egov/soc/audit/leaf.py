"""Versioned leaf encoding: the exact bytes of an audit event that the Merkle tree commits to."""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

LEAF_VERSION = 1
_PREFIX_V1 = b"egov-audit-leaf/v1\n"

# The fields a v1 leaf covers, in the order they are written; every one is in the stored row.
V1_FIELDS = (
    "event_id", "occurred_at", "event_type", "outcome", "actor_id", "actor_kind", "actor_name",
    "represented_party", "agency_id", "assurance_level", "source_ip", "request_id", "channel",
    "object_type", "object_id", "details",
)


# The writer, the sequencer and verify encode millions of leaves, so v1 is written directly: every v1
# value is a string or None, and for those canonical_json's output is exactly `"key":` + the JSON
# string (the C-accelerated encode_basestring that JSONEncoder(ensure_ascii=False) itself uses) or
# null, with the keys in sorted order; the keys and punctuation are one constant template, filled
# with the encoded values. Any other value type falls back to canonical_json. tests/unit/soc/test_leaf.py
# pins the bytes and holds the fast path to the plain definition (encode_leaf_reference).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
V1_ORDERED = tuple(sorted(V1_FIELDS))  # the order the v1 JSON writes them in (and bulk readers select them)
_V1_VALUES = operator.attrgetter(*V1_ORDERED)
_V1_KEYS = tuple(encode_basestring(name) + ":" for name in V1_ORDERED)
_TIME_INDEX = V1_ORDERED.index("occurred_at")
# `{"actor_id":%s,"actor_kind":%s,...}` (a % in a key would be doubled; none has one).
_V1_TEMPLATE = "{" + ",".join(key.replace("%", "%%") + "%s" for key in _V1_KEYS) + "}"


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same dict always gives the same bytes."""
    return _ENCODER.encode(value)


def format_time(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ`, microseconds always written (isoformat is strftime's faster twin)."""
    if moment.year < 1000:  # isoformat pads the year, strftime may not: keep strftime's bytes
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def encode_values(version: int | None, values: Sequence[Any]) -> bytes:
    """Leaf bytes from the V1 values in V1_ORDERED order (occurred_at a UTC datetime), for bulk readers."""
    if (version or LEAF_VERSION) != 1:
        raise ValueError(f"unknown audit leaf version {version}")
    if len(values) != len(V1_ORDERED):
        raise ValueError(f"a v1 leaf has {len(V1_ORDERED)} values, got {len(values)}")
    moment = '"' + format_time(values[_TIME_INDEX]) + '"'
    strings = list(values)
    strings[_TIME_INDEX] = None
    try:
        encoded = ["null" if value is None else encode_basestring(value) for value in strings]
    except TypeError:  # a value that is not a string: the general path, still the reference bytes
        plain = dict(zip(V1_ORDERED, values, strict=True))
        plain["occurred_at"] = format_time(plain["occurred_at"])
        return _PREFIX_V1 + canonical_json(plain).encode("utf-8")
    encoded[_TIME_INDEX] = moment
    return _PREFIX_V1 + (_V1_TEMPLATE % tuple(encoded)).encode("utf-8")


def encode_leaf(event: Any) -> bytes:
    """Bytes of the leaf for `event` (an AuditEvent row or anything with the same attributes)."""
    return encode_values(getattr(event, "leaf_version", LEAF_VERSION), _V1_VALUES(event))


def encode_leaf_reference(event: Any) -> bytes:
    """The v1 definition, spelled plainly: canonical JSON of the V1 fields (tests hold encode_leaf to it)."""
    version = getattr(event, "leaf_version", LEAF_VERSION) or LEAF_VERSION
    if version != 1:
        raise ValueError(f"unknown audit leaf version {version}")
    values = {name: getattr(event, name) for name in V1_FIELDS}
    values["occurred_at"] = values["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _PREFIX_V1 + canonical_json(values).encode("utf-8")
