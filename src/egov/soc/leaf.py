"""Versioned leaf encoding: the exact bytes of an audit event that the Merkle tree commits to."""

from __future__ import annotations

import json
from typing import Any, Protocol

LEAF_VERSION = 1
_PREFIX_V1 = b"egov-audit-leaf/v1\n"

# The fields a v1 leaf covers, in the order they are written; every one is in the stored row.
V1_FIELDS = (
    "event_id", "occurred_at", "event_type", "outcome", "actor_id", "actor_kind", "actor_name",
    "represented_party", "agency_id", "assurance_level", "source_ip", "request_id", "channel",
    "object_type", "object_id", "details",
)


class EventLike(Protocol):
    leaf_version: int


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same dict always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def encode_leaf(event: Any) -> bytes:
    """Bytes of the leaf for `event` (an AuditEvent row or anything with the same attributes)."""
    version = getattr(event, "leaf_version", LEAF_VERSION) or LEAF_VERSION
    if version != 1:
        raise ValueError(f"unknown audit leaf version {version}")
    values: dict[str, Any] = {}
    for name in V1_FIELDS:
        v = getattr(event, name)
        if name == "occurred_at":
            v = v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[name] = v
    return _PREFIX_V1 + canonical_json(values).encode("utf-8")
