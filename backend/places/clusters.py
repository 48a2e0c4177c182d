"""Map clusters: the places in a map window counted per cell of a Web Mercator grid.

The grid has cells of 64 px on 256-px tiles, i.e. 4·2^zoom cells per axis, anchored at the
world origin, so a place stays in the same cell while the user pans and clusters do not jump.
Counting happens in SQL (GROUP BY cell), so a million places never travel to Python; the same
statement runs on SQLite (≥ 3.35, math functions) and PostgreSQL.

Counting every place of a window costs as much as the window holds (600k rows for a city at
zoom 8 among a million places), so `place_grid` keeps the same sums per cell for zoom 0 to
GRID_MAX_ZOOM, rebuilt after bulk loads. A window then reads the cells it covers whole from the
grid: whole cells of its zoom, and cells three zooms finer (8 × 8 per cell) along its edges.
Only the places in the thin strips between those and the window's edges are read one by one.
Every cell index, of the grid and of those places, comes from the same SQL arithmetic
(`cell_columns`): a finer index is the coarser one times a power of two, exactly, so the
answer is the scan's. A place written after the rebuild makes the grid stale (triggers, see
migration 0004) and the scan answers until the next rebuild.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import (
    and_,
    case,
    func,
    literal_column,
    not_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.core.errors import InvalidInput
from backend.places.models import Place, PlaceGrid, PlaceGridState
from backend.places.records import PlaceKind
from backend.places.search import BBoxQuery, DatumBox, validate_bbox
from backend.places.store import PlaceFilters
from geodata import mercator
from geodata.crs import to_wgs84
from geodata.geodesic import BBox

MAX_ZOOM = 20
CELLS_PER_TILE = 4  # 64-px cells on 256-px tiles
MAX_CELLS = 10_000  # a window spanning more cells than this is refused, not answered slowly
# GCJ-02 and BD-09 shift a WGS-84 point by [0, 0.0094]° in latitude and [-0.0003, 0.0173]° in
# longitude (nothing outside China), so the shifts of any two points differ by less than this.
DATUM_SHIFT_SPREAD_DEG = 0.02
# The grid keeps zoom 0 to GRID_MAX_ZOOM; a window at zoom z reads cells of z and of z + 3
# (cells of z + 3 are ≤ 8 px wide at zoom z, so the edge strips hold few places). At zoom 15
# a cell is about 300 m; windows of higher zooms hold few places and are scanned.
GRID_MAX_ZOOM = 15
SUB_LEVELS = 3
# Cell indices computed in Python (a window's corners) and in SQL (places) may differ in the
# last bits of the libm functions; the window's corners are snapped this far (in cells of
# z + 3) further inside, and the strips reach this far (in degrees) into the snapped region.
SNAP_GUARD_CELLS = 1e-6
STRIP_OVERLAP_DEG = 1e-7

logger = logging.getLogger(__name__)


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
    """The (ix, iy) cell of a WGS-84 point; the same arithmetic as the SQL of `cell_columns`."""
    return mercator.cell(lat, lon, cells_per_axis(zoom))


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

    cells = _aggregate_from_grid(session, view, datum_box, kinds, zoom)
    if cells is None:
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


def cell_columns(n: int) -> tuple[ColumnElement, ColumnElement]:
    """(ix, iy) of Place as SQL, the arithmetic of `cell_of` in the same order."""
    cells = float(n)
    limit = mercator.MERCATOR_MAX_LAT
    lat = case((Place.lat > limit, limit), (Place.lat < -limit, -limit), else_=Place.lat)
    phi = func.radians(lat)
    x = (Place.lon + 180.0) / 360.0 * cells
    # lon = 180 is the antimeridian again; keep it in the last column rather than one beyond.
    ix = case((x >= cells, cells - 1.0), else_=func.floor(x))
    iy = func.floor((1.0 - func.ln(func.tan(phi) + 1.0 / func.cos(phi)) / math.pi) / 2.0 * cells)
    return ix, iy


def _aggregate(session: Session, conditions: list[ColumnElement[bool]], n: int
               ) -> dict[CellKey, _Cell]:
    """Per-cell sums over the places matching `conditions`, computed by the database."""
    ix, iy = cell_columns(n)
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
    ix, iy = cell_columns(n)
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


@dataclass(frozen=True)
class _Snapped:
    """The cells of zoom z + 3 wholly inside the core box: columns x0..x1, rows y0..y1."""

    x0: int
    x1: int
    y0: int
    y1: int

    @staticmethod
    def inside(core: BBox, n: int) -> _Snapped | None:
        west_x, north_y = mercator.position(core.north, core.west, n)
        east_x, south_y = mercator.position(core.south, core.east, n)
        # A cell k spans [k, k + 1): wholly inside when west ≤ k and k + 1 ≤ east. Any place
        # in it then lies inside the core box: the arithmetic is monotonic in lat and lon.
        snapped = _Snapped(math.ceil(west_x + SNAP_GUARD_CELLS),
                           math.floor(east_x - SNAP_GUARD_CELLS) - 1,
                           math.ceil(north_y + SNAP_GUARD_CELLS),
                           math.floor(south_y - SNAP_GUARD_CELLS) - 1)
        return snapped if snapped.x0 <= snapped.x1 and snapped.y0 <= snapped.y1 else None

    def holds(self, x: int, y: int) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def box(self, n: int) -> BBox:
        """Its WGS-84 box (edges by the inverse projection)."""
        return BBox(mercator.lat_of_row_edge(self.y1 + 1, n),
                    mercator.lon_of_column_edge(self.x0, n),
                    mercator.lat_of_row_edge(self.y0, n),
                    mercator.lon_of_column_edge(self.x1 + 1, n))


def _grid_parts(snapped: _Snapped, kinds: tuple[str, ...] | None, zoom: int) -> list:
    """SELECTs of the grid rows inside the snapped region: its whole cells of `zoom` and its
    other cells of zoom + 3, as (part, ix, iy, count, sums…, first_id)."""
    step = 2**SUB_LEVELS
    # Whole cells of zoom z: columns px0..px1, rows py0..py1 (in cells of z).
    px0, px1 = -(-snapped.x0 // step), (snapped.x1 + 1) // step - 1
    py0, py1 = -(-snapped.y0 // step), (snapped.y1 + 1) // step - 1

    def part(tag: int, part_zoom: int, x0: int, x1: int, y0: int, y1: int):
        if x0 > x1 or y0 > y1:
            return None
        # Columns as an IN list and rows as a range: each column is one seek in the primary
        # key (zoom, ix, iy, kind), whatever the grid holds elsewhere.
        conditions = [PlaceGrid.zoom == part_zoom, PlaceGrid.ix.in_(range(x0, x1 + 1)),
                      PlaceGrid.iy.between(y0, y1)]
        if kinds is not None:
            conditions.append(PlaceGrid.kind.in_(kinds))
        return select(
            sql_literal(tag), PlaceGrid.ix, PlaceGrid.iy, PlaceGrid.count,
            PlaceGrid.lat_sum, PlaceGrid.lon_sum, PlaceGrid.south, PlaceGrid.west, PlaceGrid.north,
            PlaceGrid.east, PlaceGrid.first_id,
        ).where(*conditions)

    sub = zoom + SUB_LEVELS
    if px0 > px1 or py0 > py1:
        parts = [part(1, sub, snapped.x0, snapped.x1, snapped.y0, snapped.y1)]
    else:
        whole_x0, whole_x1 = px0 * step, (px1 + 1) * step - 1
        whole_y0, whole_y1 = py0 * step, (py1 + 1) * step - 1
        parts = [
            part(0, zoom, px0, px1, py0, py1),
            # the ring of finer cells around the whole ones: north, south, west, east
            part(1, sub, snapped.x0, snapped.x1, snapped.y0, whole_y0 - 1),
            part(1, sub, snapped.x0, snapped.x1, whole_y1 + 1, snapped.y1),
            part(1, sub, snapped.x0, whole_x0 - 1, whole_y0, whole_y1),
            part(1, sub, whole_x1 + 1, snapped.x1, whole_y0, whole_y1),
        ]
    return [p for p in parts if p is not None]


def spatial_prefilter(dialect: str, boxes: list[BBox]) -> ColumnElement[bool]:
    """Places possibly in any of `boxes`, found through the store's spatial index (the exact
    test is the caller's): both indexes round outwards."""
    params: dict[str, float] = {}
    for i, box in enumerate(boxes):
        params.update({f"s{i}": box.south, f"w{i}": box.west,
                       f"n{i}": box.north, f"e{i}": box.east})
    if dialect == "sqlite":
        ranges = " UNION ALL ".join(
            f"SELECT id FROM place_rtree WHERE min_lat <= :n{i} AND max_lat >= :s{i}"
            f" AND min_lon <= :e{i} AND max_lon >= :w{i}" for i in range(len(boxes))
        )
        return text(f"place.id IN ({ranges})").bindparams(**params)
    # The expression of the index ix_place_point (migration 0004), written the same way.
    point = "ST_SetSRID(ST_MakePoint(place.lon, place.lat), 4326)"
    return text("(" + " OR ".join(
        f"{point} && ST_MakeEnvelope(:w{i}, :s{i}, :e{i}, :n{i}, 4326)" for i in range(len(boxes))
    ) + ")").bindparams(**params)


def _aggregate_from_grid(
    session: Session, view: BBox, datum_box: DatumBox | None, kinds: tuple[str, ...] | None,
    zoom: int,
) -> dict[CellKey, _Cell] | None:
    """The cells of the window from `place_grid` and the places of its edge strips; None
    when the grid cannot answer (stale, or a zoom it does not reach)."""
    sub = zoom + SUB_LEVELS
    if sub > GRID_MAX_ZOOM:
        return None
    n_sub = cells_per_axis(sub)
    # core: certainly inside the window, so the grid may count it blindly; candidates: every
    # place possibly inside. For a GCJ-02/BD-09 box, the shrunk and the padded WGS-84 boxes.
    keep: Callable[[list], list[bool]] | None = None
    if datum_box is None:
        core: BBox | None = view
        candidates = view
    else:
        spread = DATUM_SHIFT_SPREAD_DEG
        core = _shrunk(view, spread)
        candidates = BBox(max(-90.0, view.south - spread), max(-180.0, view.west - spread),
                          min(90.0, view.north + spread), min(180.0, view.east + spread))

        def keep(rows: list) -> list[bool]:
            # As `_aggregate_datum_box`: inside the shrunk box without a test, else exactly.
            inside = datum_box.contains(np.array([r[4] for r in rows]),
                                        np.array([r[5] for r in rows])).tolist()
            return [ok or (core is not None and core.south <= r[4] <= core.north
                           and core.west <= r[5] <= core.east)
                    for r, ok in zip(rows, inside, strict=True)]

    snapped = _Snapped.inside(core, n_sub) if core is not None else None
    parts = _grid_parts(snapped, kinds, zoom) if snapped is not None else []
    if snapped is None:
        strips = [candidates]
    else:
        box, eps = snapped.box(n_sub), STRIP_OVERLAP_DEG
        c = candidates
        strips = [BBox(c.south, c.west, c.north, min(c.east, box.west + eps)),
                  BBox(c.south, max(c.west, box.east - eps), c.north, c.east),
                  BBox(max(c.south, box.north - eps), c.west, c.north, c.east),
                  BBox(c.south, c.west, min(c.north, box.south + eps), c.east)]
    ix, iy = cell_columns(n_sub)
    conditions = PlaceFilters(kinds=kinds, bbox=candidates).conditions()
    conditions.append(spatial_prefilter(session.get_bind().dialect.name, strips))
    # Each place of the strips as a one-place cell of zoom z + 3: its lat and lon are its sums
    # (columns 4 and 5) and its bounds.
    parts.append(select(sql_literal(2), ix, iy, sql_literal(1), Place.lat, Place.lon, Place.lat,
                        Place.lon, Place.lat, Place.lon, Place.id).where(*conditions))
    # The freshness in the same statement, so on PostgreSQL too the grid, the places and
    # the state are read in one snapshot.
    parts.append(select(sql_literal(3), sql_literal(0), sql_literal(0),
                        case((PlaceGridState.version == PlaceGridState.built_version, 1),
                             else_=0),
                        *[sql_literal(0.0)] * 6, sql_literal(0)))
    rows = session.execute(union_all(*parts)).all()
    if not any(row[0] == 3 and row[3] == 1 for row in rows):
        _log_stale()
        return None
    _GridLog.stale_logged = False

    cells: dict[CellKey, _Cell] = {}
    places = [row for row in rows
              if row[0] == 2 and (snapped is None or not snapped.holds(int(row[1]), int(row[2])))]
    if keep is not None and places:
        places = [row for row, ok in zip(places, keep(places), strict=True) if ok]
    for tag, x, y, count, lat_sum, lon_sum, south, west, north, east, first_id in rows:
        if tag in (0, 1):
            part = _Cell(int(count), lat_sum, lon_sum, south, west, north, east, int(first_id))
            key = (int(x), int(y)) if tag == 0 else (int(x) >> SUB_LEVELS, int(y) >> SUB_LEVELS)
            _merge_into(cells, key, part)
    for _, x, y, _, lat, lon, _, _, _, _, place_id in places:
        part = _Cell(1, lat, lon, lat, lon, lat, lon, int(place_id))
        _merge_into(cells, (int(x) >> SUB_LEVELS, int(y) >> SUB_LEVELS), part)
    return cells


def sql_literal(value: float) -> ColumnElement:
    """A constant written into the SQL: PostgreSQL must know the types of a UNION's columns,
    which a bound parameter would leave open."""
    return literal_column(repr(value))


def _merge_into(cells: dict[CellKey, _Cell], key: CellKey, part: _Cell) -> None:
    if key in cells:
        cells[key].merge(part)
    else:
        cells[key] = part


class _GridLog:
    stale_logged = False  # once per process while stale, not once per request


def _log_stale() -> None:
    if not _GridLog.stale_logged:
        _GridLog.stale_logged = True
        logger.warning("place_grid is stale (places written since its rebuild): mapClusters "
                       "scans places until `rebuild_place_grid` runs again")


def _shrunk(box: BBox, margin: float) -> BBox | None:
    if box.north - box.south <= 2 * margin or box.east - box.west <= 2 * margin:
        return None
    return BBox(box.south + margin, box.west + margin, box.north - margin, box.east - margin)
