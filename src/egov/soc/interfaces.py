"""What other contexts may rely on from soc: how to record an audit event, its fields, and soc's exceptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy.orm import Session


class EventFields(TypedDict, total=False):
    """What a caller may say about an event beyond its type; the rest comes from the request context."""

    object_type: str | None
    object_id: str | None
    details: dict[str, Any] | None
    outcome: str
    agency_id: str | None
    actor_id: str | None
    actor_name: str | None
    actor_kind: str | None
    at: datetime | None


class RecordEvent(Protocol):
    """The shape of `record_event`: one event in the caller's session, committed or rolled back with it;
    returns the stored row's values (event id, leaf hash, ...)."""

    def __call__(self, session: Session, event_type: str, /, **fields: Unpack[EventFields]) -> dict[str, Any]: ...


class ProofError(Exception):
    """A Merkle proof does not verify; raised, never returned as False."""


class MissingNode(Exception):
    """A perfect subtree the tree size says exists is not stored: the tree tables were tampered with."""


class CheckpointError(Exception):
    """A note or checkpoint is malformed, or lacks a valid signature by the expected key."""


class CheckpointRefused(Exception):
    """The tree no longer extends the last signed checkpoint; signing it would bless tampering."""
