"""platform.permissions.restrict(): record-level scope in one place, by the model's declared `__scope__` column."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egov.platform.permissions import GLOBAL, Principal, Scope, restrict, restrict_to, scope_of
from egov.registry.models import Citizen, OfficerPosition

READ = "registry:citizen:read"


def officer(*grants: tuple[str, str]) -> Principal:
    return Principal(account_id="o", kind="officer", display_name="Cán bộ", grants=frozenset(grants))


def sql(stmt: Any) -> str:
    return str(stmt.compile(compile_kwargs={"literal_binds": True}))


def children(_session: Session, agencies: Iterable[str]) -> set[str]:
    """A stand-in subtree: agency X reaches X and X-child (the registry's real one is a recursive CTE)."""
    return {c for a in agencies for c in (a, f"{a}-child")}


@pytest.fixture
def session() -> Session:
    return Session()  # never connects: scope_of touches the database only through `expand`


def test_a_global_grant_leaves_the_query_alone(session: Session) -> None:
    query = select(Citizen)
    assert restrict(query, officer((READ, GLOBAL)), READ, session=session) is query


def test_an_agency_grant_filters_on_the_declared_column(session: Session) -> None:
    stmt = restrict(select(Citizen), officer((READ, "A"), ("other:perm", "B")), READ, session=session)
    assert "citizens.managing_agency_id IN ('A')" in sql(stmt)
    stmt = restrict(select(OfficerPosition.id), officer((READ, "A")), READ, session=session, model=OfficerPosition)
    assert "officer_positions.agency_id IN ('A')" in sql(stmt)


def test_the_expander_widens_each_grant_to_what_it_reaches(session: Session) -> None:
    stmt = restrict(select(Citizen), officer((READ, "A")), READ, session=session, expand=children)
    assert "IN ('A', 'A-child')" in sql(stmt)


def test_no_grant_means_no_rows_not_every_row(session: Session) -> None:
    stmt = restrict(select(Citizen), officer(("other:perm", "A")), READ, session=session, expand=children)
    assert "WHERE false" in sql(stmt) or "WHERE 0 = 1" in sql(stmt)


def test_a_query_without_an_entity_names_its_model(session: Session) -> None:
    count = select(func.count()).select_from(Citizen)
    assert "managing_agency_id IN ('A')" in sql(restrict(count, officer((READ, "A")), READ, session=session,
                                                         model=Citizen))


def test_a_model_without_a_scope_column_is_refused() -> None:
    class Unscoped:
        id = "x"

    with pytest.raises(TypeError, match="__scope__"):
        restrict_to(select(Citizen), Scope(frozenset({"A"})), Unscoped)


def test_scope_semantics(session: Session) -> None:
    everywhere, nowhere, one = Scope(None), Scope(frozenset()), Scope(frozenset({"A"}))
    assert everywhere.everywhere and everywhere.allows("Z") and everywhere.allows(None)
    assert not nowhere.allows("A") and not nowhere.allows_any(["A", None])
    assert one.allows("A") and not one.allows("B") and not one.allows(None) and one.allows_any([None, "A"])
    assert scope_of(session, officer((READ, "A")), READ, children) == Scope(frozenset({"A", "A-child"}))
    assert scope_of(session, officer((READ, GLOBAL), (READ, "A")), READ, children) == Scope(None)
