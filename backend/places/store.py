"""The spatial store: one interface, an SQLite (R*Tree) and a PostGIS implementation.

Both answer the same question the same way: the places within an exact geodesic radius
(WGS-84 spheroid), ordered by (distance, id), strictly after a (distance, id) key.
Everything else (filters, paging by id) is plain SQL shared by both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

from sqlalchemy import (
    CTE,
    Connection,
    Engine,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from backend.db import DriverSelect, detached_instance
from backend.places.models import Place
from backend.places.records import PlaceKind
from backend.places.text import TextQuery, ranked_matches
from geodata.geodesic import BBox, bbox_around, distances_m_list, wgs84_geod

# Half the equatorial circumference: no two points on Earth are farther apart than this.
MAX_EARTH_DISTANCE_M = 20_040_000.0


@dataclass(frozen=True)
class ClinicFilter:
    cross_province_settlement: bool | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        if self.cross_province_settlement is None:
            return []
        return [Place.cross_province_settlement.is_(self.cross_province_settlement)]


@dataclass(frozen=True)
class ElderlyCareFilter:
    accepts_non_local: bool | None = None
    min_available_beds: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = []
        if self.accepts_non_local is not None:
            conditions.append(Place.accepts_non_local.is_(self.accepts_non_local))
        if self.min_available_beds is not None:
            conditions.append(Place.available_beds >= self.min_available_beds)
        return conditions


@dataclass(frozen=True)
class PlaceFilters:
    """Filters every query applies before it cuts a page."""

    kinds: tuple[str, ...] | None = None
    region_column: str | None = None  # "county_code" | "city_code" | "province_code"
    region_code: str | None = None
    bbox: BBox | None = None  # WGS-84
    # A kind's filter narrows the places of that kind only, so clinics with cross-province
    # settlement and elderly-care homes with free beds can be asked for in one search.
    clinic: ClinicFilter | None = None
    elderly_care: ElderlyCareFilter | None = None
    # Store-specific (FTS5 / tsvector) and cross-domain conditions, built by the caller.
    text: ColumnElement[bool] | None = None
    extra: tuple[ColumnElement[bool], ...] = ()

    def without_text(self) -> PlaceFilters:
        return replace(self, text=None)

    def _kind_conditions(self) -> list[ColumnElement[bool]]:
        by_kind = {PlaceKind.CLINIC.value: self.clinic,
                   PlaceKind.ELDERLY_CARE.value: self.elderly_care}
        if self.kinds is not None:
            kinds = self.kinds
        elif self.clinic is not None or self.elderly_care is not None:
            kinds = tuple(kind for kind, kind_filter in by_kind.items() if kind_filter)
        else:
            return []
        plain = [kind for kind in kinds if by_kind.get(kind) is None]
        alternatives = [Place.kind.in_(plain)] if plain else []
        for kind in kinds:
            kind_filter = by_kind.get(kind)
            if kind_filter is not None:
                alternatives.append(and_(Place.kind == kind, *kind_filter.conditions()))
        return [or_(*alternatives) if alternatives else false()]

    def conditions(self) -> list[ColumnElement[bool]]:
        # Archived places leave every search and the map (they stay readable by id).
        conditions: list[ColumnElement[bool]] = [Place.archived.is_(False),
                                                 *self._kind_conditions()]
        conditions.extend(self.extra)
        if self.text is not None:
            conditions.append(self.text)
        if self.region_column is not None:
            conditions.append(getattr(Place, self.region_column) == self.region_code)
        if self.bbox is not None:
            conditions.append(Place.lat.between(self.bbox.south, self.bbox.north))
            conditions.append(Place.lon.between(self.bbox.west, self.bbox.east))
        return conditions


DistanceKey = tuple[float, int]
# (distance_m or None when not searching near a point, id, lat, lon)
Candidate = tuple[float | None, int, float, float]
# (relevance score, ascending = better; id)
ScoreKey = tuple[float, int]


class NearestSearch(Protocol):
    """One request's nearest-first search around one point with one set of filters: built
    once, asked for a first radius and then for the candidates within growing circles."""

    def first_radius(self, after: DistanceKey | None, limit: int, max_radius_m: float) -> float:
        """A first radius (at most max_radius_m) likely to hold the next `limit` places."""
        ...

    def within(self, radius_m: float, after: DistanceKey | None, limit: int) -> list[Candidate]:
        """The places within radius_m, ordered by (distance, id), strictly after `after`."""
        ...


class SpatialStore(Protocol):
    name: str

    def nearest_search(self, session: Session, lat: float, lon: float, filters: PlaceFilters,
                       rows: dict[int, Place] | None = None) -> NearestSearch:
        """`rows`, when given, receives the place rows the store read with its candidates
        (by id), so that a page of them needs no statement of its own."""
        ...


def by_relevance(
    session: Session,
    query: TextQuery,
    filters: PlaceFilters,
    after: ScoreKey | None,
    limit: int,
) -> list[Candidate]:
    """Matching places by (score, id), best first, strictly after `after`; the score takes
    the distance's place in the candidates."""
    matches = ranked_matches(session.get_bind().dialect.name, "place", query)
    ranked = (
        select(Place.id, Place.lat, Place.lon, matches.c.score)
        .join(matches, matches.c.id == Place.id)
        .where(*filters.without_text().conditions())
        .subquery("ranked")
    )
    statement = select(ranked.c.score, ranked.c.id, ranked.c.lat, ranked.c.lon)
    if after is not None:
        statement = statement.where(tuple_(ranked.c.score, ranked.c.id) > tuple_(*after))
    statement = statement.order_by(ranked.c.score, ranked.c.id).limit(limit)
    return [(float(s), int(i), lat, lon) for s, i, lat, lon in session.execute(statement)]


def ids_in_order(
    session: Session, filters: PlaceFilters, after_id: int | None, limit: int
) -> list[Candidate]:
    """Places by ascending id, after `after_id`: the order of a listing without `near`."""
    conditions = filters.conditions()
    if after_id is not None:
        conditions.append(Place.id > after_id)
    statement = (
        select(Place.id, Place.lat, Place.lon).where(*conditions).order_by(Place.id).limit(limit)
    )
    return [(None, place_id, lat, lon) for place_id, lat, lon in session.execute(statement)]


class SqliteStore:
    """R*Tree bounding-box prefilter, then exact geodesic refinement in Python (pyproj)."""

    name = "sqlite"

    def __init__(self) -> None:
        # The distances' library, loaded with the application (gunicorn's master, before the
        # fork: shared by the workers) rather than by each worker's first search; not loaded
        # at all by a PostGIS server, which measures in SQL.
        wgs84_geod()

    def nearest_search(self, session, lat, lon, filters, rows=None):
        # The R*Tree box holds more rows than the page: reading the page's rows by id after
        # the exact ranking is cheaper in the process than loading them all.
        return SqliteNearest(session.connection(), lat, lon, statements_for(SqliteStatements,
                                                                            filters))


def rtree_box_ids(parts: int) -> tuple[str, list[BindParameter]]:
    """The ids of the R*Tree entries that meet a box of `parts` parts (SQL), and its
    parameters: the bounds n0 s0 e0 w0, n1 …"""
    ranges = " OR ".join(
        f"(min_lat <= :n{i} AND max_lat >= :s{i} AND min_lon <= :e{i} AND max_lon >= :w{i})"
        for i in range(parts)
    )
    return (f"SELECT id FROM place_rtree WHERE {ranges}",
            [bindparam(f"{side}{i}", type_=Float) for i in range(parts) for side in "nsew"])


class SqliteStatements:
    """The candidate statement of one set of filters, by the number of parts of the box (a
    circle near the antimeridian gives two); the box's bounds are its parameters."""

    def __init__(self, filters: PlaceFilters) -> None:
        self._conditions = filters.conditions()
        self._by_parts: dict[int, Select] = {}

    def candidates(self, parts: int) -> Select:
        if parts not in self._by_parts:
            self._by_parts[parts] = select(Place.id, Place.lat, Place.lon).where(
                self._in_box(parts), *self._conditions
            )
        return self._by_parts[parts]

    def _in_box(self, parts: int) -> ColumnElement[bool]:
        ids, parameters = rtree_box_ids(parts)
        return text(f"place.id IN ({ids})").bindparams(*parameters)


class SqliteNearest:
    # Small: in a city centre a few hundred metres already hold a page; elsewhere the circle
    # grows ×4 per round, and an empty R*Tree box costs next to nothing.
    FIRST_SEARCH_RADIUS_M = 500.0

    def __init__(self, connection: Connection, lat: float, lon: float,
                 statements: SqliteStatements) -> None:
        self._connection, self._lat, self._lon = connection, lat, lon
        self._statements = statements

    def first_radius(self, after, limit, max_radius_m):
        return min(max(self.FIRST_SEARCH_RADIUS_M, 2.0 * after[0] if after else 0.0),
                   max_radius_m)

    def within(self, radius_m, after, limit):
        lat, lon = self._lat, self._lon
        parts = bbox_around(lat, lon, radius_m).parts()
        params = {}
        for i, part in enumerate(parts):
            params.update({f"n{i}": part.north, f"s{i}": part.south,
                           f"e{i}": part.east, f"w{i}": part.west})
        rows = self._connection.execute(self._statements.candidates(len(parts)), params).all()
        return ranked_by_distance(lat, lon, rows, radius_m, after)[:limit]


def ranked_by_distance(lat: float, lon: float, rows: Sequence[Sequence], radius_m: float,
                       after: DistanceKey | None = None) -> list[Candidate]:
    """The rows (id, lat, lon) within `radius_m` of the point, in (exact distance, id) order,
    strictly after `after`. Plain lists, not numpy: the circles hand on tens to hundreds of
    rows, where numpy's calls cost as much as they save, and a server that does not load numpy
    is ~25 MB smaller per process (bench/RESULTS.md, "Server memory")."""
    distances = distances_m_list(lat, lon, [row[1] for row in rows], [row[2] for row in rows])
    found = [(distance, place_id, place_lat, place_lon)
             for distance, (place_id, place_lat, place_lon) in zip(distances, rows, strict=True)
             if distance <= radius_m]
    if after is not None:
        found = [candidate for candidate in found if candidate[:2] > after]
    found.sort()
    return found


class PostgisStore:
    """ST_DWithin on the sphere as an index prefilter, exact ST_Distance on the spheroid."""

    name = "postgis"

    def nearest_search(self, session, lat, lon, filters, rows=None):
        return PostgisNearest(session, lat, lon, statements_for(PostgisStatements, filters),
                              rows)


# The sphere and the spheroid differ by < 0.6 %; the prefilter radius must cover both.
PREFILTER_FACTOR = 1.01


class PostgisStatements:
    """The nearest-first statements of one set of filters. Point, radii, cursor and limit are
    parameters: the same statement objects serve every search with these filters."""

    def __init__(self, filters: PlaceFilters) -> None:
        self._conditions = filters.conditions()
        self._geog = literal_column("place.geog")
        self._point = _geography_point(bindparam("lat", type_=Float),
                                       bindparam("lon", type_=Float))
        self._built: dict[tuple, Select] = {}

    def _memo(self, key: tuple, build):  # noqa: ANN001, ANN202 - a Select or DriverSelect
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def guess(self, after: bool) -> Select:
        """The sphere distance of the `offset`-th + 1 candidate, nearest first by KNN (`<->`,
        GiST-ordered), beyond `after_d`: a circle a little wider usually holds the next page."""
        def build() -> Select:
            geog, point = self._geog, self._point
            statement = (select(func.ST_Distance(geog, point, False))
                         .select_from(Place).where(*self._conditions))
            if after:
                statement = statement.where(~func.ST_DWithin(
                    geog, point, bindparam("after_d", type_=Float) / PREFILTER_FACTOR, False
                ))
            return (statement.order_by(geog.op("<->")(point))
                    .offset(bindparam("offset", type_=Integer)).limit(1))

        return self._memo(("guess", after), build)

    def _ranked(self, radius: ColumnElement[float], after: bool, prefilter: bool,
                circle: CTE | None = None) -> Select:
        """The candidates within `radius`, in exact distance order, at most `limit`; with
        `circle`, the radius is that one-row CTE's and comes back as a fifth column."""
        geog, point = self._geog, self._point
        extra = [] if circle is None else [circle.c.search_radius]
        inner = select(
            Place.id, Place.lat, Place.lon, func.ST_Distance(geog, point).label("distance_m"),
            *extra,
        ).where(*self._conditions)
        if circle is not None:
            inner = inner.select_from(circle).join(Place, true())
        if prefilter:
            inner = inner.where(
                func.ST_DWithin(geog, point, radius * PREFILTER_FACTOR + 1.0, False)
            )
        candidates = inner.subquery("candidates")
        outer = select(
            candidates.c.distance_m, candidates.c.id, candidates.c.lat, candidates.c.lon,
            *([] if circle is None else [candidates.c.search_radius]),
        ).where(candidates.c.distance_m
                <= (radius if circle is None else candidates.c.search_radius))
        if after:
            outer = outer.where(tuple_(candidates.c.distance_m, candidates.c.id) > tuple_(
                bindparam("after_d", type_=Float), bindparam("after_id", type_=Integer)))
        return (outer.order_by(candidates.c.distance_m, candidates.c.id)
                .limit(bindparam("limit", type_=Integer)))

    def within(self, after: bool, prefilter: bool) -> Select:
        """The candidates within `radius` (the prefilter is left out for the whole Earth)."""
        return self._memo(("within", after, prefilter), lambda: self._ranked(
            bindparam("radius", type_=Float), after, prefilter))

    def first(self, after: bool) -> Select:
        """`within` the radius of the KNN guess (capped at `cap`), and that radius."""
        def build() -> Select:
            radius = func.least(
                bindparam("cap", type_=Float),
                func.coalesce(self.guess(after).scalar_subquery() * PREFILTER_FACTOR + 1.0,
                              MAX_EARTH_DISTANCE_M),
            )
            # MATERIALIZED: computed once, then the radius of a parameterized index scan
            # (inlined, PostgreSQL repeats the KNN subquery for each use).
            circle = (select(radius.label("search_radius")).cte("circle")
                      .prefix_with("MATERIALIZED"))
            return self._ranked(circle.c.search_radius, after, True, circle)

        return self._memo(("first", after), build)

    def sent(self, name: str, *key: bool) -> DriverSelect:
        """Statement `name` (`within`, `first`, `guess`) as the driver sends it."""
        return self._memo(("sent", name, *key),
                          lambda: DriverSelect(getattr(self, name)(*key)))

    def first_with_rows(self, after: bool) -> DriverSelect:
        """`first` with each candidate's place columns ahead of its own: a page found within
        the first circle then comes with its rows, in one round trip (sent by the driver)."""
        def build() -> DriverSelect:
            ranked = self.first(after).subquery("ranked")
            return DriverSelect(
                select(*PAGE_COLUMNS, ranked.c.distance_m, ranked.c.search_radius)
                .join(ranked, ranked.c.id == Place.id)
                .order_by(ranked.c.distance_m, ranked.c.id))

        return self._memo(("first_with_rows", after), build)


# A page's place columns (the search tokens run to hundreds per hall and no answer shows them).
PAGE_COLUMNS = tuple(column for column in Place.__table__.columns if column.key != "search_text")
_PAGE_ATTRIBUTES = tuple(Place.__mapper__.get_property_by_column(column).key
                         for column in PAGE_COLUMNS)


def place_of_row(values: tuple) -> Place:
    """A read-only Place of a page's row (`PAGE_COLUMNS`), in no session: what the answer
    reads of it are these columns."""
    return detached_instance(Place, _PAGE_ATTRIBUTES, values)


class PostgisNearest:
    def __init__(self, session: Session, lat: float, lon: float,
                 statements: PostgisStatements, rows: dict[int, Place] | None = None) -> None:
        self._session = session
        self._point = {"lat": lat, "lon": lon}
        self._statements = statements
        self._rows = rows
        # The first circle's candidates, fetched in the same statement as its radius:
        # ((radius_m, after, limit), candidates).
        self._first: tuple[tuple, list[Candidate]] | None = None

    def _params(self, after: DistanceKey | None, **values) -> dict:
        if after is not None:
            values.update(after_d=after[0], after_id=after[1])
        return {**self._point, **values}

    def first_radius(self, after, limit, max_radius_m):
        # One round trip: the radius from the KNN guess and the candidates within it (and,
        # when asked for, their rows).
        params = self._params(after, cap=max_radius_m, offset=limit - 1, limit=limit)
        if self._rows is not None:
            rows = []
            columns = len(PAGE_COLUMNS)
            for row in self._statements.first_with_rows(after is not None).rows(
                    self._session, params):
                place = place_of_row(row[:columns])
                self._rows[place.id] = place
                rows.append((row[columns], place.id, place.lat, place.lon, row[columns + 1]))
        else:
            rows = self._statements.sent("first", after is not None).rows(self._session, params)
        if not rows:
            # Nothing within the circle, so its radius did not come back: ask for it alone.
            guessed = self._statements.sent("guess", after is not None).rows(
                self._session, self._params(after, offset=limit - 1))
            sphere = guessed[0][0] if guessed else None
            if sphere is None:
                return max_radius_m
            return min(sphere * PREFILTER_FACTOR + 1.0, max_radius_m)
        radius_m = float(rows[0][4])
        self._first = ((radius_m, after, limit),
                       [(float(d), int(i), lat, lon) for d, i, lat, lon, _ in rows])
        return radius_m

    def within(self, radius_m, after, limit):
        if self._first is not None and self._first[0] == (radius_m, after, limit):
            return self._first[1]
        prefilter = radius_m * PREFILTER_FACTOR + 1.0 < MAX_EARTH_DISTANCE_M
        rows = self._statements.sent("within", after is not None, prefilter).rows(
            self._session, self._params(after, radius=radius_m, limit=limit))
        return [(float(d), int(i), lat, lon) for d, i, lat, lon in rows]


@lru_cache(maxsize=256)
def _shared_statements(kind: type, filters: PlaceFilters):
    return kind(filters)


def statements_for(kind: type, filters: PlaceFilters):
    """The store's statements for these filters: shared by every search with equal filters
    (built per search, they were a sizeable part of its Python time), except for text and
    cross-domain filters, whose conditions carry their values inside."""
    if filters.text is None and not filters.extra:
        return _shared_statements(kind, filters)
    return kind(filters)


def _geography_point(lat: float, lon: float):
    return func.geography(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))


def store_for(engine: Engine) -> SpatialStore:
    return SqliteStore() if engine.dialect.name == "sqlite" else PostgisStore()
