"""Map clusters: the places in a map window counted per cell of a Web Mercator grid.

The grid has cells of 64 px on 256-px tiles, i.e. 4·2^zoom cells per axis, anchored at the
world origin, so a place stays in the same cell while the user pans and clusters do not jump.
Counting happens in SQL (GROUP BY cell), so a million places never travel to Python; the same
statement runs on SQLite (≥ 3.35, math functions) and PostgreSQL.

Counting every place of a window costs as much as the window holds (600k rows for a city at
zoom 8 among a million places), so `place_grid` keeps the same sums per cell for zoom 0 to
GRID_MAX_ZOOM, per kind and for all kinds (ALL_KINDS: one row per cell when no kinds are asked
for, the map's default), rebuilt after bulk loads and kept by place edits. A window then reads
the cells it covers whole from the grid: whole cells of its zoom, a ring of cells three zooms
finer (8 × 8 per cell) along its edges, and a ring of cells six zooms finer (1 px at the
window's zoom) along those. Only the places in the thin strips between the finest ring and the
window's edges are read one by one (`grid_boxes` splits the window; each cell is read at
exactly one level). The database sums grid rows and strip places per cell of the window's zoom,
so one row per cluster travels (JSON-1 `json_each`, SQLite ≥ 3.38, lists a ring's columns).
Every cell index, of the grid and of those places, comes from the same SQL arithmetic
(`cell_columns`): a finer index is the coarser one times a power of two, exactly, so the answer
is the scan's (up to the order in which the database adds the coordinates). A place written
after the rebuild makes the grid stale (triggers, see migration 0004) and the scan answers
until the next rebuild.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ARRAY,
    Integer,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
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
# The grid keeps zoom 0 to GRID_MAX_ZOOM; a window at zoom z reads cells of z, a ring of cells
# of z + 3 around them and a ring of z + 6 (capped at GRID_MAX_ZOOM) around those: cells of
# z + 6 are 1 px wide at zoom z, so the edge strips left to count place by place are thin even
# where places are dense. At zoom 15 a cell is about 300 m; windows of zoom 13 and higher
# (z + 3 beyond the grid) hold few places and are scanned.
GRID_MAX_ZOOM = 15
EDGE_LEVELS = (3, 6)
# The `kind` of a grid row that sums every kind of its cell: the map asks for all kinds by
# default, and one row per cell reads a third of the rows of one per kind (not a PlaceKind, so
# no filter by kinds can match it).
ALL_KINDS = "*"
# Row tags of the grid statement: a cell's sums, a place near a datum box's edge, the state.
CELL_ROW, PLACE_ROW, STATE_ROW = 0, 1, 2
# Cell indices computed in Python (a window's corners) and in SQL (places) may differ in the
# last bits of the libm functions; the window's corners are snapped this far (in cells of
# the finest level) further inside, and the strips reach this far (in degrees) into the
# snapped region.
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
        inside = datum_box.holds([r[3] for r in rows], [r[4] for r in rows])
        for (x, y, place_id, lat, lon), keep in zip(rows, inside, strict=True):
            if keep:
                part = _Cell(1, lat, lon, lat, lon, lat, lon, int(place_id))
                key = (int(x), int(y))
                if key in cells:
                    cells[key].merge(part)
                else:
                    cells[key] = part
    return cells


@dataclass(frozen=True)
class Snapped:
    """The cells of the finest grid level wholly inside the core box: columns x0..x1, rows
    y0..y1."""

    x0: int
    x1: int
    y0: int
    y1: int

    @staticmethod
    def inside(core: BBox, n: int) -> Snapped | None:
        west_x, north_y = mercator.position(core.north, core.west, n)
        east_x, south_y = mercator.position(core.south, core.east, n)
        # A cell k spans [k, k + 1): wholly inside when west ≤ k and k + 1 ≤ east. Any place
        # in it then lies inside the core box: the arithmetic is monotonic in lat and lon.
        snapped = Snapped(math.ceil(west_x + SNAP_GUARD_CELLS),
                           math.floor(east_x - SNAP_GUARD_CELLS) - 1,
                           math.ceil(north_y + SNAP_GUARD_CELLS),
                           math.floor(south_y - SNAP_GUARD_CELLS) - 1)
        return snapped if snapped.x0 <= snapped.x1 and snapped.y0 <= snapped.y1 else None

    def box(self, n: int) -> BBox:
        """Its WGS-84 box (edges by the inverse projection)."""
        return BBox(mercator.lat_of_row_edge(self.y1 + 1, n),
                    mercator.lon_of_column_edge(self.x0, n),
                    mercator.lat_of_row_edge(self.y0, n),
                    mercator.lon_of_column_edge(self.x1 + 1, n))


def grid_levels(zoom: int) -> tuple[int, ...] | None:
    """The grid zooms a window at `zoom` reads, coarse to fine: its own, then the finer ones
    of its edge rings (EDGE_LEVELS, the last capped at GRID_MAX_ZOOM); None when even the
    first ring is beyond the grid (the window is scanned)."""
    if zoom + EDGE_LEVELS[0] > GRID_MAX_ZOOM:
        return None
    return tuple(dict.fromkeys([zoom, *(min(zoom + step, GRID_MAX_ZOOM) for step in EDGE_LEVELS)]))


def grid_boxes(snapped: Snapped, levels: tuple[int, ...]) -> list[tuple[int, int, int, int, int]]:
    """The snapped region (in cells of the finest level) split into (level, x0, x1, y0, y1)
    boxes of grid cells, each cell in exactly one: the whole cells of the window's zoom
    there, then, level by level, the cells of each finer zoom that no coarser level covered
    (a ring around them, at most 2^step − 1 cells deep)."""
    finest = levels[-1]
    boxes = []
    inner = None  # the region the coarser levels covered, in cells of the previous level
    previous = levels[0]
    for level in levels:
        step = 2 ** (finest - level)
        # The whole cells of this level inside the snapped region (it is a union of them
        # at the finest level; at coarser ones it may hold none).
        x0, x1 = -(-snapped.x0 // step), (snapped.x1 + 1) // step - 1
        y0, y1 = -(-snapped.y0 // step), (snapped.y1 + 1) // step - 1
        if x0 > x1 or y0 > y1:
            previous = level
            continue
        if inner is None:
            boxes.append((level, x0, x1, y0, y1))
        else:
            # The coarser region in cells of this level; it lies within (x0..x1, y0..y1).
            scale = 2 ** (level - previous)
            ix0, ix1 = inner[0] * scale, (inner[1] + 1) * scale - 1
            iy0, iy1 = inner[2] * scale, (inner[3] + 1) * scale - 1
            boxes += [  # the ring around it: north, south, west, east
                (level, x0, x1, y0, iy0 - 1),
                (level, x0, x1, iy1 + 1, y1),
                (level, x0, ix0 - 1, iy0, iy1),
                (level, ix1 + 1, x1, iy0, iy1),
            ]
        inner, previous = (x0, x1, y0, y1), level
    return [box for box in boxes if box[1] <= box[2] and box[3] <= box[4]]


def _grid_parts(snapped: Snapped, kinds: tuple[str, ...] | None,
                levels: tuple[int, ...], dialect: str) -> list:
    """SELECTs of the grid rows of `grid_boxes`, as (ix, iy) of the window's zoom (a cell of
    zoom + k is in cell ix // 2^k: indices are never negative), count, sums…, first_id."""

    def part(i: int, level: int, x0: int, x1: int, y0: int, y1: int):
        # Columns as an IN list and rows as a range: each column is one seek in the primary
        # key (zoom, ix, iy, kind), whatever the grid holds elsewhere. A ring of the finest
        # level is hundreds of columns wide: one parameter (a PostgreSQL array for = ANY, a
        # JSON array for SQLite's json_each; the same index seeks) rather than hundreds of
        # parameters to expand, bind and parse (they cost more than the rows they find).
        columns = list(range(x0, x1 + 1))
        if dialect == "postgresql":
            column_test = PlaceGrid.ix == any_(literal(columns, ARRAY(Integer)))
        else:
            name = f"columns_{i}"  # by position: the same text, so the compiled form is reused
            column_test = text(f"place_grid.ix IN (SELECT value FROM json_each(:{name}))"
                               ).bindparams(**{name: json.dumps(columns)})
        conditions = [PlaceGrid.zoom == level, column_test, PlaceGrid.iy.between(y0, y1)]
        conditions.append(PlaceGrid.kind == ALL_KINDS if kinds is None
                          else PlaceGrid.kind.in_(kinds))
        k = 2 ** (level - levels[0])
        return select(
            (PlaceGrid.ix // k).label("ix"), (PlaceGrid.iy // k).label("iy"),
            PlaceGrid.count.label("count"), PlaceGrid.lat_sum.label("lat_sum"),
            PlaceGrid.lon_sum.label("lon_sum"), PlaceGrid.south.label("south"),
            PlaceGrid.west.label("west"), PlaceGrid.north.label("north"),
            PlaceGrid.east.label("east"), PlaceGrid.first_id.label("first_id"),
        ).where(*conditions)

    return [part(i, *box) for i, box in enumerate(grid_boxes(snapped, levels))]


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
    levels = grid_levels(zoom)
    if levels is None:
        return None
    finest = levels[-1]
    shift = finest - zoom
    n_sub = cells_per_axis(finest)
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
            # As `_aggregate_datum_box`: places outside the shrunk box are tested exactly.
            return datum_box.holds([r[4] for r in rows], [r[5] for r in rows])

    snapped = Snapped.inside(core, n_sub) if core is not None else None
    dialect = session.get_bind().dialect.name
    parts = _grid_parts(snapped, kinds, levels, dialect) if snapped is not None else []
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
    conditions.append(spatial_prefilter(dialect, strips))
    if snapped is not None:  # the grid counted the snapped region
        conditions.append(not_(and_(ix.between(snapped.x0, snapped.x1),
                                    iy.between(snapped.y0, snapped.y1))))
    # Places of the strips certainly inside the window join the grid's rows, one-place cells
    # of the finest level (lat and lon are their sums and bounds), so that the database sums
    # each cell of the window's zoom and only one row per cluster travels. Near the edges of a
    # GCJ-02/BD-09 box, places are read one by one and decided in Python (`keep`).
    k = 2 ** shift
    certain, tested = list(conditions), None  # places summed by the database / by Python
    if keep is not None:
        if core is None:
            certain, tested = None, list(conditions)
        else:
            in_core = and_(Place.lat.between(core.south, core.north),
                           Place.lon.between(core.west, core.east))
            certain, tested = [*conditions, in_core], [*conditions, not_(in_core)]
    if certain is not None:
        parts.append(select(
            (cast(ix, Integer) // k).label("ix"), (cast(iy, Integer) // k).label("iy"),
            sql_literal(1).label("count"), Place.lat.label("lat_sum"),
            Place.lon.label("lon_sum"), Place.lat.label("south"), Place.lon.label("west"),
            Place.lat.label("north"), Place.lon.label("east"), Place.id.label("first_id"),
        ).where(*certain))
    statements = []
    if parts:
        cell = union_all(*parts).subquery("cell")
        statements.append(select(
            sql_literal(CELL_ROW), cell.c.ix, cell.c.iy, func.sum(cell.c.count),
            func.sum(cell.c.lat_sum), func.sum(cell.c.lon_sum), func.min(cell.c.south),
            func.min(cell.c.west), func.max(cell.c.north), func.max(cell.c.east),
            func.min(cell.c.first_id),
        ).group_by(cell.c.ix, cell.c.iy))
    if tested is not None:
        statements.append(select(
            sql_literal(PLACE_ROW), cast(ix, Integer) // k, cast(iy, Integer) // k,
            sql_literal(1), Place.lat, Place.lon, Place.lat, Place.lon, Place.lat, Place.lon,
            Place.id,
        ).where(*tested))
    # The freshness in the same statement, so on PostgreSQL too the grid, the places and
    # the state are read in one snapshot.
    statements.append(select(sql_literal(STATE_ROW), sql_literal(0), sql_literal(0),
                             case((PlaceGridState.version == PlaceGridState.built_version, 1),
                                  else_=0),
                             *[sql_literal(0.0)] * 6, sql_literal(0)))
    rows = session.execute(union_all(*statements)).all()
    if not any(row[0] == STATE_ROW and row[3] == 1 for row in rows):
        _log_stale()
        return None
    _GridLog.stale_logged = False

    places = [row for row in rows if row[0] == PLACE_ROW]
    if places and keep is not None:
        rows = [row for row in rows if row[0] != PLACE_ROW]
        rows += [row for row, ok in zip(places, keep(places), strict=True) if ok]
    cells: dict[CellKey, _Cell] = {}
    for tag, x, y, count, lat_sum, lon_sum, south, west, north, east, first_id in rows:
        if tag != STATE_ROW:
            part = _Cell(int(count), lat_sum, lon_sum, south, west, north, east, int(first_id))
            _merge_into(cells, (int(x), int(y)), part)
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
