"""Name search over the citizens table: word-prefix match, accent-insensitive, planned for 1M+ rows.

The answer is "citizens whose name has, for every typed word, a word starting with it", at most
`limit`, ranked in two tiers, each in name order: first the names that *begin* with the query as typed
("nguyen van a" → Nguyễn Văn An, Nguyễn Văn Anh…), then every other match (Lê Văn Nguyên Anh). An
officer at a one-stop desk types a name from its start; putting those names first is what they expect,
and it is also the cheap tier: one range of the name-key index, read in order, stops after `limit`
rows (it fills the page for most queries). Only when it does not does the general search run.

Order plus LIMIT is what makes the general search hard: a common word ("nguyen" is about
38 % of the population) has hundreds of thousands of matches, and sorting them for 20 rows costs far
more than the 20 ms budget; the database's own planner misjudges ``LIKE '% x%'`` filters badly
enough to pick nested loops or hash joins that run for seconds. So the plan is chosen here, from
three shapes whose cost is bounded by construction:

- **word**: one typed word's range in the citizen_name_words index, which also carries the name
  key and the managing agency, so the other typed words and the caller's agency scope are checked
  inside the index (index-only); only the `limit` winners are fetched from the table. Cost ∝ the
  word's frequency, in index entries.
- **scope**: the caller's agencies' citizens (index on managing_agency_id, name_key, id), filtered.
  Cost ∝ the scope's size, in table rows.
- **walk**: citizens in name order, filtered, at most `window` rows (per agency when the scope is a
  few agencies). Cost ∝ 20 / selectivity; ideal when the typed words are common together
  ("nguyen", "nguyen van").

One round trip first counts each source with a bounded index-only scan (``LIMIT cap`` inside the
count). A source under `cap` drives the search. When all are common, the bounded walk runs; if it
finds fewer than asked, the search is driven by the *last* typed word (Vietnamese names are typed
surname, middle, given name, and the given name is by far the most selective; a common surname
like Nguyễn never drives) or by the scope, whichever a second bounded count finds smaller.

Keys hold only letters, digits and single spaces (names.name_key), so they go into LIKE patterns
and ranges unescaped. Prefix ranges (``key >= 'an' AND key < 'ao'``) are used on the indexed side:
with the "C" collation they use a plain btree on both databases, with no dialect branch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from egov.registry.models import Citizen, CitizenNameWord
from egov.registry.names import matches, search_terms

CANDIDATE_CAP = 2_000
WALK_WINDOW = 10_000
SECOND_CAP = 25_000  # ranks drivers: a given name is under it, a common surname over it
THIRD_CAP = 100_000  # only when every source is over the second cap (a rare query of common words)
COMMON_TTL_SECONDS = 600.0
MAX_LIMIT = 100
_PAGE = 500
_DUPLICATE_ALLOWANCE = 3  # hits fetched per wanted citizen from a word source (one name, several matching words)
SCOPED_WALK_AGENCIES = 20
_SCOPE = "\x00scope"
_COMMON: dict[tuple[str, str, int], tuple[int, float]] = {}  # (database, source, cap) -> (count, expires)
_COMMON_MAX = 10_000
REMEMBER_FROM = CANDIDATE_CAP  # counts at least this large are remembered


@dataclass(frozen=True)
class SearchPlan:
    """How a search ran, for tests and the benchmark (never shown to users)."""

    kind: str  # "id" | "prefix" | "word" | "scope" | "walk" | "walk+word" | "walk+scope" | "known+word" |
    # "known+scope" (the walk skipped: a word known rare) | "none", "prefix+…"
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
        """Bounded candidate counts for `sources`, in one round trip (none when all are remembered).

        Counts of common sources are remembered per process for a few minutes (`_COMMON`): the same
        surnames, middle names and initials recur in most queries, a common word stays common, and
        the count is only a planning estimate. A remembered count is never zero, so a stale one can
        cost time but never hide a result.
        """
        known = self.remembered(sources, cap)
        missing = [source for source in sources if source not in known]
        if missing:
            fresh = self._count(missing, cap)
            expires = time.monotonic() + COMMON_TTL_SECONDS
            for source, n in fresh.items():
                if n >= REMEMBER_FROM:
                    if len(_COMMON) >= _COMMON_MAX:
                        _COMMON.clear()
                    _COMMON[self._cache_key(source, cap)] = (n, expires)
            known.update(fresh)
        return {source: known[source] for source in sources}

    def remembered(self, sources: Sequence[str], cap: int) -> dict[str, int]:
        """The counts of `sources` remembered from earlier searches (no query; unknown ones left out)."""
        now = time.monotonic()
        found = ((source, _COMMON.get(self._cache_key(source, cap))) for source in sources)
        return {source: hit[0] for source, hit in found if hit is not None and hit[1] > now}

    def _cache_key(self, source: str, cap: int) -> tuple[str, str, int]:
        db = self.session.get_bind().engine.url.render_as_string()  # password hidden: only a cache key
        return db, self._source_key(source), cap

    def _source_key(self, source: str) -> str:
        return source if source != _SCOPE else _SCOPE + ",".join(self.scope or ())

    def _count(self, sources: Sequence[str], cap: int) -> dict[str, int]:
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
        """Up to `size` distinct citizens from `source`, in name order, after `after` if given.

        A word source may yield one citizen twice ("an" matches "An" and "Anh" in "Lê An Anh"). Rather
        than DISTINCT, which makes the database sort every hit, the hits are cut with a top-N sort
        and de-duplicated here; the rare page eaten by duplicates is followed by the next one.
        """
        batch = size * _DUPLICATE_ALLOWANCE if source != _SCOPE else size
        found: list[Citizen] = []
        seen: set[str] = set()
        while True:
            stmt = self._from_scope(after, batch) if source == _SCOPE else self._from_word(source, after, batch)
            rows = list(self.session.scalars(stmt))
            for citizen in rows:
                if citizen.id not in seen:
                    seen.add(citizen.id)
                    found.append(citizen)
            if len(found) >= size or len(rows) < batch:
                return found[:size]
            after = rows[-1]

    def name_prefix(self, key: str, size: int) -> list[Citizen]:
        return list(self.session.scalars(self.name_prefix_statement(key, size)))

    def name_prefix_statement(self, key: str, size: int) -> Select[Citizen]:
        """Citizens whose name key starts with `key`, in name order: a range of the name index read in
        order (per agency on (managing_agency_id, name_key, id) for a scope of a few agencies)."""
        c = Citizen
        if self.scope is not None and len(self.scope) <= SCOPED_WALK_AGENCIES:
            parts = [  # each part wrapped in a SELECT: SQLite refuses ORDER BY/LIMIT inside UNION ALL
                select(
                    select(c.id.label("citizen_id"), c.name_key)
                    .where(c.managing_agency_id == agency_id, _word_range(c.name_key, key))
                    .order_by(c.name_key, c.id)
                    .limit(size)
                    .subquery()
                )
                for agency_id in self.scope
            ]
            hits: Any = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
            return _winners(select(hits.c.citizen_id, hits.c.name_key), hits.c.name_key, hits.c.citizen_id, size)
        stmt = select(c.id.label("citizen_id"), c.name_key).where(_word_range(c.name_key, key))
        if self.scope is not None:
            stmt = stmt.where(c.managing_agency_id.in_(self.scope))
        return _winners(stmt, c.name_key, c.id, size)

    def walk(self, window: int, size: int) -> list[Citizen]:
        return list(self.session.scalars(self.walk_statement(window, size)))

    def walk_statement(self, window: int, size: int = MAX_LIMIT * 5) -> Select[Citizen]:
        """The first `window` citizens in name order, filtered: an index-only walk, ORDER BY+LIMIT forcing it.

        With a scope of a few agencies the walk runs per agency on (managing_agency_id, name_key, id),
        so a ward officer's walk is not spent on other wards' citizens.
        """
        c = Citizen
        columns = (c.id.label("citizen_id"), c.name_key, c.managing_agency_id)
        if self.scope is not None and len(self.scope) <= SCOPED_WALK_AGENCIES:
            per_agency = max(window // len(self.scope), 200)
            parts = [
                select(
                    select(*columns)
                    .where(c.managing_agency_id == agency_id)
                    .order_by(c.name_key, c.id)
                    .limit(per_agency)
                    .subquery()
                )
                for agency_id in self.scope
            ]
            first = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        else:
            first = select(*columns).order_by(c.name_key, c.id).limit(window).subquery()
        hits = select(first.c.citizen_id, first.c.name_key).where(*[_has_word(first.c.name_key, t) for t in self.terms])
        if self.scope is not None:
            hits = hits.where(first.c.managing_agency_id.in_(self.scope))
        return _winners(hits, first.c.name_key, first.c.citizen_id, size)

    def word_statement(self, term: str, size: int = 20) -> Select[Citizen]:
        return self._from_word(term, None, size)

    def _from_word(self, term: str, after: Citizen | None, size: int) -> Select[Citizen]:
        """One word's range in the name-word index, every other test inside the index too."""
        w = CitizenNameWord
        hits = select(w.citizen_id, w.name_key).where(
            _word_range(w.word_key, term), *[_has_word(w.name_key, t) for t in self.terms if t != term]
        )
        if self.scope is not None:
            hits = hits.where(w.managing_agency_id.in_(self.scope))
        if after is not None:
            hits = hits.where(_after(w.name_key, w.citizen_id, after))
        return _winners(hits, w.name_key, w.citizen_id, size)

    def _from_scope(self, after: Citizen | None, size: int) -> Select[Citizen]:
        """The scope's citizens on (managing_agency_id, name_key, id), every test inside that index."""
        assert self.scope is not None
        c = Citizen
        hits = select(c.id.label("citizen_id"), c.name_key).where(
            c.managing_agency_id.in_(self.scope), *[_has_word(c.name_key, t) for t in self.terms]
        )
        if after is not None:
            hits = hits.where(_after(c.name_key, c.id, after))
        return _winners(hits, c.name_key, c.id, size)


def _winners(hits: Any, key_column: Any, id_column: Any, size: int) -> Select[Citizen]:
    """Sort and cut the hits (index tuples) first, then fetch only the winners' rows from the table."""
    top = hits.order_by(key_column, id_column).limit(size).subquery()
    return select(Citizen).join(top, Citizen.id == top.c.citizen_id).order_by(top.c.name_key, top.c.citizen_id)


def _after(key_column: Any, id_column: Any, after: Citizen) -> ColumnElement[bool]:
    """Keyset condition: strictly after `after` in (name_key, id) order."""
    return or_(key_column > after.name_key, and_(key_column == after.name_key, id_column > after.id))


def search_by_name(
    session: Session,
    query: str,
    *,
    allowed: AbstractSet[str] | None,
    limit: int = 20,
    cap: int = CANDIDATE_CAP,
    window: int = WALK_WINDOW,
) -> tuple[list[Citizen], SearchPlan]:
    """Citizens matching `query` word by word within `allowed` agencies (None = all): first those whose
    name begins with the query as typed, then the others, each tier in name order."""
    terms = search_terms(query)
    if not terms or (allowed is not None and not allowed):
        return [], SearchPlan("none")
    limit = max(1, min(limit, MAX_LIMIT))
    scope = sorted(allowed) if allowed is not None else None
    # Tier 1: the name begins with the typed words, in order. Each typed word then lies at the start
    # of its own word of the name (they are separated by spaces in the key), so no further check.
    first = _Search(session, terms, scope).name_prefix(" ".join(terms), limit)
    if len(first) == limit:
        return first, SearchPlan("prefix")
    rest, plan = _search_anywhere(session, query, terms, scope, limit + len(first), cap, window)
    if not first:
        return rest, plan
    taken = {c.id for c in first}
    tail = [c for c in rest if c.id not in taken][: limit - len(first)]
    return first + tail, SearchPlan(f"prefix+{plan.kind}", plan.driver, plan.estimates)


def _search_anywhere(
    session: Session,
    query: str,
    terms: list[str],
    scope: list[str] | None,
    limit: int,
    cap: int,
    window: int,
) -> tuple[list[Citizen], SearchPlan]:
    """Every match, in name order (the general search; see the module docstring for its plans)."""
    distinct_terms = list(dict.fromkeys(terms))
    exact = _needs_distinct_check(terms)
    fetch = min(limit * 5, MAX_LIMIT * 5) if exact else limit
    search = _Search(session, distinct_terms, scope)

    sources = [*distinct_terms, *([_SCOPE] if scope is not None else [])]
    estimates = search.counts(sources, cap)
    shown = tuple(("scope" if k == _SCOPE else k, v) for k, v in estimates.items())
    if min(estimates.values()) == 0:
        return [], SearchPlan("none", estimates=shown)
    order = {t: i for i, t in enumerate(distinct_terms)}

    def cost(source: str) -> tuple[int, int]:
        # Ties: the scope, then the later typed word (usually the given name, the most selective).
        return estimates[source], -order.get(source, len(order))

    driver = min(sources, key=cost)
    if estimates[driver] < cap:
        rows = search.run(driver, fetch)
        plan = SearchPlan("scope" if driver == _SCOPE else "word", None if driver == _SCOPE else driver, shown)
    else:
        # One common word: the walk always suffices (a word with `cap` citizens fills `limit` within
        # `window` rows once the table is large). Several: a walk pays off only for combinations
        # common together ("nguyen van"); a full name goes to the fallback, so keep its walk short.
        # A walk is wasted on words known (from an earlier search's second count) to be rare together:
        # one of them under the second cap has too few matches to fill a page within the window.
        rare = len(distinct_terms) > 1 and any(n < SECOND_CAP for n in search.remembered(sources, SECOND_CAP).values())
        rows = [] if rare else search.walk(window if len(distinct_terms) == 1 else max(window // 3, fetch), fetch)
        plan = SearchPlan("walk", None, shown)
        if len(rows) < fetch:
            # The typed words are each common but rare together (a full name, usually): the walk
            # cannot tell whether more lie beyond its window. Drive from the rarest source, counted
            # again with a much higher cap (remembered: these are the common words). Ties go to the
            # later word (the given name; a short prefix like "n" also covers Nguyễn, so it must not
            # win blind), then to a word over the scope (a large scope's scan grows with the scope).
            second = search.counts(sources, SECOND_CAP)
            if min(second.values()) >= SECOND_CAP:  # every one past the cap: rank them with a higher one
                second = search.counts(sources, THIRD_CAP)

            def second_cost(source: str) -> tuple[int, int]:
                return second[source], -order.get(source, -1)

            driver = min(sources, key=second_cost)
            rows = search.run(driver, fetch)
            kind = ("walk+" if not rare else "known+") + ("scope" if driver == _SCOPE else "word")
            plan = SearchPlan(kind, driver, shown)
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
