"""Versioned leaf encoding: the exact bytes of an audit event that the Merkle tree commits to."""

from __future__ import annotations

import json
import operator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, Protocol

LEAF_VERSION = 1
_PREFIX_V1 = b"egov-audit-leaf/v1\n"

# The fields a v1 leaf covers, in the order they are written; every one is in the stored row.
V1_FIELDS = (
    "event_id", "occurred_at", "event_type", "outcome", "actor_id", "actor_kind", "actor_name",
    "represented_party", "agency_id", "assurance_level", "source_ip", "request_id", "channel",
    "object_type", "object_id", "details",
)


# The sequencer and verify encode millions of leaves, so v1 is written directly: every v1 value is a
# string or None, and for those canonical_json's output is exactly `"key":` + the JSON string (the
# C-accelerated encode_basestring that JSONEncoder(ensure_ascii=False) itself uses) or null, with the
# keys in sorted order. Any other value type falls back to canonical_json. tests/unit/soc/test_leaf.py
# pins the bytes and compares the two paths.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_V1_SORTED = tuple(sorted(V1_FIELDS))
_V1_VALUES = operator.attrgetter(*_V1_SORTED)
_V1_KEYS = tuple(encode_basestring(name) + ":" for name in _V1_SORTED)
_TIME_INDEX = _V1_SORTED.index("occurred_at")


class EventLike(Protocol):
    leaf_version: int


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same dict always gives the same bytes."""
    return _ENCODER.encode(value)


def encode_leaf(event: Any) -> bytes:
    """Bytes of the leaf for `event` (an AuditEvent row or anything with the same attributes)."""
    version = getattr(event, "leaf_version", LEAF_VERSION) or LEAF_VERSION
    if version != 1:
        raise ValueError(f"unknown audit leaf version {version}")
    values = list(_V1_VALUES(event))
    values[_TIME_INDEX] = values[_TIME_INDEX].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parts = []
    for key, value in zip(_V1_KEYS, values, strict=True):
        if value is None:
            parts.append(key + "null")
        elif type(value) is str:
            parts.append(key + encode_basestring(value))
        else:
            return _PREFIX_V1 + canonical_json(dict(zip(_V1_SORTED, values, strict=True))).encode("utf-8")
    return _PREFIX_V1 + ("{" + ",".join(parts) + "}").encode("utf-8")


def encode_leaf_reference(event: Any) -> bytes:
    """The v1 definition, spelled plainly: canonical JSON of the V1 fields (tests hold encode_leaf to it)."""
    values = {name: getattr(event, name) for name in V1_FIELDS}
    values["occurred_at"] = values["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _PREFIX_V1 + canonical_json(values).encode("utf-8")
