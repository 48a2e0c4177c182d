"""Text + geo (`places(near, text)`): the text matches nearest first, either ranked directly
(text first) or found in growing circles around the point (space first, `search._nearest`).

Both give the same answer: (exact distance, id) order, the radius, every filter and check.
What they cost differs. The circles pass over every place that does not match before a page is
full, about `limit / s` places for a text that a fraction `s` of the places match; ranking the
matches reads all `s * N` of them. Text first is the cheaper one while
`matches ** 2 <= TEXT_FIRST_FACTOR * limit * places`: for a page of 21 that is up to ~1,300
matches among 10k places, ~4,100 among 100k, ~13,000 among 1M.

The estimate of the matches costs no round of its own: on SQLite the FTS5 index counts them
(capped) inside the statement that ranks them; on PostgreSQL the column statistics of the
tsvector (`pg_stats`, what the planner uses) give each term's frequency, read once per process
and every few minutes after.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence

from sqlalchemy import (
    Float,
    Integer,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.db import execute_read
from backend.places.models import Place
from backend.places.store import (
    MAX_EARTH_DISTANCE_M,
    PREFILTER_FACTOR,
    Candidate,
    DistanceKey,
    PlaceFilters,
    SpatialStore,
    SqliteNearest,
    SqliteStatements,
    ranked_by_distance,
    rtree_box_ids,
)
from backend.places.text import TextQuery
from geodata.geodesic import bbox_around

# Text first while matches² <= factor × page × places (module docstring). Tests set it to 0
# (always space first) or to a huge value (always text first).
TEXT_FIRST_FACTOR = 8.0
# SQLite counts at most this many matches: the count stays a fraction of a millisecond to a
# few milliseconds, and a text this common is never ranked text first at any scale we serve.
SQLITE_COUNT_CAP = 50_000
# How long a process trusts the tsvector statistics it read (they change after ANALYZE).
PG_STATS_SECONDS = 300.0

RowCheck = Callable[[list[Candidate]], list[bool]]
SpaceFirst = Callable[[DistanceKey | None, int], list[Candidate]]
# search._filtered: `limit` candidates of a fetch that pass every check, in its order.
Filtered = Callable[[SpaceFirst, DistanceKey | None, int, Sequence[RowCheck]], list[Candidate]]


def text_first_wins(matches: float, limit: int, places: float) -> bool:
    return matches * matches <= TEXT_FIRST_FACTOR * limit * max(places, 1.0)


class TextNearest:
    """One request's text + geo search; `fetch(after, n)` is a PlaceQuery's fetch: the next
    `n` candidates after `after` that pass every filter and check (`filtered` applies the
    checks to the ranked matches; the circles apply them themselves). The strategy is chosen on
    the first fetch and kept for the request's later fetches (the same order either way)."""

    def __init__(self, session: Session, center: tuple[float, float], radius_m: float | None,
                 filters: PlaceFilters, query: TextQuery, checks: Sequence[RowCheck],
                 space_first: SpaceFirst, filtered: Filtered) -> None:
        self._session = session
        self._center = center
        self._radius = radius_m
        self._filters = filters
        self._query = query
        self._checks = checks
        self._space_first = space_first
        self._filtered = filtered
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        # None: not decided yet; False: space first; a Ranked: the text matches, ranked.
        self._ranked: Ranked | bool | None = None
        self.strategy: str | None = None  # "text" | "space", for tests and profiles

    def fetch(self, after: DistanceKey | None, limit: int) -> list[Candidate]:
        if self._ranked is None:
            self._ranked = self._decide(limit)
            self.strategy = "space" if self._ranked is False else "text"
        if self._ranked is False:
            return self._space_first(after, limit)
        return self._filtered(self._ranked.after, after, limit, self._checks)

    def _decide(self, limit: int) -> Ranked | bool:
        if self._sqlite:
            return _sqlite_ranked(self._session, self._center, self._radius, self._filters,
                                  self._query, limit)
        estimate = _pg_estimate(self._session, self._query)
        if estimate is None or not text_first_wins(estimate[0], limit, estimate[1]):
            return False
        return _pg_ranked(self._session, self._center, self._radius, self._filters)


def _distance_key(candidate: Candidate) -> DistanceKey:
    return candidate[0], candidate[1]


class Ranked:
    """The matches in (distance, id) order: `after(key, n)`, the next n after a key."""

    def __init__(self, after: Callable[[DistanceKey | None, int], list[Candidate]]) -> None:
        self.after = after


# -- SQLite: the FTS5 count and the matches in one statement ---------------------------------

def _sqlite_statement(filters: PlaceFilters, box_parts: int):
    """A head row (NULL, NULL, NULL, matches, text first?) and, when text first wins, every
    match that passes the filters (id, lat, lon) inside the radius's box (if any)."""
    matches = (sql_text("SELECT rowid AS id FROM place_fts WHERE place_fts MATCH :text_query"
                        " LIMIT :count_cap")
               .columns(id=Integer).cte("matches").prefix_with("MATERIALIZED"))
    total = select(func.count()).select_from(matches).scalar_subquery()
    places = select(func.max(Place.id)).scalar_subquery()
    wins = and_(total < bindparam("count_cap", type_=Integer),
                total * total <= bindparam("factor", type_=Float) * places)
    head = select(null(), null(), null(), total, wins)
    conditions = filters.without_text().conditions()
    if box_parts:
        def side(name: str, i: int):
            return bindparam(f"{name}{i}", type_=Float)

        conditions.append(or_(*(
            and_(Place.lat.between(side("s", i), side("n", i)),
                 Place.lon.between(side("w", i), side("e", i)))
            for i in range(box_parts))))
    rows = select(Place.id, Place.lat, Place.lon, null(), literal(True)).where(
        Place.id.in_(select(matches.c.id)), wins, *conditions)
    return union_all(head, rows)


def _sqlite_ranked(session: Session, center: tuple[float, float], radius_m: float | None,
                   filters: PlaceFilters, query: TextQuery, limit: int) -> Ranked | bool:
    lat, lon = center
    params: dict = {"text_query": query.fts5(), "count_cap": SQLITE_COUNT_CAP,
                    "factor": TEXT_FIRST_FACTOR * limit}
    parts = bbox_around(lat, lon, radius_m).parts() if radius_m is not None else []
    for i, part in enumerate(parts):
        params.update({f"n{i}": part.north, f"s{i}": part.south,
                       f"e{i}": part.east, f"w{i}": part.west})
    rows = session.connection().execute(_sqlite_statement(filters, len(parts)), params).all()
    head = next(row for row in rows if row[0] is None)
    if not head[4]:
        return False
    found = ranked_by_distance(
        lat, lon, [row[:3] for row in rows if row[0] is not None],
        radius_m if radius_m is not None else MAX_EARTH_DISTANCE_M)

    def after(key: DistanceKey | None, n: int) -> list[Candidate]:
        # The first position strictly after (distance, id) in the sorted matches.
        start = 0 if key is None else bisect_right(found, key, key=_distance_key)
        return found[start:start + n]

    return Ranked(after)


# -- SQLite, space first: the circles over both indexes ---------------------------------------

class SqliteTextStatements(SqliteStatements):
    """SqliteStatements for a text: a circle's candidates are the ids both in the R*Tree box
    and among the FTS5 matches (INTERSECT, inside the indexes), so only places that match are
    read from the table; with the text as a filter of its own, every place in the box was read
    first (10-50x slower per circle at 100k for a text 2 % of places match)."""

    def __init__(self, filters: PlaceFilters, query: TextQuery) -> None:
        super().__init__(filters.without_text())
        self._match = query.fts5()

    def _in_box(self, parts: int) -> ColumnElement[bool]:
        ids, parameters = rtree_box_ids(parts)
        return sql_text(
            f"place.id IN ({ids}"
            " INTERSECT SELECT rowid FROM place_fts WHERE place_fts MATCH :text_query)"
        ).bindparams(*parameters, bindparam("text_query", self._match))


class SqliteTextStore:
    """The SQLite store of a text + geo search's circles (`search._nearest`)."""

    name = "sqlite"

    def __init__(self, query: TextQuery) -> None:
        self._query = query

    def nearest_search(self, session: Session, lat: float, lon: float,
                       filters: PlaceFilters, rows: dict | None = None) -> SqliteNearest:
        # As SqliteStore: the page's rows are read by id after ranking (`rows` stays empty).
        return SqliteNearest(session.connection(), lat, lon,
                             SqliteTextStatements(filters, self._query))


def space_first_store(store: SpatialStore, query: TextQuery) -> SpatialStore:
    """The store whose circles a text + geo search widens (its own on SQLite)."""
    return SqliteTextStore(query) if store.name == "sqlite" else store


# -- PostgreSQL: the matches ranked by the store's exact distance ---------------------------

def _pg_statement(filters: PlaceFilters, radius: bool, after: bool):
    """Every match that passes the filters (the GIN index picks them), its exact spheroid
    distance as PostgisNearest computes it, (distance, id) order, strictly after a key."""
    geog = literal_column("place.geog")
    point = func.geography(func.ST_SetSRID(func.ST_MakePoint(
        bindparam("lon", type_=Float), bindparam("lat", type_=Float)), 4326))
    matches = select(Place.id, Place.lat, Place.lon, geog.label("geog")).where(
        *filters.conditions())
    if radius:
        matches = matches.where(func.ST_DWithin(
            geog, point, bindparam("radius", type_=Float) * PREFILTER_FACTOR + 1.0, False))
    # Each OFFSET 0 keeps its subquery apart. The matches': the planner would charge the
    # distance (declared costly) to every row a scan reads and prefer a parallel sequential
    # scan to the GIN index; the distances': computed once per match, not once per use (the
    # radius, the cursor, the sort).
    matches = matches.offset(0).subquery("matches")
    candidates = select(
        matches.c.id, matches.c.lat, matches.c.lon,
        func.ST_Distance(matches.c.geog, point).label("distance_m"),
    ).offset(0).subquery("candidates")
    outer = select(candidates.c.distance_m, candidates.c.id, candidates.c.lat, candidates.c.lon)
    if radius:
        outer = outer.where(candidates.c.distance_m <= bindparam("radius", type_=Float))
    if after:
        outer = outer.where(tuple_(candidates.c.distance_m, candidates.c.id) > tuple_(
            bindparam("after_d", type_=Float), bindparam("after_id", type_=Integer)))
    return (outer.order_by(candidates.c.distance_m, candidates.c.id)
            .limit(bindparam("limit", type_=Integer)))


def _pg_ranked(session: Session, center: tuple[float, float], radius_m: float | None,
               filters: PlaceFilters) -> Ranked:
    lat, lon = center
    statements: dict[bool, object] = {}

    def after(key: DistanceKey | None, n: int) -> list[Candidate]:
        has_after = key is not None
        if has_after not in statements:
            statements[has_after] = _pg_statement(filters, radius_m is not None, has_after)
        params: dict = {"lat": lat, "lon": lon, "limit": n}
        if radius_m is not None:
            params["radius"] = radius_m
        if key is not None:
            params.update(after_d=key[0], after_id=key[1])
        rows = execute_read(session, statements[has_after], params)
        return [(float(d), int(i), la, lo) for d, i, la, lo in rows]

    return Ranked(after)


# -- PostgreSQL: the estimate from the tsvector's statistics ---------------------------------

_PG_STATS = sql_text(
    "SELECT c.reltuples, CAST(CAST(s.most_common_elems AS text) AS text[]),"
    " s.most_common_elem_freqs"
    " FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema()"
    " AND s.tablename = 'place' AND s.attname = 'search_vector'"
    " WHERE c.oid = CAST('place' AS regclass)"
)


class TermStatistics:
    """Each frequent term's share of the places (ANALYZE's sample), and the share below
    which the rest lie."""

    def __init__(self, places: float, elements: Sequence[str] | None,
                 frequencies: Sequence[float] | None) -> None:
        self.places = places
        elements = list(elements or [])
        frequencies = list(frequencies or [])
        # The frequencies list ends with the minimum, the maximum and the null share.
        self.floor = frequencies[len(elements)] if len(frequencies) > len(elements) else 0.0
        self.known = bool(elements)
        self.share = dict(zip(elements, frequencies, strict=False))

    def matches(self, query: TextQuery) -> float | None:
        """The estimated number of places matching every term; None without statistics."""
        if not self.known or self.places <= 0:
            return None
        shares = []
        for token, prefix in query.terms:
            if prefix:
                share = sum(f for element, f in self.share.items() if element.startswith(token))
            else:
                share = self.share.get(token, 0.0)
            shares.append(min(1.0, share or self.floor))
        return min(shares) * self.places


_pg_cache: dict[str, tuple[float, TermStatistics]] = {}
_pg_lock = threading.Lock()


def _pg_estimate(session: Session, query: TextQuery) -> tuple[float, float] | None:
    """(estimated matches, places) from this process's copy of the statistics."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    cached = _pg_cache.get(key)
    if cached is None or cached[0] < now:
        row = session.execute(_PG_STATS).one()
        stats = TermStatistics(float(row[0]), row[1], row[2])
        with _pg_lock:
            _pg_cache[key] = (now + PG_STATS_SECONDS, stats)
    else:
        stats = cached[1]
    matches = stats.matches(query)
    return None if matches is None else (matches, stats.places)


def forget_statistics() -> None:
    """Read the statistics again at the next search (after ANALYZE, in tests)."""
    with _pg_lock:
        _pg_cache.clear()

