"""Name search over the citizens table: word-prefix match, accent-insensitive, planned for 1M+ rows.

The answer is "citizens whose name has, for every typed word, a word starting with it", in name
order, at most `limit`. Order plus LIMIT is what makes this hard: a common word ("nguyen" is about
38 % of the population) has hundreds of thousands of matches, and sorting them for 20 rows costs
far more than the 20 ms budget; the database's own planner misjudges ``LIKE '% x%'`` filters badly
enough to pick nested loops that run for seconds. So the plan is chosen here, from three shapes
whose cost is bounded by construction:

- **word**: scan one typed word's range in the citizen_name_words index, which also carries the
  whole name key, so the other typed words are checked inside the index (index-only) and the hits
  come out ready to sort; only the `limit` winners are fetched from citizens. Cost ∝ that word's
  number of citizens.
- **scope**: the caller's agencies' citizens (index on managing_agency_id, name_key), filtered.
  Cost ∝ the scope's size, paid in table rows.
- **walk**: citizens in name order on the (name_key, id) index, filtered, at most `window` rows.
  Cost ∝ 20 / selectivity; ideal when the typed words are common together ("nguyen", "nguyen van").

One round trip first counts each source with a bounded index-only scan (``LIMIT cap`` inside the
count). A source under `cap` drives the search. When all are common, the bounded walk runs; if it
finds fewer than asked, the search is driven by the *last* typed word (Vietnamese names are typed
surname, middle, given name, and the given name is by far the most selective; a common surname
like Nguyễn never drives) or by the scope, whichever a second bounded count finds smaller.

Keys hold only letters, digits and single spaces (names.name_key), so they go into LIKE patterns
and ranges unescaped. Prefix ranges (``key >= 'an' AND key < 'ao'``) are used on the indexed side:
with the "C" collation they use a plain btree on both databases, with no dialect branch. The word
plan's candidate set is a MATERIALIZED CTE (PostgreSQL 12+, SQLite 3.35+) when a scope filter must
see table rows, so no planner can turn it inside out.
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

CANDIDATE_CAP = 5_000
WALK_WINDOW = 2_000
SECOND_CAP = 50_000
MAX_LIMIT = 100
_PAGE = 500
_SCOPE = "\x00scope"
_SCOPE_WEIGHT = 3  # a scope candidate is a table row; a word candidate is an index entry


@dataclass(frozen=True)
class SearchPlan:
    """How a search ran, for tests and the benchmark (never shown to users)."""

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


class _Search:
    """One search: its terms, scope and the three plan shapes."""

    def __init__(self, session: Session, terms: list[str], scope: list[str] | None) -> None:
        self.session = session
        self.terms = terms
        self.scope = scope

    def counts(self, sources: Sequence[str], cap: int) -> dict[str, int]:
        """Bounded candidate counts for `sources`, in one round trip."""
        parts = []
        for source in sources:
            if source == _SCOPE:
                assert self.scope is not None
                stmt = select(literal(1)).where(Citizen.managing_agency_id.in_(self.scope))
            else:
                stmt = select(literal(1)).where(_word_range(CitizenNameWord.word_key, source))
            parts.append(_bounded_count(stmt, cap))
        row = self.session.execute(select(*parts)).one()
        return dict(zip(sources, (int(v) for v in row), strict=True))

    def run(self, source: str, size: int, after: Citizen | None = None) -> list[Citizen]:
        stmt = self._from_scope(after) if source == _SCOPE else self._from_word(source, after)
        return list(self.session.scalars(stmt.limit(size)))

    def walk(self, window: int, size: int) -> list[Citizen]:
        return list(self.session.scalars(self.walk_statement(window).limit(size)))

    def walk_statement(self, window: int) -> Select[Citizen]:
        """The first `window` citizens in name order (an index walk), filtered; ORDER BY+LIMIT forces the walk."""
        first = select(Citizen).order_by(Citizen.name_key, Citizen.id).limit(window).subquery()
        c = aliased(Citizen, first)
        where = [_has_word(c.name_key, t) for t in self.terms]
        if self.scope is not None:
            where.append(c.managing_agency_id.in_(self.scope))
        return select(c).where(*where).order_by(c.name_key, c.id)

    def word_statement(self, term: str) -> Select[Citizen]:
        return self._from_word(term, None)

    def _from_word(self, term: str, after: Citizen | None) -> Select[Citizen]:
        w = CitizenNameWord
        hits = (
            select(w.citizen_id, w.name_key)
            .where(_word_range(w.word_key, term), *[_has_word(w.name_key, t) for t in self.terms if t != term])
            .distinct()  # "an" matches both "An" and "Anh" in "Lê An Anh"
        )
        if after is not None:
            hits = hits.where(_after(w.name_key, w.citizen_id, after))
        if self.scope is None:
            # Sort and cut inside the index; only the winners are fetched from the table.
            top = hits.order_by(w.name_key, w.citizen_id).limit(MAX_LIMIT * 5).subquery()
            return (
                select(Citizen)
                .join(top, Citizen.id == top.c.citizen_id)
                .order_by(top.c.name_key, top.c.citizen_id)
            )
        candidates = hits.cte("name_hits").prefix_with("MATERIALIZED")
        return (
            select(Citizen)
            .join(candidates, Citizen.id == candidates.c.citizen_id)
            .where(Citizen.managing_agency_id.in_(self.scope))
            .order_by(candidates.c.name_key, candidates.c.citizen_id)
        )

    def _from_scope(self, after: Citizen | None) -> Select[Citizen]:
        assert self.scope is not None
        stmt = select(Citizen).where(
            Citizen.managing_agency_id.in_(self.scope), *[_has_word(Citizen.name_key, t) for t in self.terms]
        )
        if after is not None:
            stmt = stmt.where(_after(Citizen.name_key, Citizen.id, after))
        return stmt.order_by(Citizen.name_key, Citizen.id)


def _after(key_column: Any, id_column: Any, after: Citizen) -> ColumnElement[bool]:
    """Keyset condition: strictly after `after` in (name_key, id) order."""
    return or_(key_column > after.name_key, and_(key_column == after.name_key, id_column > after.id))


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
    search = _Search(session, distinct_terms, sorted(allowed) if allowed is not None else None)

    sources = [*distinct_terms, *([_SCOPE] if allowed is not None else [])]
    estimates = search.counts(sources, cap)
    shown = tuple(("scope" if k == _SCOPE else k, v) for k, v in estimates.items())
    if min(estimates.values()) == 0:
        return [], SearchPlan("none", estimates=shown)
    order = {t: i for i, t in enumerate(distinct_terms)}

    def cost(source: str) -> tuple[int, int]:
        weight = _SCOPE_WEIGHT if source == _SCOPE else 1
        return estimates[source] * weight, -order.get(source, -1)  # ties: the later typed word

    driver = min(sources, key=cost)
    if estimates[driver] < cap:
        rows = search.run(driver, fetch)
        plan = SearchPlan("scope" if driver == _SCOPE else "word", None if driver == _SCOPE else driver, shown)
    else:
        rows = search.walk(window, fetch)
        plan = SearchPlan("walk", None, shown)
        if len(rows) < fetch:
            # The typed words are each common but rare together (a full name, usually): the walk
            # cannot tell whether more lie beyond its window. Drive from the given name or the scope.
            driver = distinct_terms[-1]
            if allowed is not None:
                second = search.counts([driver, _SCOPE], SECOND_CAP)
                driver = min([driver, _SCOPE], key=lambda s: second[s] * (_SCOPE_WEIGHT if s == _SCOPE else 1))
            rows = search.run(driver, fetch)
            plan = SearchPlan("walk+scope" if driver == _SCOPE else "walk+word", driver, shown)
    if not exact:
        return rows[:limit], plan
    # Typed words sharing a prefix ("an an", "nguyen ng") need distinct name words, which SQL does
    # not check: filter here, and page on (in name order) while the filter leaves too few.
    kept = [c for c in rows if matches(query, c.full_name)]
    more = len(rows) == fetch  # a full page: there may be more after its last row
    while len(kept) < limit and more:
        rows = search.run(driver, _PAGE, after=rows[-1])
        kept.extend(c for c in rows if matches(query, c.full_name))
        more = len(rows) == _PAGE
    return kept[:limit], plan
