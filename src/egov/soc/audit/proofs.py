"""Inclusion and consistency proofs over the stored tree, and live verification of one event against a checkpoint.

Proofs reveal only hashes (a leaf hash commits to an event that includes a random UUIDv7, so it
cannot be guessed back), so the proof endpoints are public: external auditors holding our signed
checkpoints must be able to check them without an account. Reading an event itself needs
soc:audit:read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.platform.errors import NotFound, ValidationFailed
from egov.soc.audit import merkle
from egov.soc.audit.checkpoints import CheckpointInfo, checkpoint_at, latest_checkpoint
from egov.soc.audit.leaf import encode_leaf
from egov.soc.audit.signed_note import CheckpointError, parse_checkpoint, verify_checkpoint
from egov.soc.audit.tree import MissingNode, consistency_path, inclusion_path, tree_size
from egov.soc.models import AuditEvent, AuditLeaf


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    checkpoint: str | None  # the signed note for tree_size, when one was made at that size

    def as_json(self) -> dict[str, Any]:
        return {"leaf_index": self.index, "tree_size": self.tree_size, "leaf_hash": b64(self.leaf_hash),
                "hashes": [b64(h) for h in self.hashes], "checkpoint": self.checkpoint}


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: list[bytes]
    old_checkpoint: str | None
    new_checkpoint: str | None

    def as_json(self) -> dict[str, Any]:
        return {"old_size": self.old_size, "new_size": self.new_size, "hashes": [b64(h) for h in self.hashes],
                "old_checkpoint": self.old_checkpoint, "new_checkpoint": self.new_checkpoint}


def _bad(field: str, rule: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed.single(field, rule, vi, en)


def _checked_size(session: Session, size: int | None, field: str) -> int:
    current = tree_size(session)
    if size is None:
        latest = latest_checkpoint(session)
        if latest is None:
            raise NotFound("Nhật ký chưa có điểm kiểm tra (checkpoint) nào.", "The log has no checkpoint yet.")
        return latest.size
    if not 0 < size <= current:
        raise _bad(field, "tree_size.range", f"Kích thước cây phải từ 1 đến {current}.",
                   f"The tree size must be between 1 and {current}.")
    return size


def _note(cp: CheckpointInfo | None) -> str | None:
    return cp.note if cp is not None else None


def inclusion(session: Session, index: int, size: int | None = None) -> InclusionProof:
    """PATH(index, D[0:size]); `size` defaults to the latest signed checkpoint's."""
    n = _checked_size(session, size, "size")
    if not 0 <= index < n:
        raise _bad("index", "leaf_index.range", f"Chỉ số lá phải từ 0 đến {n - 1}.",
                   f"The leaf index must be between 0 and {n - 1}.")
    try:
        leaf, path = inclusion_path(session, index, n)
    except MissingNode as exc:
        raise NotFound(str(exc), str(exc)) from None
    return InclusionProof(index, n, leaf, path, _note(checkpoint_at(session, n)))


def consistency(session: Session, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """PROOF(old, D[0:new]); `new_size` defaults to the latest signed checkpoint's."""
    new = _checked_size(session, new_size, "new")
    if not 0 < old_size <= new:
        raise _bad("old", "tree_size.order", f"Kích thước cũ phải từ 1 đến {new}.",
                   f"The old size must be between 1 and {new}.")
    try:
        path = consistency_path(session, old_size, new)
    except MissingNode as exc:
        raise NotFound(str(exc), str(exc)) from None
    return ConsistencyProof(old_size, new, path, _note(checkpoint_at(session, old_size)),
                            _note(checkpoint_at(session, new)))


@dataclass(frozen=True)
class EventProofStatus:
    """What the event page shows: where the event sits in the log and whether that was proved just now."""

    leaf_index: int | None
    state: str  # verified | pending_leaf | pending_checkpoint | failed
    checkpoint_size: int | None = None
    reason: str = ""
    proof: InclusionProof | None = None


def prove_event(session: Session, event: AuditEvent, vkeys: dict[bytes, str], origin: str) -> EventProofStatus:
    """Recompute the event's leaf from its row and prove it against the latest signed checkpoint.

    The leaf hash used is the one recomputed from the row, not the stored one, so an edited row
    fails here even if the leaf table was left alone; the checkpoint's signature is checked too.
    """
    leaf = session.execute(select(AuditLeaf).where(AuditLeaf.event_pk == event.id)).scalar_one_or_none()
    if leaf is None:
        return EventProofStatus(None, "pending_leaf")
    index = int(leaf.leaf_index)
    latest = latest_checkpoint(session)
    if latest is None or latest.size <= index:
        return EventProofStatus(index, "pending_checkpoint")
    try:
        signed = parse_checkpoint(latest.note)
        key = next((vkeys[s.key_id] for s in signed.signatures if s.key_id in vkeys), None)
        if key is None:
            raise CheckpointError("the checkpoint is not signed by any audit key in the key store")
        cp = verify_checkpoint(latest.note, key, origin=origin)
        proof = inclusion(session, index, cp.size)
        merkle.verify_inclusion(merkle.leaf_hash(encode_leaf(event)), index, cp.size, proof.hashes, cp.root)
    except (CheckpointError, merkle.ProofError, NotFound, ValidationFailed) as exc:
        return EventProofStatus(index, "failed", latest.size, str(exc))
    return EventProofStatus(index, "verified", cp.size, proof=proof)
