"""Searching places: validate the request, ask the spatial store, cut a page with a cursor."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.places.models import Place
from backend.places.records import PlaceKind
from backend.places.regions import get_region
from backend.places.store import (
    MAX_EARTH_DISTANCE_M,
    Candidate,
    DistanceKey,
    PlaceFilters,
    SpatialStore,
    ids_in_order,
)
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.geodesic import BBox

MAX_RADIUS_M = 50_000.0
MAX_PAGE_SIZE = 100
MAX_PLACE_ID = 2**31 - 1  # place.id is a 32-bit INTEGER in both stores
PLACE_ID = re.compile(r"[1-9][0-9]{0,9}")
DEFAULT_PAGE_SIZE = 20
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


# The WGS-84 prefilter of a DatumBox is padded by ~1 km, far more than the datum offset varies
# along a box edge (tens of metres); the exact test then decides.
DATUM_BOX_PADDING_DEG = 0.01


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


def validate_page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first 必须在 1 到 {MAX_PAGE_SIZE} 之间", "first")
    return first


def encode_cursor(key: dict) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> dict:
    """The key inside a cursor this search made; InvalidInput for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(key, dict) or key.get("o") != order:
            raise ValueError("cursor of another ordering")
        place_id = key.get("i")
        if not isinstance(place_id, int) or isinstance(place_id, bool):
            raise ValueError("cursor without an id")
        if not 0 < place_id <= MAX_PLACE_ID:
            raise ValueError("cursor id out of range")
        if order == "d" and not (
            isinstance(key.get("d"), int | float) and math.isfinite(key["d"]) and key["d"] >= 0
        ):
            raise ValueError("cursor without a distance")
        return key
    except (ValueError, UnicodeError, binascii.Error, json.JSONDecodeError, TypeError) as exc:
        raise InvalidInput("after 游标无效：请使用上一页返回的 cursor", "after") from exc


def build_filters(
    session: Session,
    kinds: Sequence[str] | None,
    region_code: str | None,
    bbox: BBoxQuery | None,
) -> tuple[PlaceFilters, DatumBox | None]:
    """The filters the database applies, and the datum box checked after it (if any)."""
    region_column = None
    if region_code is not None:
        region = get_region(session, region_code)
        if region is None:
            raise InvalidInput(f"未知的行政区划代码：{region_code}", "regionCode")
        region_column = REGION_COLUMNS[region.level]
    if kinds is not None:
        kinds = tuple(dict.fromkeys(PlaceKind(kind).value for kind in kinds))
    envelope, datum_box = validate_bbox(bbox) if bbox is not None else (None, None)
    filters = PlaceFilters(
        kinds=kinds, region_column=region_column, region_code=region_code, bbox=envelope
    )
    return filters, datum_box


def search_places(
    session: Session,
    store: SpatialStore,
    *,
    near: GeoPoint | None = None,
    radius_m: float | None = None,
    bbox: BBoxQuery | None = None,
    region_code: str | None = None,
    kinds: Sequence[str] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> PlacePage:
    """One page of places matching every filter: nearest first with `near`, else by id."""
    limit = validate_page_size(first)
    if radius_m is not None:
        if near is None:
            raise InvalidInput("radiusMeters 需要同时提供 near", "radiusMeters")
        if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
            raise InvalidInput(
                f"radiusMeters 必须大于 0 且不超过 {int(MAX_RADIUS_M)} 米", "radiusMeters"
            )
    center = validate_point(near, "near") if near is not None else None
    filters, datum_box = build_filters(session, kinds, region_code, bbox)

    if center is None:
        after_id = decode_cursor(after, "i")["i"] if after is not None else None
        candidates = _filtered(
            lambda after_key, n: ids_in_order(session, filters, after_key, n),
            after_id, limit + 1, datum_box,
        )
    else:
        after_key = None
        if after is not None:
            decoded = decode_cursor(after, "d")
            after_key = (float(decoded["d"]), decoded["i"])
        candidates = _nearest(
            session, store, center, radius_m, filters, datum_box, after_key, limit + 1
        )

    has_next = len(candidates) > limit
    keys = [(distance, place_id) for distance, place_id, _, _ in candidates[:limit]]
    places = _load_places(session, [place_id for _, place_id in keys])
    hits = [
        PlaceHit(
            place=places[place_id],
            distance_m=distance,
            cursor=encode_cursor(
                {"o": "i", "i": place_id} if distance is None
                else {"o": "d", "d": distance, "i": place_id}
            ),
        )
        for distance, place_id in keys
    ]
    return PlacePage(hits=hits, has_next_page=has_next, has_previous_page=after is not None)


def _filtered(
    fetch: Callable[[object, int], list[Candidate]],
    after: object,
    limit: int,
    datum_box: DatumBox | None,
) -> list[Candidate]:
    """`limit` candidates from `fetch(after, n)` that pass the datum box, in fetch order."""
    if datum_box is None:
        return fetch(after, limit)
    kept: list[Candidate] = []
    chunk = max(4 * limit, 200)
    while True:
        rows = fetch(after, chunk)
        if rows:
            inside = datum_box.contains(np.array([r[2] for r in rows]),
                                        np.array([r[3] for r in rows]))
            kept += [row for row, ok in zip(rows, inside, strict=True) if ok]
        if len(kept) >= limit or len(rows) < chunk:
            return kept[:limit]
        distance, place_id, _, _ = rows[-1]
        after = place_id if distance is None else (distance, place_id)


def _nearest(
    session: Session,
    store: SpatialStore,
    center: tuple[float, float],
    radius_m: float | None,
    filters: PlaceFilters,
    datum_box: DatumBox | None,
    after: DistanceKey | None,
    limit: int,
) -> list[Candidate]:
    lat, lon = center

    def within(radius: float) -> list[Candidate]:
        return _filtered(
            lambda after_key, n: store.nearest(session, lat, lon, radius, filters, after_key, n),
            after, limit, datum_box,
        )

    if radius_m is not None:
        return within(radius_m)
    # Everything inside a circle is nearer than everything outside it, so a full page found
    # within some radius is exactly the next page; widen until full or the whole Earth. The
    # store's first guess only saves rounds; it never decides the answer.
    search_radius = store.first_search_radius(session, lat, lon, filters, after, limit)
    while True:
        search_radius = min(search_radius, MAX_EARTH_DISTANCE_M)
        candidates = within(search_radius)
        if len(candidates) >= limit or search_radius >= MAX_EARTH_DISTANCE_M:
            return candidates
        search_radius *= SEARCH_RADIUS_GROWTH


def _load_places(session: Session, ids: list[int]) -> dict[int, Place]:
    if not ids:
        return {}
    return {place.id: place for place in session.scalars(select(Place).where(Place.id.in_(ids)))}


def get_place(session: Session, place_id: str) -> Place | None:
    """The place with this API id, or None for any id no place can have."""
    if not PLACE_ID.fullmatch(str(place_id)) or int(place_id) > MAX_PLACE_ID:
        return None
    return session.get(Place, int(place_id))
