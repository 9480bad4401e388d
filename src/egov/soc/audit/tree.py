"""The stored Merkle tree: size, perfect-subtree reads in one query, roots and proofs over the database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.orm import Session

from egov.soc.audit import merkle
from egov.soc.interfaces import MissingNode
from egov.soc.models import AuditLeaf, AuditTreeNode

LEAVES = cast(Table, AuditLeaf.__table__)
NODES = cast(Table, AuditTreeNode.__table__)

T = TypeVar("T")

# Level 0 of the tree is audit_leaves.leaf_hash; audit_tree_nodes holds levels >= 1 only, so the
# sequencer writes about one node row per leaf instead of two.
_IN_CHUNK = 500


def tree_size(session: Session) -> int:
    """Number of sequenced leaves: one past the highest leaf index (a primary-key lookup, O(log n))."""
    top = session.execute(select(func.max(LEAVES.c.leaf_index))).scalar()
    return 0 if top is None else int(top) + 1


class _Recorder:
    """A NodeSource that only notes which nodes are asked for; the set does not depend on the hashes."""

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def perfect_subtree(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return bytes(merkle.HASH_SIZE)


class StoredNodes:
    """NodeSource over the database that fetches every node a computation needs in one or two queries.

    `compute(fn)` runs `fn` once against a recorder to learn which nodes it reads, loads them all
    at once, then runs it for real: a proof over a million leaves costs one round trip, not forty.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def fetch(self, keys: Iterable[tuple[int, int]]) -> None:
        wanted = [k for k in keys if k not in self._cache]
        leaves = sorted(i for lvl, i in wanted if lvl == 0)
        inner = sorted(k for k in wanted if k[0] > 0)
        for start in range(0, len(leaves), _IN_CHUNK):
            chunk = leaves[start:start + _IN_CHUNK]
            for idx, value in self._session.execute(
                select(LEAVES.c.leaf_index, LEAVES.c.leaf_hash).where(LEAVES.c.leaf_index.in_(chunk))
            ):
                self._cache[(0, int(idx))] = bytes(value)
        for start in range(0, len(inner), _IN_CHUNK):
            chunk_keys = inner[start:start + _IN_CHUNK]
            for level, idx, value in self._session.execute(
                select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(
                    tuple_(NODES.c.level, NODES.c.idx).in_(chunk_keys)
                )
            ):
                self._cache[(int(level), int(idx))] = bytes(value)

    def perfect_subtree(self, level: int, index: int) -> bytes:
        try:
            return self._cache[(level, index)]
        except KeyError:
            self.fetch([(level, index)])
        try:
            return self._cache[(level, index)]
        except KeyError:
            raise MissingNode(
                f"stored Merkle node (level {level}, index {index}) is missing; run `egov audit verify`"
            ) from None

    def compute(self, fn: Callable[[merkle.NodeSource], T]) -> T:
        recorder = _Recorder()
        fn(recorder)
        self.fetch(recorder.keys)
        return fn(self)


def root_at(session: Session, size: int) -> bytes:
    """RFC 6962 root of the first `size` leaves from O(log n) stored nodes."""
    return StoredNodes(session).compute(lambda nodes: merkle.subtree_hash(nodes, 0, size))


def inclusion_path(session: Session, index: int, size: int) -> tuple[bytes, list[bytes]]:
    """(leaf hash, audit path) of leaf `index` in the tree of `size` leaves."""
    nodes = StoredNodes(session)

    def both(src: merkle.NodeSource) -> tuple[bytes, list[bytes]]:
        return src.perfect_subtree(0, index), merkle.inclusion_proof(src, index, size)

    return nodes.compute(both)


def consistency_path(session: Session, old_size: int, new_size: int) -> list[bytes]:
    return StoredNodes(session).compute(lambda nodes: merkle.consistency_proof(nodes, old_size, new_size))
