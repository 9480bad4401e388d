"""RFC 6962 Merkle tree hashing, O(log n) proofs from stored perfect subtrees, RFC 9162 verification."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import count, repeat
from typing import Protocol

from egov.soc.interfaces import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# (level, index, hash) of a perfect subtree: the 2**level leaves from leaf index * 2**level.
StoredNode = tuple[int, int, bytes]

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Hash one log entry; the 0x00 prefix stops a leaf from being passed off as an interior node."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children; the 0x01 prefix is the interior half of RFC 6962's domain separation."""
    return _sha256(b"\x01" + left + right).digest()


def _hash_pairs(level: Sequence[bytes]) -> list[bytes]:
    """Parents of the complete pairs of `level`; an odd last node is the caller's business."""
    return [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]


def _split(n: int) -> int:
    """RFC 6962's k for n >= 2 leaves: the largest power of two strictly less than n."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1) of all the leaf hashes, computed level by level.

    Pairing neighbours and promoting an odd last node unchanged builds exactly the tree of RFC 6962's
    split-at-the-largest-power-of-two recursion, without its slicing and call overhead.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        parents = _hash_pairs(level)
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0]


class NodeSource(Protocol):
    """Read access to stored perfect subtrees, so that proofs cost O(log n) reads, not O(n) leaves."""

    def perfect_subtree(self, level: int, index: int) -> bytes:
        """Hash of the 2**level leaves starting at leaf index * 2**level (level 0 is the leaf hash)."""
        ...


class InMemoryNodes:
    """Every complete perfect subtree of a list of leaf hashes, kept as one list per level.

    The in-memory twin of the database node table: tests, tools and small logs use it directly.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        level = list(leaf_hashes)
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = _hash_pairs(level)
            self.levels.append(level)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def perfect_subtree(self, level: int, index: int) -> bytes:
        if not (0 <= level < len(self.levels) and 0 <= index < len(self.levels[level])):
            raise KeyError(f"perfect subtree ({level}, {index}) is not complete")
        return self.levels[level][index]

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaves the way the database does, through `new_perfect_nodes`, so both stay alike."""
        for level, index, value in new_perfect_nodes(self.size, leaf_hashes, self.perfect_subtree):
            if level == len(self.levels):
                self.levels.append([])
            if index != len(self.levels[level]):
                raise RuntimeError(f"node ({level}, {index}) is out of order")  # would corrupt the lists
            self.levels[level].append(value)

    def root(self) -> bytes:
        return subtree_hash(self, 0, self.size)


def frontier(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that tile a tree of `size` leaves, largest first.

    They are the only stored nodes `new_perfect_nodes` may read when appending after leaf size - 1,
    so a sequencer can fetch them in one query and serve `get` from that.
    """
    tiles: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            tiles.append((level, start >> level))
            start += 1 << level
    return tiles


def new_perfect_nodes(
    start: int, leaf_hashes: Iterable[bytes], get: Callable[[int, int], bytes], *, from_level: int = 0
) -> list[StoredNode]:
    """Every node completed by appending `leaf_hashes` as leaves start, start + 1, ..., level by level.

    Node (L, i) becomes complete, and never changes again, when leaf (i + 1) * 2**L - 1 arrives, so
    storage can be insert-only. The nodes a batch completes on each level are consecutive: they are
    the parents of the complete pairs of the level below, the first of which may pair with a node
    completed before the batch, read from `get` (always a node of `frontier(start)`). So each level is
    hashed in one pass (as `InMemoryNodes` builds its levels). Nodes below `from_level` are not
    returned (level 0 are the leaf hashes themselves); they are returned level by level, and in
    index order on each level.
    """
    completed: list[StoredNode] = []
    level, first = 0, start
    row = leaf_hashes if isinstance(leaf_hashes, list) else list(leaf_hashes)
    while row:
        if level >= from_level:
            completed.extend(zip(repeat(level), count(first), row))
        if first & 1:  # a right child: its left sibling was completed before this batch
            row = [get(level, first - 1), *row]
            first -= 1
        row = _hash_pairs(row)
        level, first = level + 1, first >> 1
    return completed


def perfect_nodes_to_store(
    leaf_index: int, leaf_hash: bytes, get: Callable[[int, int], bytes]
) -> list[StoredNode]:
    """The nodes completed by appending one leaf: `new_perfect_nodes` for a batch of one."""
    return new_perfect_nodes(leaf_index, [leaf_hash], get)


def _is_aligned_perfect(start: int, end: int) -> bool:
    n = end - start
    return n > 0 and n & (n - 1) == 0 and start % n == 0


def subtree_hash(nodes: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves [start, end), following RFC 6962's split, from O(log n) stored perfect subtrees.

    Ranges that RFC 6962 recursion produces from leaf 0 always split into aligned perfect subtrees,
    each one stored node; any other range is still hashed correctly, by splitting further.
    """
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    if start == end:
        return EMPTY_ROOT
    lefts: list[bytes] = []
    while not _is_aligned_perfect(start, end):
        mid = start + _split(end - start)
        lefts.append(subtree_hash(nodes, start, mid))
        start = mid
    n = end - start
    value = nodes.perfect_subtree(n.bit_length() - 1, start // n)
    for left in reversed(lefts):
        value = node_hash(left, value)
    return value


def inclusion_proof(nodes: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, D[0:size]), the sibling nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            path.append(subtree_hash(nodes, mid, end))
            end = mid
        else:
            path.append(subtree_hash(nodes, start, mid))
            start = mid
    path.reverse()
    return path


def consistency_proof(nodes: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(old_size, D[0:new_size]); empty when old_size is 0 or new_size."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove size {old_size} consistent with size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end = 0, new_size
    whole_old_tree = True  # RFC 6962's b: the old tree is the left edge of [start, end), so its root is known
    while old_size != end:
        mid = start + _split(end - start)
        if old_size <= mid:
            proof.append(subtree_hash(nodes, mid, end))
            end = mid
        else:
            proof.append(subtree_hash(nodes, start, mid))
            start = mid
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(subtree_hash(nodes, start, end))
    proof.reverse()
    return proof


def _check_hash_sizes(what: str, hashes: Iterable[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what}: a hash of {len(h)} bytes, want {HASH_SIZE}")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` puts `leaf_hash` at `index` in the tree of `size` leaves and `root`.

    RFC 9162 §2.1.3.2. `size` and `root` must come from one signed checkpoint: only the root commits
    to the size, so a proof may also fit a different size paired with the same root.
    """
    if not 0 <= index < size:
        raise ProofError(f"inclusion: leaf {index} is not in a tree of size {size}")
    _check_hash_sizes("inclusion", [leaf_hash, root, *proof])
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion: proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion: proof is too short")
    if r != root:
        raise ProofError("inclusion: proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless `proof` shows tree (old_size, old_root) is a prefix of (new_size, new_root).

    Follows RFC 9162 §2.1.4.2; an empty old tree must have EMPTY_ROOT and needs an empty proof.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"consistency: size {old_size} cannot precede size {new_size}")
    _check_hash_sizes("consistency", [old_root, new_root, *proof])
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ProofError("consistency: an empty tree's root must be the hash of nothing")
    if old_size in (0, new_size):
        if proof:
            raise ProofError("consistency: proof must be empty")
        if old_size == new_size and old_root != new_root:
            raise ProofError("consistency: two different roots for the same size")
        return
    if not proof:
        raise ProofError("consistency: proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old root is a node of the new tree, so the proof omits it
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency: proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency: proof is too short")
    if fr != old_root:
        raise ProofError("consistency: proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency: proof does not lead to the new root")
