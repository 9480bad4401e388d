"""RFC 6962 Merkle tree: published vectors, a naive reference, proof round trips and tampering."""

from __future__ import annotations

import hashlib
import math

import pytest

from egov.soc.audit.merkle import (
    EMPTY_ROOT,
    InMemoryNodes,
    ProofError,
    consistency_proof,
    frontier,
    inclusion_proof,
    leaf_hash,
    new_perfect_nodes,
    node_hash,
    perfect_nodes_to_store,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# Vectors from github.com/google/trillian merkle/testonly/constants.go (LeafInputs, NodeHashes,
# RootHashes) and github.com/transparency-dev/merkle proof/verify_test.go (inclusionProofs,
# consistencyProofs), the Go reference implementation of RFC 6962 / RFC 9162.
LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # indexed by tree size
NODE_HASHES = [[bytes.fromhex(h) for h in level] for level in (
    ("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",),
)]
# (leaf index, tree size, proof); the Go file numbers leaves from 1, these from 0.
INCLUSION_VECTORS = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

LEAVES = [leaf_hash(d) for d in LEAF_INPUTS]
MAX_SIZE = 70
BIG_LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]
BIG_NODES = InMemoryNodes(BIG_LEAVES)


# A literal transcription of RFC 6962 §2.1, slow and obviously right, to check the fast code against.
def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


BIG_ROOTS = [ref_mth(BIG_LEAVES[:n]) for n in range(MAX_SIZE + 1)]


def flipped(proof: list[bytes], i: int) -> list[bytes]:
    return [bytes([p[0] ^ 0x10]) + p[1:] if j == i else p for j, p in enumerate(proof)]


def nearby(x: int, low: int, high: int) -> set[int]:
    """The likeliest wrong values for x (off by one, a flipped low bit, halved, doubled, the ends)."""
    return {v for v in (x - 1, x + 1, x ^ 1, x ^ 2, x // 2, x * 2, low, high) if low <= v <= high}


WRONG = hashlib.sha256(b"not a root").digest()


class RecordingNodes:
    """Wraps a NodeSource to record reads, so the O(log n) claim is tested rather than trusted."""

    def __init__(self, inner: InMemoryNodes) -> None:
        self.inner = inner
        self.reads: list[tuple[int, int]] = []

    def perfect_subtree(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return self.inner.perfect_subtree(level, index)


def test_hash_primitives() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert leaf_hash(b"") == NODE_HASHES[0][0]
    assert node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_published_roots(size: int) -> None:
    assert root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size]
    assert InMemoryNodes(LEAVES[:size]).root() == ROOTS[size]


def test_in_memory_nodes_are_the_published_node_hashes() -> None:
    assert InMemoryNodes(LEAVES).levels == NODE_HASHES


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_published_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    want = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(InMemoryNodes(LEAVES), index, size) == want
    verify_inclusion(LEAVES[index], index, size, want, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    want = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(InMemoryNodes(LEAVES), old, new) == want
    verify_consistency(old, new, ROOTS[old], ROOTS[new], want)


def test_root_matches_reference_and_subranges() -> None:
    for size in range(MAX_SIZE + 1):
        assert root_from_leaf_hashes(BIG_LEAVES[:size]) == ref_mth(BIG_LEAVES[:size])
        assert subtree_hash(BIG_NODES, 0, size) == ref_mth(BIG_LEAVES[:size])
    for start in range(0, 40):
        for end in range(start, 40):  # unaligned ranges too: still the MTH of exactly those leaves
            assert subtree_hash(BIG_NODES, start, end) == ref_mth(BIG_LEAVES[start:end])


def test_inclusion_round_trip_and_tampering() -> None:
    for size in range(1, MAX_SIZE + 1):
        root = BIG_ROOTS[size]
        for index in range(size):
            leaf = BIG_LEAVES[index]
            proof = inclusion_proof(BIG_NODES, index, size)
            assert proof == ref_path(index, BIG_LEAVES[:size])
            verify_inclusion(leaf, index, size, proof, root)
            bad_calls = [
                (BIG_LEAVES[index - 1], index, size, proof, root),
                (leaf, index, size, proof, WRONG),
                (leaf, index, size, [*proof, root], root),
                (leaf, index, size, [root, *proof], root),
                (leaf, index, size, [*proof, b"short"], root),
            ]
            if proof:
                bad_calls.append((leaf, index, size, proof[:-1], root))
                bad_calls.append((leaf, index, size, [*proof[:-1], b"short"], root))
            bad_calls += [(leaf, index, size, flipped(proof, i), root) for i in range(len(proof))]
            bad_calls += [(leaf, i, size, proof, root) for i in nearby(index, -1, size) - {index}]
            # A wrong size is only meaningful with that size's root: size and root come signed together.
            sizes = nearby(size, index + 1, MAX_SIZE) - {size}
            bad_calls += [(leaf, index, n, proof, BIG_ROOTS[n]) for n in sizes]
            for args in bad_calls:
                with pytest.raises(ProofError):
                    verify_inclusion(*args)


def test_consistency_round_trip_and_tampering() -> None:
    roots = BIG_ROOTS
    for new in range(1, MAX_SIZE + 1):
        for old in range(0, new + 1):
            proof = consistency_proof(BIG_NODES, old, new)
            assert proof == ([] if old in (0, new) else ref_subproof(old, BIG_LEAVES[:new], True))
            r_old, r_new = roots[old], roots[new]
            verify_consistency(old, new, r_old, r_new, proof)
            bad_calls = [
                (old, new, r_old, roots[new - 1], proof),
                (old, new, roots[new - 1] if old != new - 1 else r_new, r_new, proof),
                (old, new, r_old, r_new, [*proof, r_new]),
                (old, new, r_old, r_new, [r_old, *proof]),
            ]
            if proof:
                bad_calls.append((old, new, r_old, r_new, proof[:-1]))
                bad_calls += [(old, new, r_old, r_new, flipped(proof, i)) for i, _ in enumerate(proof)]
            bad_calls += [(o, new, roots[o], r_new, proof) for o in nearby(old, 0, new) - {old}]
            bad_calls += [(old, n, r_old, roots[n], proof) for n in nearby(new, old, MAX_SIZE) - {new}]
            for o, n, r1, r2, p in bad_calls:
                if not p and r1 == roots[o] and (o == 0 or (o == n and r2 == roots[n])):
                    verify_consistency(o, n, r1, r2, p)  # the trivial cases: nothing to prove
                    continue
                with pytest.raises(ProofError):
                    verify_consistency(o, n, r1, r2, p)


def test_verify_rejects_out_of_range_sizes() -> None:
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])
    with pytest.raises(ProofError):
        verify_consistency(0, 3, LEAVES[0], ROOTS[3], [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ValueError):
        inclusion_proof(BIG_NODES, 5, 5)
    with pytest.raises(ValueError):
        consistency_proof(BIG_NODES, 6, 5)


def test_proofs_read_logarithmically_many_nodes() -> None:
    size = (1 << 15) + 12_345
    nodes = RecordingNodes(InMemoryNodes(BIG_LEAVES[i % MAX_SIZE] for i in range(size)))
    bound = 2 * math.ceil(math.log2(size)) + 2
    for index in (0, 1, size // 2, size - 2, size - 1):
        nodes.reads.clear()
        inclusion_proof(nodes, index, size)
        assert len(nodes.reads) <= bound
    for old in (1, 2, 3, 1 << 14, size // 2 + 1, size - 1):
        nodes.reads.clear()
        consistency_proof(nodes, old, size)
        assert len(nodes.reads) <= bound


def test_appending_stores_each_node_once_when_it_completes() -> None:
    stored: dict[tuple[int, int], bytes] = {}
    for index, leaf in enumerate(BIG_LEAVES):
        for level, i, value in perfect_nodes_to_store(index, leaf, lambda lv, ix: stored[(lv, ix)]):
            assert (level, i) not in stored  # insert-only
            assert (i + 1) << level == index + 1  # completed exactly by this leaf
            stored[(level, i)] = value
    want = {(lv, i): h for lv, level in enumerate(BIG_NODES.levels) for i, h in enumerate(level)}
    assert stored == want


def append_batch(
    stored: dict[tuple[int, int], bytes], start: int, batch: list[bytes]
) -> list[tuple[int, int, bytes]]:
    """As the sequencer does it: prefetch the frontier in one go, then serve every read from it."""
    border = {key: stored[key] for key in frontier(start)}
    return new_perfect_nodes(start, batch, lambda level, index: border[(level, index)])


@pytest.mark.parametrize("batches", [[70], [1] * 70, [3, 4, 5, 1, 20, 37], [8, 8, 16, 32, 6], [0, 33, 0, 37]])
def test_batch_append_reads_only_the_frontier(batches: list[int]) -> None:
    stored: dict[tuple[int, int], bytes] = {}
    start = 0
    for count in batches:
        for level, i, value in append_batch(stored, start, BIG_LEAVES[start:start + count]):
            assert (level, i) not in stored
            stored[(level, i)] = value
        start += count
    want = {(lv, i): h for lv, level in enumerate(BIG_NODES.levels) for i, h in enumerate(level)}
    assert stored == want


@pytest.mark.parametrize(("start", "count"), [(0, 70), (1, 1), (5, 3), (6, 26), (63, 1), (64, 0), (37, 27)])
def test_new_nodes_come_level_by_level_and_from_level_leaves_out_the_lower_ones(start: int, count: int) -> None:
    stored = {(lv, i): h for lv, level in enumerate(BIG_NODES.levels) for i, h in enumerate(level)}
    border = {key: stored[key] for key in frontier(start)}
    nodes = new_perfect_nodes(start, BIG_LEAVES[start:start + count], lambda level, index: border[(level, index)])
    assert nodes == sorted(nodes, key=lambda node: node[:2])  # level by level, index order on each
    assert [n for n in nodes if n[0] == 0] == [(0, start + i, h) for i, h in enumerate(BIG_LEAVES[start:start + count])]
    for level, index, value in nodes:
        assert stored[(level, index)] == value
        assert start <= ((index + 1) << level) - 1 < start + count  # completed by this batch
    above = new_perfect_nodes(start, iter(BIG_LEAVES[start:start + count]), lambda level, index: border[(level, index)],
                              from_level=1)
    assert above == [n for n in nodes if n[0] >= 1]


def test_frontier_is_what_the_root_reads() -> None:
    assert frontier(0) == []
    assert frontier(7) == [(2, 0), (1, 2), (0, 6)]
    assert frontier(8) == [(3, 0)]
    for size in range(MAX_SIZE + 1):
        nodes = RecordingNodes(BIG_NODES)
        subtree_hash(nodes, 0, size)
        assert sorted(nodes.reads) == sorted(frontier(size))


def test_in_memory_extend_matches_bulk_build() -> None:
    nodes = InMemoryNodes()
    for chunk in (BIG_LEAVES[:5], BIG_LEAVES[5:6], [], BIG_LEAVES[6:40], BIG_LEAVES[40:]):
        nodes.extend(chunk)
    assert nodes.levels == BIG_NODES.levels
    with pytest.raises(KeyError):
        nodes.perfect_subtree(0, MAX_SIZE)
    with pytest.raises(KeyError):
        nodes.perfect_subtree(1, -1)


def test_errors_say_what_is_wrong() -> None:
    proof = inclusion_proof(BIG_NODES, 5, 13)
    with pytest.raises(ProofError, match="too long"):
        verify_inclusion(BIG_LEAVES[5], 5, 13, [*proof, WRONG], BIG_ROOTS[13])
    with pytest.raises(ProofError, match="too short"):
        verify_inclusion(BIG_LEAVES[5], 5, 13, proof[:-1], BIG_ROOTS[13])
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(BIG_LEAVES[5], 5, 13, proof, BIG_ROOTS[13][:31])
    proof = consistency_proof(BIG_NODES, 5, 13)
    with pytest.raises(ProofError, match="too long"):
        verify_consistency(5, 13, BIG_ROOTS[5], BIG_ROOTS[13], [*proof, WRONG])
    with pytest.raises(ProofError, match="too short"):
        verify_consistency(5, 13, BIG_ROOTS[5], BIG_ROOTS[13], proof[:-1])
    with pytest.raises(ProofError, match="new root"):
        verify_consistency(5, 13, BIG_ROOTS[5], BIG_ROOTS[12], proof)
