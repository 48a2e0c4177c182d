"""Map clusters: the places in a map window counted per cell of a Web Mercator grid.

The grid has cells of 64 px on 256-px tiles, i.e. 4·2^zoom cells per axis, anchored at the
world origin, so a place stays in the same cell while the user pans and clusters do not jump.
Counting happens in SQL (GROUP BY cell), so a million places never travel to Python; the same
statement runs on SQLite (≥ 3.35, math functions) and PostgreSQL.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, and_, case, event, func, not_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.errors import InvalidInput
from backend.places.models import Place
from backend.places.records import PlaceKind
from backend.places.search import BBoxQuery, DatumBox, validate_bbox
from backend.places.store import PlaceFilters
from geodata.crs import to_wgs84
from geodata.geodesic import BBox

MAX_ZOOM = 20
CELLS_PER_TILE = 4  # 64-px cells on 256-px tiles
MAX_CELLS = 10_000  # a window spanning more cells than this is refused, not answered slowly
# The Mercator limit is atan(sinh(π)) = 85.05112877980…°; clamping to a value rounded *up*
# (85.05112878) puts polar places in row -1 at high zooms, so clamp a hair (< 1 cm) inside.
MERCATOR_MAX_LAT = 85.0511287
# GCJ-02 and BD-09 shift a WGS-84 point by [0, 0.0094]° in latitude and [-0.0003, 0.0173]° in
# longitude (nothing outside China), so the shifts of any two points differ by less than this.
DATUM_SHIFT_SPREAD_DEG = 0.02


@dataclass(frozen=True)
class MapCluster:
    """Places of one grid cell, WGS-84: the mean of their points and their bounding box."""

    count: int
    lat: float
    lon: float
    south: float
    west: float
    north: float
    east: float
    place_id: int | None  # only for a single place, so a tap can open it directly


@dataclass
class _Cell:
    """A cell's aggregate as sums, so the parts of one cell can be merged."""

    count: int
    lat_sum: float
    lon_sum: float
    south: float
    west: float
    north: float
    east: float
    first_id: int

    def merge(self, other: _Cell) -> None:
        self.count += other.count
        self.lat_sum += other.lat_sum
        self.lon_sum += other.lon_sum
        self.south, self.north = min(self.south, other.south), max(self.north, other.north)
        self.west, self.east = min(self.west, other.west), max(self.east, other.east)
        self.first_id = min(self.first_id, other.first_id)

    def cluster(self) -> MapCluster:
        return MapCluster(
            count=self.count, lat=self.lat_sum / self.count, lon=self.lon_sum / self.count,
            south=self.south, west=self.west, north=self.north, east=self.east,
            place_id=self.first_id if self.count == 1 else None,
        )


CellKey = tuple[int, int]  # (ix, iy)


def cells_per_axis(zoom: int) -> int:
    return CELLS_PER_TILE * 2**zoom


def cell_of(lat: float, lon: float, zoom: int) -> CellKey:
    """The (ix, iy) cell of a WGS-84 point; the same arithmetic as the SQL of `_cell_columns`."""
    n = float(cells_per_axis(zoom))
    x = (lon + 180.0) / 360.0 * n
    phi = math.radians(max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat)))
    y = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n
    return (int(n) - 1 if x >= n else math.floor(x)), math.floor(y)


def validate_zoom(zoom: object) -> int:
    if isinstance(zoom, bool) or not isinstance(zoom, int) or not 0 <= zoom <= MAX_ZOOM:
        raise InvalidInput(f"zoom 必须是 0 到 {MAX_ZOOM} 之间的整数", "zoom")
    return zoom


def map_clusters(
    session: Session, bbox: BBoxQuery, zoom: int, kinds: Sequence[str] | None
) -> list[MapCluster]:
    """The places in `bbox` (any datum) of `kinds`, one cluster per non-empty grid cell at
    `zoom`, ordered by (iy, ix): north to south, then west to east."""
    zoom = validate_zoom(zoom)
    envelope, datum_box = validate_bbox(bbox)
    if kinds is not None:
        try:
            kinds = tuple(dict.fromkeys(PlaceKind(kind).value for kind in kinds))
        except ValueError as exc:
            raise InvalidInput("kinds 含有未知的场所类型", "kinds") from exc
    # The window as the user sees it: search's padded prefilter would add ~1 km per side,
    # hundreds of cells at zoom 20, to the size check.
    view = envelope if datum_box is None else _corner_envelope(bbox)
    west_x, north_y = cell_of(view.north, view.west, zoom)
    east_x, south_y = cell_of(view.south, view.east, zoom)
    if (east_x - west_x + 1) * (south_y - north_y + 1) > MAX_CELLS:
        raise InvalidInput("地图范围过大：请放大地图或缩小范围", "bbox")

    n = cells_per_axis(zoom)
    if datum_box is None:
        cells = _aggregate(session, PlaceFilters(kinds=kinds, bbox=view).conditions(), n)
    else:
        cells = _aggregate_datum_box(session, view, datum_box, kinds, n)
    return [cells[key].cluster() for key in sorted(cells, key=lambda key: (key[1], key[0]))]


def _corner_envelope(box: BBoxQuery) -> BBox:
    """The WGS-84 envelope of the box's corners (validated already), without padding."""
    corners = [to_wgs84(lat, lon, box.crs) for lat in (box.south, box.north)
               for lon in (box.west, box.east)]
    lats, lons = [lat for lat, _ in corners], [lon for _, lon in corners]
    return BBox(max(-90.0, min(lats)), max(-180.0, min(lons)),
                min(90.0, max(lats)), min(180.0, max(lons)))


def _cell_columns(n: int) -> tuple[ColumnElement, ColumnElement]:
    """(ix, iy) of Place as SQL, the arithmetic of `cell_of` in the same order."""
    cells = float(n)
    lat = case((Place.lat > MERCATOR_MAX_LAT, MERCATOR_MAX_LAT),
               (Place.lat < -MERCATOR_MAX_LAT, -MERCATOR_MAX_LAT), else_=Place.lat)
    phi = func.radians(lat)
    x = (Place.lon + 180.0) / 360.0 * cells
    # lon = 180 is the antimeridian again; keep it in the last column rather than one beyond.
    ix = case((x >= cells, cells - 1.0), else_=func.floor(x))
    iy = func.floor((1.0 - func.ln(func.tan(phi) + 1.0 / func.cos(phi)) / math.pi) / 2.0 * cells)
    return ix, iy


def _aggregate(session: Session, conditions: list[ColumnElement[bool]], n: int
               ) -> dict[CellKey, _Cell]:
    """Per-cell sums over the places matching `conditions`, computed by the database."""
    ix, iy = _cell_columns(n)
    # The cell is computed in a subquery and grouped by its columns: PostgreSQL would not
    # match a GROUP BY repeating the expression (its bound parameters get new numbers).
    cells = select(ix.label("ix"), iy.label("iy"), Place.id, Place.lat, Place.lon).where(
        *conditions
    ).subquery("cells")
    statement = select(
        cells.c.ix, cells.c.iy, func.count(), func.sum(cells.c.lat), func.sum(cells.c.lon),
        func.min(cells.c.lat), func.min(cells.c.lon), func.max(cells.c.lat),
        func.max(cells.c.lon), func.min(cells.c.id),
    ).group_by(cells.c.iy, cells.c.ix).order_by(cells.c.iy, cells.c.ix)
    return {
        (int(x), int(y)): _Cell(int(count), lat_sum, lon_sum, south, west, north, east, int(id_))
        for x, y, count, lat_sum, lon_sum, south, west, north, east, id_
        in session.execute(statement)
    }


def _aggregate_datum_box(
    session: Session, view: BBox, datum_box: DatumBox, kinds: tuple[str, ...] | None, n: int
) -> dict[CellKey, _Cell]:
    """Clusters of exactly the places `places(bbox:)` lists for a GCJ-02/BD-09 box.

    A tap on a cluster of 12 that then lists 11 places looks broken, so the box is decided
    exactly, as in search: places well inside are counted by the database; only the strip
    within DATUM_SHIFT_SPREAD_DEG of the edge (a thin band, a small share of the window)
    is read and tested in the box's own datum.
    """
    spread = DATUM_SHIFT_SPREAD_DEG
    inner = _shrunk(view, spread)
    cells: dict[CellKey, _Cell] = {}
    if inner is not None:
        cells = _aggregate(session, PlaceFilters(kinds=kinds, bbox=inner).conditions(), n)
    outer = BBox(max(-90.0, view.south - spread), max(-180.0, view.west - spread),
                 min(90.0, view.north + spread), min(180.0, view.east + spread))
    conditions = PlaceFilters(kinds=kinds, bbox=outer).conditions()
    if inner is not None:
        conditions.append(not_(and_(Place.lat.between(inner.south, inner.north),
                                    Place.lon.between(inner.west, inner.east))))
    ix, iy = _cell_columns(n)
    rows = session.execute(
        select(ix, iy, Place.id, Place.lat, Place.lon).where(*conditions)
    ).all()
    if rows:
        inside = datum_box.contains(np.array([r[3] for r in rows]), np.array([r[4] for r in rows]))
        for (x, y, place_id, lat, lon), keep in zip(rows, inside.tolist(), strict=True):
            if keep:
                part = _Cell(1, lat, lon, lat, lon, lat, lon, int(place_id))
                key = (int(x), int(y))
                if key in cells:
                    cells[key].merge(part)
                else:
                    cells[key] = part
    return cells


def _shrunk(box: BBox, margin: float) -> BBox | None:
    if box.north - box.south <= 2 * margin or box.east - box.west <= 2 * margin:
        return None
    return BBox(box.south + margin, box.west + margin, box.north - margin, box.east - margin)


# SQLite ships ln/tan/cos/radians/floor only when built with its math functions (3.35+, on by
# default in most builds). When the linked library lacks them, register the same functions
# from Python on every new SQLite connection; the results are those of the C library either way.
_MATH_FUNCTIONS = {"ln": math.log, "tan": math.tan, "cos": math.cos, "radians": math.radians,
                   "floor": math.floor}


def _sqlite_has_math_functions() -> bool:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("SELECT ln(1), tan(0), cos(0), radians(0), floor(0.5)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def _null_on_domain_error(function):
    def wrapped(value):
        try:
            return None if value is None else function(value)
        except (ValueError, OverflowError):
            return None  # SQLite's own functions answer NULL outside their domain

    return wrapped


def register_math_functions(connection: sqlite3.Connection) -> None:
    for name, function in _MATH_FUNCTIONS.items():
        connection.create_function(name, 1, _null_on_domain_error(function), deterministic=True)


if not _sqlite_has_math_functions():

    @event.listens_for(Engine, "connect")
    def _sqlite_math_functions(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            register_math_functions(dbapi_connection)
