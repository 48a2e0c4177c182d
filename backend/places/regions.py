"""Administrative regions: stored in the database, answered point-in-polygon by geodata."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, defer

from backend.core.errors import InvalidInput
from backend.db import is_sqlite
from backend.places.city_clusters import ClusterPack, clusters_of_city, clusters_of_province
from backend.places.models import Region
from geodata.outlines import Outline, wkb_bounds
from geodata.regions import Holding, RegionIndex, RegionLevel, RegionRecord

_index_lock = threading.Lock()
# Regions are reference data loaded by `seed`; the index is derived from the table, per engine.
_indexes: dict[str, RegionIndex] = {}


# Boundaries are megabytes of WKB read only to build the index; API answers never need them.
WITHOUT_BOUNDARY = defer(Region.boundary_wkb)


def region_exists(session: Session, code: str) -> bool:
    """Whether an editor grant's scope names a region (accounts asks, through the wiring)."""
    return session.get(Region, code) is not None


def get_region(session: Session, code: str) -> Region | None:
    return session.get(Region, code, options=[WITHOUT_BOUNDARY])


def list_regions(
    session: Session, level: str | None = None, parent_code: str | None = None
) -> list[Region]:
    statement = select(Region).options(WITHOUT_BOUNDARY).order_by(Region.code)
    if level is not None:
        statement = statement.where(Region.level == RegionLevel(level).value)
    if parent_code is not None:
        if get_region(session, parent_code) is None:
            raise InvalidInput(f"未知的行政区划代码：{parent_code}", "parentCode")
        statement = statement.where(Region.parent_code == parent_code)
    return list(session.scalars(statement))


@dataclass(frozen=True)
class RegionRow:
    """What the API shows of a region (no outline)."""

    code: str
    name: str
    level: str
    parent_code: str | None


# Every region without its outline, per engine: 3,260 small rows (all of China) that every
# page of places names, so they are read once per process instead of once per request.
# Reference data that only `seed` changes; `store_regions` drops it.
_rows: dict[str, dict[str, RegionRow]] = {}


def regions_by_code(session: Session, codes: Iterable[str]) -> dict[str, RegionRow]:
    wanted = set(codes)
    if not wanted:
        return {}
    rows = _all_rows(session, wanted)
    return {code: rows[code] for code in wanted if code in rows}


def _all_rows(session: Session, wanted: set[str] = frozenset()) -> dict[str, RegionRow]:
    key = _engine_key(session.get_bind())
    rows = _rows.get(key)
    if rows is None or not wanted <= rows.keys():
        statement = select(Region.code, Region.name, Region.level, Region.parent_code)
        rows = {row.code: RegionRow(*row) for row in session.execute(statement)}
        _rows[key] = rows
    return rows


def clusters_of_region(session: Session, region: RegionRow) -> list[ClusterPack]:
    """The city clusters a region lies in: a county's and a city's by its city, a province's
    when the cluster holds every city of it."""
    if region.level == RegionLevel.COUNTY:
        return clusters_of_city(region.parent_code)
    if region.level == RegionLevel.CITY:
        return clusters_of_city(region.code)
    cities = [row.code for row in _all_rows(session).values() if row.parent_code == region.code]
    return clusters_of_province(cities)


def _engine_key(engine) -> str:
    return str(getattr(engine, "url", engine))


def region_index(session: Session) -> RegionIndex:
    """Every region's name, parent and box; the outlines stay in the database (`regions_at`
    tests them there on PostgreSQL, in a bounded cache of parsed outlines on SQLite). All of
    China's outlines in memory were ~35 MB per server process (bench/RESULTS.md, "Server
    memory, issue 18")."""
    key = _engine_key(session.get_bind())
    index = _indexes.get(key)
    if index is None:
        with _index_lock:
            index = _indexes.get(key)
            if index is None:
                index = _boxed_index(session)
                _indexes[key] = index
    return index


PAGE = 200


def _boxed_index(session: Session) -> RegionIndex:
    sqlite = is_sqlite(session.get_bind())
    if sqlite:
        outline = Region.boundary_wkb
        boxes = (outline,)
    else:  # PostGIS: the boxes from the database, no outline reaches Python
        outline = func.ST_GeomFromWKB(Region.boundary_wkb)
        boxes = (func.ST_XMin(outline), func.ST_YMin(outline), func.ST_XMax(outline),
                 func.ST_YMax(outline))
    statement = select(Region.code, Region.name, Region.level, Region.parent_code,
                       *boxes).order_by(Region.code).limit(PAGE)
    # A page at a time, each outline parsed for its box and dropped (keyset pages, not a
    # server-side cursor: the read session of PostgreSQL runs in autocommit).
    records, bounds, last = [], {}, ""
    while True:
        rows = session.execute(statement.where(Region.code > last)).all()
        for code, name, level, parent_code, *box in rows:
            records.append(RegionRecord(code, name, RegionLevel(level), parent_code))
            bounds[code] = wkb_bounds(box[0]) if sqlite else tuple(box)
        if len(rows) < PAGE:
            return RegionIndex(records, bounds)
        last = rows[-1].code


class _Outlines:
    """SQLite: the outlines last tested, parsed, per engine (a resident's lookups stay in a
    few counties, an import's in one city). Plain Python (geodata.outlines), not shapely: the
    serving process of SQLite then loads neither shapely nor numpy (issue 18, memory)."""

    SIZE = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Outline] = OrderedDict()

    def holding(self, session: Session, codes: Sequence[str], lat: float,
                lon: float) -> list[str]:
        outlines = self._get(session, codes)
        return [code for code in codes if outlines[code].holds(lon, lat)]

    def _get(self, session: Session, codes: Sequence[str]) -> dict[str, Outline]:
        found, missing = {}, []
        with self._lock:
            for code in codes:
                outline = self._cache.get(code)
                if outline is None:
                    missing.append(code)
                else:
                    self._cache.move_to_end(code)
                    found[code] = outline
        if missing:
            statement = select(Region.code, Region.boundary_wkb).where(Region.code.in_(missing))
            read = {code: Outline(wkb) for code, wkb in session.execute(statement)}
            found.update(read)
            with self._lock:
                self._cache.update(read)
                while len(self._cache) > self.SIZE:
                    self._cache.popitem(last=False)
        return found


_outlines: dict[str, _Outlines] = {}


def _postgis_holding(session: Session) -> Holding:
    def holding(codes: Sequence[str], lat: float, lon: float) -> list[str]:
        # Planar, like shapely's test of the same outline (boundary included).
        held = func.ST_Intersects(func.ST_GeomFromWKB(Region.boundary_wkb),
                                  func.ST_MakePoint(lon, lat))
        return list(session.scalars(select(Region.code).where(Region.code.in_(codes), held)))

    return holding


def region_holding(session: Session) -> Holding:
    """How `region_index(session).at(lat, lon, ...)` tests its candidates' outlines."""
    if not is_sqlite(session.get_bind()):
        return _postgis_holding(session)
    key = _engine_key(session.get_bind())
    cache = _outlines.get(key)
    if cache is None:
        cache = _outlines.setdefault(key, _Outlines())
    return lambda codes, lat, lon: cache.holding(session, codes, lat, lon)


def regions_at(session: Session, lat: float, lon: float) -> list[RegionRecord]:
    """The regions containing a WGS-84 point, most specific first (records without outline)."""
    return region_index(session).at(lat, lon, region_holding(session))


# Each region's centre (geocoding's entries), per engine, read once: the outlines are not kept.
_centres: dict[str, dict[str, tuple[float, float]]] = {}


def region_centres(session: Session) -> dict[str, tuple[float, float]]:
    """(lat, lon) of each region's centroid, or of a point surely inside when the centroid is
    not."""
    key = _engine_key(session.get_bind())
    centres = _centres.get(key)
    if centres is None:
        import shapely

        centres = {}
        for record in region_records(session):
            point = record.geometry.centroid
            if not shapely.contains(record.geometry, point):
                point = record.geometry.representative_point()
            centres[record.code] = (point.y, point.x)
        _centres[key] = centres
    return centres


def warm_region_index(session: Session) -> int:
    """Build the index now: called in gunicorn's master before it forks, so the workers share
    its pages instead of each building its own copy on its first request. Returns the number
    of regions."""
    index = region_index(session)
    if not len(index):  # not seeded yet: leave it to the first request after `seed`
        forget_region_index(session.get_bind())
    return len(index)


def forget_region_index(engine: Engine) -> None:
    """Drop what was derived from the region table after it changed (seeding)."""
    _indexes.pop(_engine_key(engine), None)
    _rows.pop(_engine_key(engine), None)
    _outlines.pop(_engine_key(engine), None)
    _centres.pop(_engine_key(engine), None)


def region_records(session: Session) -> list[RegionRecord]:
    """Every region with its outline, all read now (not kept)."""
    import shapely

    return [
        RegionRecord(
            code=region.code,
            name=region.name,
            level=RegionLevel(region.level),
            parent_code=region.parent_code,
            geometry=shapely.from_wkb(region.boundary_wkb),
        )
        for region in session.scalars(select(Region))
    ]


def region_chain_at(session: Session, lat: float, lon: float) -> list[RegionRow]:
    """County, city, province containing a WGS-84 point, most specific first."""
    codes = [record.code for record in regions_at(session, lat, lon)]
    found = regions_by_code(session, codes)
    return [found[code] for code in codes if code in found]


def region_codes_at(session: Session, lat: float, lon: float) -> dict[str, str | None]:
    """The county/city/province columns a place at this point gets."""
    columns = {"county_code": None, "city_code": None, "province_code": None}
    for record in regions_at(session, lat, lon):
        columns[f"{record.level.value.lower()}_code"] = record.code
    return columns


def store_regions(session: Session, records: Iterable[RegionRecord]) -> int:
    """Insert or update the region table from records (parents before children)."""
    import shapely

    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    count = 0
    for record in sorted(records, key=lambda r: (order[r.level], r.code)):
        region = session.get(Region, record.code) or Region(code=record.code)
        region.name = record.name
        region.level = record.level.value
        region.parent_code = record.parent_code
        region.boundary_wkb = shapely.to_wkb(record.geometry)
        session.add(region)
        session.flush()
        count += 1
    forget_region_index(session.get_bind())
    return count
