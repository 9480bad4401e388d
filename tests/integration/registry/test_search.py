"""Name search semantics on the real database, every query plan against a brute-force reference."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree, make_citizen

from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.registry.models import Citizen
from egov.registry.names import matches, search_terms
from egov.registry.services import SYSTEM_PRINCIPAL, search_citizens
from egov.registry.services.search import _COMMON, _Search, prefix_end, search_by_name

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Đỗ", "Hoàng", "Huỳnh", "Ngô", "H'Hen"]
MIDDLE = ["Văn", "Thị", "Ngọc", "Minh", "Đức", "Thanh", "Hữu"]
GIVEN = ["An", "Anh", "Ánh", "Hoa", "Hòa", "Hương", "Dũng", "Đạt", "Nam", "Ân", "Thành", "Niê", "Y-Moan"]


def names_of(citizens: list[Citizen]) -> list[str]:
    return [c.full_name for c in citizens]


@pytest.fixture(autouse=True)
def _forget_word_counts() -> Iterator[None]:
    """The planner remembers word counts per process and database URL; every test database here reuses
    its URL with other data, so each test starts with none (answers never depend on them; plans do)."""
    _COMMON.clear()
    yield
    _COMMON.clear()


@pytest.fixture
def population(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> list[Citizen]:
    rnd = random.Random(20261125)
    people = [
        make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Nguyễn Văn An"),
        make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đặng Thị Hoa", sex="female"),
        make_citizen(session, clock, agency=registry_tree.dept_b, full_name="Lê An An"),
        make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Lê Nguyễn Văn Anh"),
    ]
    for _ in range(240):
        agency = rnd.choice([registry_tree.dept_a, registry_tree.dept_b, registry_tree.root])
        name = " ".join([rnd.choice(SURNAMES), rnd.choice(MIDDLE), rnd.choice(GIVEN)])
        people.append(make_citizen(session, clock, agency=agency, full_name=name,
                                   birth_date=date(rnd.randint(1950, 2005), rnd.randint(1, 12), rnd.randint(1, 28))))
    session.commit()
    return people


def reference(people: list[Citizen], query: str, allowed: set[str] | None, limit: int) -> list[Citizen]:
    terms = search_terms(query)
    exact = len(set(terms)) != len(terms) or any(a != b and b.startswith(a) for a in terms for b in terms)
    hits = [
        c for c in people
        if (allowed is None or c.managing_agency_id in allowed) and matches(query, c.full_name, distinct=exact)
    ]
    typed = " ".join(terms)  # names that begin with the query as typed come first, then the rest
    return sorted(hits, key=lambda c: (not c.name_key.startswith(typed), c.name_key, c.id))[:limit]


def test_the_issue_examples(session: Session, population: list[Citizen]) -> None:
    found = names_of(search_citizens(session, "nguyen an", by=SYSTEM_PRINCIPAL).items)
    assert "Nguyễn Văn An" in found
    assert all(matches("nguyen an", n) for n in found)
    found = names_of(search_citizens(session, "dang", by=SYSTEM_PRINCIPAL, limit=100).items)
    assert "Đặng Thị Hoa" in found and all(n.startswith("Đặng") for n in found)
    assert search_citizens(session, "guyen", by=SYSTEM_PRINCIPAL).items == []  # word starts only
    assert "Đặng Thị Hoa" in names_of(search_citizens(session, "ĐẶNG hoa", by=SYSTEM_PRINCIPAL).items)
    assert "Đặng Thị Hoa" in names_of(search_citizens(session, "đang  HÒA", by=SYSTEM_PRINCIPAL).items)
    assert search_citizens(session, "   ", by=SYSTEM_PRINCIPAL).items == []
    assert search_citizens(session, "%", by=SYSTEM_PRINCIPAL).items == []  # no wildcard smuggling
    # Each typed word needs a word of its own: "an an" finds Lê An An, not Nguyễn Văn An.
    assert "Lê An An" in names_of(search_citizens(session, "an an", by=SYSTEM_PRINCIPAL).items)
    assert "Nguyễn Văn An" not in names_of(search_citizens(session, "an an", by=SYSTEM_PRINCIPAL, limit=100).items)


def test_names_that_begin_with_the_query_come_first(session: Session, population: list[Citizen]) -> None:
    found = names_of(search_citizens(session, "nguyen van", by=SYSTEM_PRINCIPAL, limit=100).items)
    begins = [n for n in found if n.startswith("Nguyễn Văn")]
    assert begins and found[: len(begins)] == begins  # the typed prefix first, in name order
    assert found[len(begins):] == ["Lê Nguyễn Văn Anh"]  # then the other matches
    assert begins == sorted(begins, key=lambda n: search_terms(n))


@pytest.mark.parametrize(
    ("cap", "window", "plans"),
    [
        (2000, 10_000, {"prefix", "word", "scope", "none", "prefix+word", "prefix+scope"}),  # small table
        # Every source "common": walk the name index (falling back when the walk finds fewer than asked).
        (1, 10_000, {"prefix", "walk", "walk+word", "walk+scope", "none", "prefix+walk", "prefix+walk+word",
                     "prefix+walk+scope"}),
        (1, 7, {"prefix", "walk", "walk+word", "walk+scope", "none", "prefix+walk", "prefix+walk+word",
                "prefix+walk+scope"}),  # tiny window: fall back when short
    ],
)
def test_every_plan_returns_the_reference_answer(
    session: Session, population: list[Citizen], registry_tree: RegistryTree, cap: int, window: int, plans: set[str]
) -> None:
    queries = ["nguyen", "nguyen an", "an", "thi h", "h hen", "hen", "y moan", "dang hoa", "van", "van thi",
               "d", "đ", "anh an", "an an", "zzz", "ngoc anh", "tran", "hu", "n", "dat", "nguyen van",
               "nguyen van a", "le", "le nguyen", "nguyen thi hoa"]
    scopes: list[set[str] | None] = [None, {registry_tree.dept_a.id}, {registry_tree.dept_b.id, registry_tree.root.id}]
    seen_plans = set()
    for query in queries:
        for allowed in scopes:
            for limit in (1, 5, 20):
                got, plan = search_by_name(session, query, allowed=allowed, limit=limit, cap=cap, window=window)
                seen_plans.add(plan.kind)
                expected = reference(population, query, allowed, limit)
                assert [c.id for c in got] == [c.id for c in expected], (query, allowed, limit, plan)
    assert seen_plans <= plans and len(seen_plans) > 1


def test_words_known_rare_together_skip_the_walk_and_answer_the_same(
        session: Session, population: list[Citizen], monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a search has counted its words (remembered per process), a later search of words known
    rare together drives from the rarest at once: same answers, no walk."""
    from egov.registry.services import search as module

    monkeypatch.setattr(module, "REMEMBER_FROM", 1)  # the test table is small: remember every count
    monkeypatch.setattr(module, "SECOND_CAP", 30)  # ... and call a word of under 30 citizens rare
    queries = ["nguyen an", "thi h", "h hen", "y moan", "dang hoa", "van thi", "anh an", "an an", "ngoc anh",
               "le nguyen", "nguyen thi hoa", "nguyen van a"]
    plans = set()
    for _ in range(2):
        for query in queries:
            got, plan = search_by_name(session, query, allowed=None, limit=5, cap=1, window=7)
            plans.add(plan.kind)
            assert [c.id for c in got] == [c.id for c in reference(population, query, None, 5)], (query, plan)
    assert plans & {"known+word", "prefix+known+word"}, plans


def test_prefix_end() -> None:
    assert prefix_end("an") == "ao"
    assert prefix_end("az") == "a{"
    assert prefix_end("a\ud7ff") == "a\ue000"


@pytest.mark.postgres_only("a PostgreSQL plan check")
def test_postgresql_uses_the_btrees_for_prefixes(session: Session, population: list[Citizen],
                                                 owner_db: Database) -> None:
    """Every search shape is an index-only scan of the right btree ("C" collation makes prefix ranges
    usable); EXPLAIN proves it, with sequential scans priced out as they would be at a million rows."""
    with owner_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE citizens, citizen_name_words"))  # sets the visibility map, as autovacuum
    session.execute(text("SET LOCAL enable_seqscan = off"))

    def plan_of(stmt: object) -> str:
        compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))

    search = _Search(session, ["nguy", "an"], None)
    driven = plan_of(search.word_statement("nguy"))
    assert "Index Only Scan using pk_citizen_name_words" in driven, driven
    assert "word_key >= 'nguy'" in driven and "word_key < 'nguz'" in driven
    scoped = plan_of(_Search(session, ["nguy", "an"], ["x", "y"]).word_statement("nguy"))
    assert "Index Only Scan using pk_citizen_name_words" in scoped, scoped
    assert "Seq Scan" not in scoped and "Hash Join" not in scoped, scoped
    walked = plan_of(search.walk_statement(2_000, 20))
    assert "Index Only Scan using ix_citizens_name_key_id_managing_agency_id" in walked, walked
    scoped_walk = plan_of(_Search(session, ["nguy"], ["x", "y"]).walk_statement(2_000, 20))
    assert "Index Only Scan using ix_citizens_managing_agency_id_name_key_id" in scoped_walk, scoped_walk
    prefix = plan_of(search.name_prefix_statement("nguyen van a", 20))
    assert "Index Only Scan using ix_citizens_name_key_id_managing_agency_id" in prefix, prefix
    scoped_prefix = plan_of(_Search(session, ["nguy"], ["x", "y"]).name_prefix_statement("nguy", 20))
    assert "Index Only Scan using ix_citizens_managing_agency_id_name_key_id" in scoped_prefix, scoped_prefix
    like = plan_of(text("SELECT 1 FROM citizen_name_words WHERE word_key LIKE 'nguy%'"))
    assert "pk_citizen_name_words" in like, like  # LIKE 'x%' can use it too, thanks to the collation


def test_common_word_counts_are_remembered_and_a_stale_count_never_hides_a_result(
    session: Session, population: list[Citizen], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event

    from egov.registry.services import search as search_module

    monkeypatch.setattr(search_module, "REMEMBER_FROM", 1)
    monkeypatch.setattr(search_module, "_COMMON", {})
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        first, _ = search_by_name(session, "van an", allowed=None, limit=5, cap=1)
        counted = sum("count(" in s.lower() for s in statements)
        statements.clear()
        again, _ = search_by_name(session, "van an", allowed=None, limit=5, cap=1)
        assert sum("count(" in s.lower() for s in statements) == 0 < counted  # remembered: no count query
        assert [c.id for c in again] == [c.id for c in first]
        # The remembered counts go stale (every Văn An renamed): the answer follows the data.
        for c in population:
            if matches("van an", c.full_name):
                c.full_name, c.name_key = "Lò Thị Mai", "lo thi mai"
        session.flush()
        session.execute(text("DELETE FROM citizen_name_words WHERE name_key NOT IN (SELECT name_key FROM citizens)"))
        stale, _ = search_by_name(session, "van an", allowed=None, limit=5, cap=1)
        assert stale == [] and reference(population, "van an", None, 5) == []
    finally:
        event.remove(engine, "before_cursor_execute", count)
