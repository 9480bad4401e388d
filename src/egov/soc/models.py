"""Audit log tables: events (insert-only), their sequenced leaves, Merkle nodes and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egov.platform.db import Base, UtcDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One security-relevant action, written in the same transaction as the change it describes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    event_type: Mapped[str] = mapped_column(String(80))  # indexed by ix_audit_events_type_time, below
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure | denied
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_kind: Mapped[str | None] = mapped_column(String(20))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    represented_party: Mapped[str | None] = mapped_column(String(64))
    agency_id: Mapped[str | None] = mapped_column(String(64), index=True)
    assurance_level: Mapped[str | None] = mapped_column(String(16))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(120), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, secrets scrubbed
    leaf_version: Mapped[int] = mapped_column(Integer, default=1)
    # RFC 6962 leaf hash of the encoded event, computed by the writer from the values it inserts, so
    # the sequencer reads 40 bytes per event instead of re-reading and re-encoding it. Not trusted
    # by `verify`, which recomputes every leaf from the event's columns. NULL for rows written
    # without it (bulk loads); the sequencer then encodes them itself.
    leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class AuditLeaf(Base):
    """The sequencer's verdict on order: leaf index -> event, assigned after commit, never changed."""

    __tablename__ = "audit_leaves"

    leaf_index: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_pk: Mapped[int] = mapped_column(BigId, ForeignKey("audit_events.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    sequenced_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditTreeNode(Base):
    """Hash of the perfect subtree of 2**level leaves starting at leaf index * 2**level (insert-only)."""

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed note over (origin, tree size, root), also published outside the database."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


Index("ix_audit_events_type_time", AuditEvent.event_type, AuditEvent.occurred_at)
