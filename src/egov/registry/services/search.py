"""Name search over the citizens table: word-prefix match, accent-insensitive, planned for 1M+ rows.

The result is "citizens whose name has, for every typed word, a word starting with it", in name
order, at most `limit`. Ordering plus LIMIT is what makes this hard: a common word ("nguyen" is
38 % of the population) has hundreds of thousands of matches, and sorting them all for 20 rows
costs far more than the 20 ms budget. So the query is planned here, not left to the database:

1. For each typed word, and for the caller's agency scope, count candidates with a bounded
   index-only scan (``LIMIT cap`` inside the count, so a common word costs ``cap`` index entries,
   not its full count). All counts come back in one round trip.
2. If some source has fewer than ``cap`` candidates, drive from it: fetch those citizens, filter by
   the other words, sort the few survivors (plan "word" or "scope").
3. Otherwise every word is common: walk the citizens in name order on the (name_key, id) index and
   filter, which finds 20 matches after about 20 / selectivity rows. The walk is bounded to
   ``window`` rows, so a combination of common words that is jointly rare (e.g. "thi van") cannot
   scan the whole table; if the window yields fewer than `limit` rows the search falls back to
   driving from the rarest source, which is complete (and is the one slow case left).

Each word test on a fetched row is ``' ' || name_key LIKE '% word%'`` on the row itself, which
needs no probe into another index. Keys hold only letters, digits and single spaces (names.name_key),
so they go into LIKE patterns and ranges unescaped. Prefix ranges are used instead of ``LIKE 'x%'``
on the indexed side because they use a plain btree on both databases (the key columns are
"C"-collated on PostgreSQL), with no dialect branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from egov.registry.models import Citizen, CitizenNameWord
from egov.registry.names import matches, search_terms

CANDIDATE_CAP = 2000
WALK_WINDOW = 20_000
MAX_LIMIT = 100
_PAGE = 500
_SCOPE = "\x00scope"


@dataclass(frozen=True)
class SearchPlan:
    """How a search ran, for EXPLAIN-style tests and the benchmark (never shown to users)."""

    kind: str  # "id" | "word" | "scope" | "walk" | "walk+word" | "walk+scope" | "none"
    driver: str | None = None
    estimates: tuple[tuple[str, int], ...] = ()


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix` (code-point order)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be encoded; skip to the next scalar value
        last = 0xE000
    if last > 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(last)


def _word_range(column: Any, term: str) -> ColumnElement[bool]:
    return and_(column >= term, column < prefix_end(term))


def _has_word(name_key: Any, term: str) -> ColumnElement[bool]:
    spaced = literal_column("' '", String) + name_key
    return spaced.like(f"% {term}%")


def _bounded_count(stmt: Select[Any], cap: int) -> Any:
    return select(func.count()).select_from(stmt.limit(cap).subquery()).scalar_subquery()


def _needs_distinct_check(terms: Sequence[str]) -> bool:
    """True when one typed word is a prefix of another (or repeated): SQL checks words independently."""
    return any(i != j and b.startswith(a) for i, a in enumerate(terms) for j, b in enumerate(terms))


def search_by_name(
    session: Session,
    query: str,
    *,
    allowed: set[str] | None,
    limit: int = 20,
    cap: int = CANDIDATE_CAP,
    window: int = WALK_WINDOW,
) -> tuple[list[Citizen], SearchPlan]:
    """Citizens matching `query` word by word, in name order, within `allowed` agencies (None = all)."""
    terms = search_terms(query)
    if not terms or (allowed is not None and not allowed):
        return [], SearchPlan("none")
    limit = max(1, min(limit, MAX_LIMIT))
    distinct_terms = list(dict.fromkeys(terms))
    exact = _needs_distinct_check(terms)
    fetch = min(limit * 5, MAX_LIMIT * 5) if exact else limit
    scope = sorted(allowed) if allowed is not None else None

    sources: dict[str, Any] = {
        term: _bounded_count(select(literal(1)).where(_word_range(CitizenNameWord.word_key, term)), cap)
        for term in distinct_terms
    }
    if scope is not None:
        sources[_SCOPE] = _bounded_count(select(literal(1)).where(Citizen.managing_agency_id.in_(scope)), cap)
    row = session.execute(select(*sources.values())).one()
    estimates = dict(zip(sources, (int(v) for v in row), strict=True))
    shown = tuple((k if k != _SCOPE else "scope", v) for k, v in estimates.items())
    if min(estimates.values()) == 0:
        return [], SearchPlan("none", estimates=shown)
    driver = min(estimates, key=lambda k: (estimates[k], -len(k)))

    def run(source: str, after: Citizen | None = None, size: int = fetch) -> list[Citizen]:
        stmt = _driven(source, distinct_terms, scope)
        if after is not None:
            stmt = stmt.where(
                or_(Citizen.name_key > after.name_key, and_(Citizen.name_key == after.name_key, Citizen.id > after.id))
            )
        return list(session.scalars(stmt.limit(size)))

    if estimates[driver] < cap:
        kind = "scope" if driver == _SCOPE else "word"
        rows = run(driver)
        plan = SearchPlan(kind, None if driver == _SCOPE else driver, shown)
    else:
        rows = list(session.scalars(_walk(distinct_terms, scope, window).limit(fetch)))
        plan = SearchPlan("walk", None, shown)
        if len(rows) < fetch:
            # Fewer than asked for within the window: maybe there are no more, maybe they lie
            # beyond it. Only a complete plan can tell.
            rows = run(driver)
            plan = SearchPlan("walk+scope" if driver == _SCOPE else "walk+word", driver, shown)
    if not exact:
        return rows[:limit], plan
    # Typed words sharing a prefix ("an an", "nguyen ng") need distinct name words, which SQL does
    # not check: filter here, and page on (in name order) while the filter leaves too few.
    kept = [c for c in rows if matches(query, c.full_name)]
    more = len(rows) == fetch  # a full page: there may be more after its last row
    while len(kept) < limit and more:
        rows = run(driver, after=rows[-1], size=_PAGE)
        kept.extend(c for c in rows if matches(query, c.full_name))
        more = len(rows) == _PAGE
    return kept[:limit], plan


def _filters(entity: Any, terms: Sequence[str], scope: list[str] | None, skip: str | None) -> list[Any]:
    conditions: list[Any] = [_has_word(entity.name_key, t) for t in terms if t != skip]
    if scope is not None and skip != _SCOPE:
        conditions.append(entity.managing_agency_id.in_(scope))
    return conditions


def _driven(source: str, terms: Sequence[str], scope: list[str] | None) -> Select[Citizen]:
    """Candidates from one source (a word's index range, or the scope), filtered and sorted."""
    if source == _SCOPE:
        assert scope is not None
        where = [Citizen.managing_agency_id.in_(scope), *_filters(Citizen, terms, scope, _SCOPE)]
    else:
        ids = select(CitizenNameWord.citizen_id).where(_word_range(CitizenNameWord.word_key, source))
        where = [Citizen.id.in_(ids), *_filters(Citizen, terms, scope, source)]
    return select(Citizen).where(*where).order_by(Citizen.name_key, Citizen.id)


def _walk(terms: Sequence[str], scope: list[str] | None, window: int) -> Select[Citizen]:
    """The first `window` citizens in name order (an index walk), filtered; ORDER BY+LIMIT forces the walk."""
    first = select(Citizen).order_by(Citizen.name_key, Citizen.id).limit(window).subquery()
    c = aliased(Citizen, first)
    return select(c).where(*_filters(c, terms, scope, None)).order_by(c.name_key, c.id)
