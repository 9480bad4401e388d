"""The pure parts of verification and search: compact range, node ranges per chunk, filters."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from egov.platform.errors import ValidationFailed
from egov.soc.audit import merkle
from egov.soc.audit.verify import _Range, completed_ranges
from egov.soc.schemas import SearchFilters, parse_vn_date


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


@pytest.mark.parametrize("n", [*range(0, 40), 63, 64, 65, 100, 257])
def test_compact_range_root_and_nodes_match_the_reference(n: int) -> None:
    leaves = _leaves(n)
    rng = _Range()
    completed: list[tuple[int, int, bytes]] = []
    for value in leaves:
        rng.push(value, completed)
    assert rng.root() == merkle.root_from_leaf_hashes(leaves)
    reference = merkle.InMemoryNodes(leaves)
    expected = {(lvl, i, reference.levels[lvl][i]) for lvl in range(1, len(reference.levels))
                for i in range(len(reference.levels[lvl]))}
    assert set(completed) == expected


def test_a_copied_range_goes_its_own_way() -> None:
    leaves = _leaves(9)
    a = _Range()
    for v in leaves[:5]:
        a.push(v)
    b = a.copy()
    for v in leaves[5:]:
        a.push(v)
    b.push(leaves[5])
    assert a.root() == merkle.root_from_leaf_hashes(leaves)
    assert b.root() == merkle.root_from_leaf_hashes(leaves[:6])


@pytest.mark.parametrize("first,end", [(0, 1), (0, 8), (3, 17), (7, 8), (8, 9), (100, 1000), (1023, 1025)])
def test_completed_ranges_are_exactly_the_nodes_those_leaves_complete(first: int, end: int) -> None:
    brute = set()
    for leaf in range(first, end):
        level, index = 0, leaf
        while index & 1:
            level, index = level + 1, index >> 1
            brute.add((level, index))
    got = {(lvl, i) for lvl, lo, hi in completed_ranges(first, end) for i in range(lo, hi + 1)}
    assert got == brute


def test_vietnamese_and_iso_dates() -> None:
    assert parse_vn_date("25/11/2026") == date(2026, 11, 25)
    assert parse_vn_date("5/1/2026") == date(2026, 1, 5)
    assert parse_vn_date("2026-11-25") == date(2026, 11, 25)
    with pytest.raises(ValueError):
        parse_vn_date("31/02/2026")


def test_filters_name_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        SearchFilters.parse(since="hôm qua", until="2026/13/01", actor="x" * 201)
    assert {e.field for e in caught.value.errors} == {"since", "until", "actor"}
    with pytest.raises(ValidationFailed) as caught:
        SearchFilters.parse(since="26/11/2026", until="25/11/2026")
    assert caught.value.errors[0].rule == "date.order"
    f = SearchFilters.parse(event_type=" auth: ", since="01/11/2026")
    assert f.active and f.as_details() == {"event_type": "auth:", "since": "2026-11-01"}
    assert not SearchFilters.parse().active
