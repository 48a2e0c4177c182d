"""Searching places: validate the request, ask the spatial store, cut a page with a cursor."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.core.errors import InvalidInput
from backend.core.ids import api_id
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.db import execute_read
from backend.places.city_clusters import get_cluster
from backend.places.hours import OpenAt
from backend.places.models import Place
from backend.places.records import PlaceKind
from backend.places.regions import get_region
from backend.places.store import (
    MAX_EARTH_DISTANCE_M,
    PAGE_COLUMNS,
    Candidate,
    ClinicFilter,
    DistanceKey,
    ElderlyCareFilter,
    PlaceFilters,
    SpatialStore,
    by_relevance,
    ids_in_order,
    place_of_row,
)
from backend.places.text import parse_text_query, text_condition
from backend.places.text_near import TextNearest, space_first_store
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.geodesic import BBox

if TYPE_CHECKING:
    import numpy as np

MAX_RADIUS_M = 50_000.0
MAX_BEDS = 100_000
# Without a radius, the nearest-first search widens its circle by this factor until a page is full.
SEARCH_RADIUS_GROWTH = 4.0

REGION_COLUMNS = {"COUNTY": "county_code", "CITY": "city_code", "PROVINCE": "province_code"}


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float
    crs: CRS = CRS.WGS84


@dataclass(frozen=True)
class BBoxQuery:
    south: float
    west: float
    north: float
    east: float
    crs: CRS = CRS.WGS84


@dataclass(frozen=True)
class PlaceHit:
    place: Place
    distance_m: float | None
    cursor: str


@dataclass(frozen=True)
class PlacePage:
    hits: list[PlaceHit]
    has_next_page: bool
    has_previous_page: bool


def validate_point(point: GeoPoint, field: str) -> tuple[float, float]:
    """The point in WGS-84, or InvalidInput when it is not a coordinate on Earth."""
    if not (math.isfinite(point.lat) and math.isfinite(point.lon)):
        raise InvalidInput(f"{field} 的经纬度必须是有限数值", field)
    if not -90.0 <= point.lat <= 90.0:
        raise InvalidInput(f"{field}.lat 超出范围：纬度应在 -90 到 90 之间", field)
    if not -180.0 <= point.lon <= 180.0:
        raise InvalidInput(f"{field}.lon 超出范围：经度应在 -180 到 180 之间", field)
    return to_wgs84(point.lat, point.lon, CRS(point.crs))


@dataclass(frozen=True)
class DatumBox:
    """A bbox in GCJ-02 or BD-09, decided exactly per place: the datum shift is not a
    translation (it varies by tens of metres across a city), so no WGS-84 box equals it."""

    crs: CRS
    south: float
    west: float
    north: float
    east: float

    def contains(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        lat, lon = from_wgs84(lats, lons, self.crs)
        return (lat >= self.south) & (lat <= self.north) & (lon >= self.west) & (lon <= self.east)

    def holds(self, lats: list[float], lons: list[float]) -> list[bool]:
        """`contains` for lists of points."""
        # numpy is imported here: only a box in GCJ-02 or BD-09 needs it, and the serving
        # process of PostgreSQL need not load it for the rest (issue 18, memory).
        import numpy as np

        return self.contains(np.array(lats), np.array(lons)).tolist()

    def check(self, rows: list[Candidate]) -> list[bool]:
        return self.holds([r[2] for r in rows], [r[3] for r in rows])


# The WGS-84 prefilter of a DatumBox is padded by ~2 km: more than the datum offset varies along
# any box edge, even one across all of China (GCJ-02 ~0.011°, BD-09 ~0.018° in longitude); the
# exact test then decides.
DATUM_BOX_PADDING_DEG = 0.02


def validate_bbox(box: BBoxQuery) -> tuple[BBox, DatumBox | None]:
    """The WGS-84 box the database filters on and, for another datum, the exact test."""
    corners = [
        validate_point(GeoPoint(lat, lon, box.crs), "bbox")
        for lat in (box.south, box.north)
        for lon in (box.west, box.east)
    ]
    if box.south > box.north:
        raise InvalidInput("bbox 无效：south 不能大于 north", "bbox")
    if box.west > box.east:
        raise InvalidInput("bbox 无效：west 不能大于 east（不支持跨越 180° 经线）", "bbox")
    crs = CRS(box.crs)
    if crs is CRS.WGS84:
        return BBox(box.south, box.west, box.north, box.east), None
    lats = [lat for lat, _ in corners]
    lons = [lon for _, lon in corners]
    pad = DATUM_BOX_PADDING_DEG
    envelope = BBox(max(-90.0, min(lats) - pad), max(-180.0, min(lons) - pad),
                    min(90.0, max(lats) + pad), min(180.0, max(lons) + pad))
    return envelope, DatumBox(crs, box.south, box.west, box.north, box.east)


def build_filters(
    session: Session,
    kinds: Sequence[str] | None,
    region_code: str | None,
    bbox: BBoxQuery | None,
    *,
    clinic: ClinicFilter | None = None,
    elderly_care: ElderlyCareFilter | None = None,
    conditions: Sequence[ColumnElement[bool]] = (),
    cluster_code: str | None = None,
) -> tuple[PlaceFilters, DatumBox | None]:
    """The filters the database applies, and the datum box checked after it (if any)."""
    if cluster_code is not None:
        # A cluster is a list of cities: a condition like any other, applied before paging.
        conditions = (*conditions, Place.city_code.in_(get_cluster(cluster_code).cities))
    region_column = None
    if region_code is not None:
        region = get_region(session, region_code)
        if region is None:
            raise InvalidInput(f"未知的行政区划代码：{region_code}", "regionCode")
        region_column = REGION_COLUMNS[region.level]
    if kinds is not None:
        kinds = tuple(dict.fromkeys(PlaceKind(kind).value for kind in kinds))
    envelope, datum_box = validate_bbox(bbox) if bbox is not None else (None, None)
    if elderly_care is not None and elderly_care.min_available_beds is not None and not (
        0 <= elderly_care.min_available_beds <= MAX_BEDS
    ):
        raise InvalidInput(f"minAvailableBeds 必须在 0 到 {MAX_BEDS} 之间", "minAvailableBeds")
    filters = PlaceFilters(
        kinds=kinds, region_column=region_column, region_code=region_code, bbox=envelope,
        clinic=clinic, elderly_care=elderly_care, extra=tuple(conditions),
    )
    return filters, datum_box


@dataclass(frozen=True)
class PlaceQuery:
    """A validated search: its order ("d" distance, "r" relevance, "i" id), and how to fetch
    the next `n` candidates after a key of that order (every filter and check applied)."""

    order: str
    fetch: Callable[[object, int], list[Candidate]]
    after_key: object
    has_previous_page: bool
    # Place rows the store read with its candidates (PostGIS: the page's, in the ranking
    # statement), by id: `page_of` reads only those missing.
    rows: dict[int, Place] = field(default_factory=dict)

    @staticmethod
    def key_of(candidate: Candidate) -> object:
        key, place_id, _, _ = candidate
        return place_id if key is None else (key, place_id)


def search_places(
    session: Session,
    store: SpatialStore,
    *,
    first: int | None = None,
    **criteria,
) -> PlacePage:
    """One page of places matching every filter: nearest first with `near`, else by relevance
    with `text`, else by id (the criteria: `prepare_search`)."""
    limit = validate_page_size(first)
    query = prepare_search(session, store, **criteria)
    return page_of(session, query, query.fetch(query.after_key, limit + 1), limit)


def prepare_search(
    session: Session,
    store: SpatialStore,
    *,
    near: GeoPoint | None = None,
    radius_m: float | None = None,
    bbox: BBoxQuery | None = None,
    region_code: str | None = None,
    cluster_code: str | None = None,
    kinds: Sequence[str] | None = None,
    open_at: datetime | None = None,
    text: str | None = None,
    clinic: ClinicFilter | None = None,
    elderly_care: ElderlyCareFilter | None = None,
    after: str | None = None,
    conditions: Sequence[ColumnElement[bool]] = (),
) -> PlaceQuery:
    """Validate a search; `conditions` are a higher domain's own (e.g. handles an item)."""
    if radius_m is not None:
        if near is None:
            raise InvalidInput("radiusMeters 需要同时提供 near", "radiusMeters")
        if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
            raise InvalidInput(
                f"radiusMeters 必须大于 0 且不超过 {int(MAX_RADIUS_M)} 米", "radiusMeters"
            )
    center = validate_point(near, "near") if near is not None else None
    text_query = parse_text_query(text)
    filters, datum_box = build_filters(
        session, kinds, region_code, bbox,
        clinic=clinic, elderly_care=elderly_care, conditions=conditions,
        cluster_code=cluster_code,
    )
    checks: list[RowCheck] = []
    if datum_box is not None:
        checks.append(datum_box.check)
    if open_at is not None:
        # Places without hours are never "open"; the rest are decided by their rules.
        filters = replace(filters, extra=(*filters.extra, Place.opening_hours.is_not(None)))
        checks.append(_open_check(session, OpenAt(session, open_at)))
    if text_query is not None:
        dialect = session.get_bind().dialect.name
        filters = replace(filters, text=text_condition(dialect, "place", text_query))
    previous = after is not None

    if text_query is not None and center is not None:
        circles = space_first_store(store, text_query)
        search = TextNearest(
            session, center, radius_m, filters, text_query, checks,
            lambda key, n: _nearest(session, circles, center, radius_m, filters, checks, key, n),
            _filtered,
        )
        return PlaceQuery("d", search.fetch, _float_key(after, "d"), previous)
    if center is not None:
        rows: dict[int, Place] = {}
        return PlaceQuery("d", lambda key, n: _nearest(session, store, center, radius_m, filters,
                                                       checks, key, n, rows),
                          _float_key(after, "d"), previous, rows)
    if text_query is not None:
        return PlaceQuery("r", lambda key, n: _filtered(
            lambda k, m: by_relevance(session, text_query, filters, k, m), key, n, checks),
            _float_key(after, "r"), previous)
    after_id = decode_cursor(after, "i")["i"] if after is not None else None
    return PlaceQuery("i", lambda key, n: _filtered(
        lambda k, m: ids_in_order(session, filters, k, m), key, n, checks), after_id, previous)


def page_of(session: Session, query: PlaceQuery, candidates: Sequence[Candidate],
            limit: int, places: Mapping[int, Place] | None = None) -> PlacePage:
    """The page of the first `limit` candidates (one more says there is a next page); the
    rows are read unless given (`load_places`) or read with the candidates."""
    keys = [(key, place_id) for key, place_id, _, _ in candidates[:limit]]
    if places is None:
        places = query.rows
        missing = [place_id for _, place_id in keys if place_id not in places]
        if missing:
            places = {**places, **load_places(session, missing)}
    hits = [
        PlaceHit(
            place=places[place_id],
            distance_m=key if query.order == "d" else None,
            cursor=encode_cursor(
                {"o": "i", "i": place_id} if key is None
                else {"o": query.order, "d": key, "i": place_id}
            ),
        )
        for key, place_id in keys
    ]
    return PlacePage(hits=hits, has_next_page=len(candidates) > limit,
                     has_previous_page=query.has_previous_page)


def _float_key(after: str | None, order: str) -> tuple[float, int] | None:
    if after is None:
        return None
    decoded = decode_cursor(after, order)
    return float(decoded["d"]), decoded["i"]


# A test on a chunk of candidates that SQL cannot make: one verdict per row.
RowCheck = Callable[[list[Candidate]], list[bool]]


def _open_check(session: Session, open_at: OpenAt) -> RowCheck:
    def check(rows: list[Candidate]) -> list[bool]:
        ids = [row[1] for row in rows]
        hours = dict(session.execute(
            select(Place.id, Place.opening_hours).where(Place.id.in_(ids))
        ).all())
        return [open_at.is_open(hours.get(place_id)) for place_id in ids]

    return check


def _filtered(
    fetch: Callable[[object, int], list[Candidate]],
    after: object,
    limit: int,
    checks: Sequence[RowCheck],
) -> list[Candidate]:
    """`limit` candidates from `fetch(after, n)` that pass every check, in fetch order."""
    if not checks:
        return fetch(after, limit)
    kept: list[Candidate] = []
    chunk = max(4 * limit, 200)
    while True:
        rows = fetch(after, chunk)
        verdicts = [True] * len(rows)
        for check in checks:
            if rows:
                verdicts = [a and b for a, b in zip(verdicts, check(rows), strict=True)]
        kept += [row for row, ok in zip(rows, verdicts, strict=True) if ok]
        if len(kept) >= limit or len(rows) < chunk:
            return kept[:limit]
        key, place_id, _, _ = rows[-1]
        after = place_id if key is None else (key, place_id)


def _nearest(
    session: Session,
    store: SpatialStore,
    center: tuple[float, float],
    radius_m: float | None,
    filters: PlaceFilters,
    checks: Sequence[RowCheck],
    after: DistanceKey | None,
    limit: int,
    rows: dict[int, Place] | None = None,
) -> list[Candidate]:
    lat, lon = center
    search = store.nearest_search(session, lat, lon, filters, rows)

    def within(radius: float) -> list[Candidate]:
        return _filtered(lambda after_key, n: search.within(radius, after_key, n),
                         after, limit, checks)

    # Everything inside a circle is nearer than everything outside it, so a full page found
    # within some radius is exactly the next page; widen until full or the asked radius (the
    # whole Earth without one). Ranking only a small circle keeps a dense city centre from
    # costing thousands of exact distances per page. The store's first guess only saves
    # rounds; it never decides the answer.
    limit_radius = radius_m if radius_m is not None else MAX_EARTH_DISTANCE_M
    search_radius = search.first_radius(after, limit, limit_radius)
    while True:
        search_radius = min(search_radius, limit_radius)
        candidates = within(search_radius)
        if len(candidates) >= limit or search_radius >= limit_radius:
            return candidates
        search_radius *= SEARCH_RADIUS_GROWTH


# Built once: building the statement was a fifth of loading the page.
_PAGE_PLACES = select(*PAGE_COLUMNS).where(Place.id.in_(bindparam("ids", expanding=True)))


def load_places(session: Session, ids: Sequence[int]) -> dict[int, Place]:
    """The places of a page, read-only and in no session (`place_of_row`): through Core, not
    the ORM's loading, whose per-row work was most of reading a page."""
    if not ids:
        return {}
    places = (place_of_row(tuple(row)) for row in execute_read(session, _PAGE_PLACES,
                                                               {"ids": list(ids)}))
    return {place.id: place for place in places}


def get_place(session: Session, place_id: str) -> Place | None:
    """The place with this API id, or None for any id no place can have."""
    key = api_id(place_id)
    return None if key is None else session.get(Place, key)
