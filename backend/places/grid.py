"""Building the map grid (`place_grid`) that `mapClusters` reads, and the SQLite math
functions its arithmetic needs where the linked SQLite lacks them."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable

from sqlalchemy import Engine, delete, event, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from backend.places.clusters import (
    ALL_KINDS,
    GRID_MAX_ZOOM,
    cell_columns,
    cell_of,
    cells_per_axis,
    spatial_prefilter,
    sql_literal,
)
from backend.places.models import Place, PlaceGrid, PlaceGridState
from geodata.geodesic import BBox
from geodata.mercator import lat_of_row_edge, lon_of_column_edge


def rebuild_place_grid(session: Session) -> int:
    """Recompute `place_grid` from `place` and mark it fresh; returns its number of rows.

    Zoom GRID_MAX_ZOOM is counted from the places with the arithmetic of `_aggregate`, its
    all-kinds rows (ALL_KINDS) from its per-kind rows; each coarser zoom from the next finer
    one, kind by kind and all kinds from all kinds (ix // 2, iy // 2: the same cell, since the
    finer position is the coarser one times two, exactly).
    """
    # The state row first: on PostgreSQL its lock makes place writers wait (their trigger
    # updates it), so no write can fall between what the grid reads and marking it built.
    session.execute(update(PlaceGridState).values(built_version=PlaceGridState.built_version))
    session.execute(delete(PlaceGrid))
    columns = ["zoom", "kind", "ix", "iy", "count", "lat_sum", "lon_sum", "south", "west",
               "north", "east", "first_id"]
    ix, iy = cell_columns(cells_per_axis(GRID_MAX_ZOOM))
    cells = select(ix.label("ix"), iy.label("iy"), Place.kind, Place.id, Place.lat,
                   Place.lon).where(Place.archived.is_(False)).subquery("cells")
    session.execute(insert(PlaceGrid).from_select(columns, select(
        sql_literal(GRID_MAX_ZOOM), cells.c.kind, cells.c.ix, cells.c.iy, func.count(),
        func.sum(cells.c.lat), func.sum(cells.c.lon), func.min(cells.c.lat),
        func.min(cells.c.lon), func.max(cells.c.lat), func.max(cells.c.lon), func.min(cells.c.id),
    ).group_by(cells.c.kind, cells.c.ix, cells.c.iy)))
    session.execute(insert(PlaceGrid).from_select(columns, _all_kinds_source()))
    for zoom in range(GRID_MAX_ZOOM - 1, -1, -1):
        finer = select(PlaceGrid.kind, (PlaceGrid.ix // 2).label("ix"),
                       (PlaceGrid.iy // 2).label("iy"), PlaceGrid.count, PlaceGrid.lat_sum,
                       PlaceGrid.lon_sum, PlaceGrid.south, PlaceGrid.west, PlaceGrid.north,
                       PlaceGrid.east, PlaceGrid.first_id,
                       ).where(PlaceGrid.zoom == zoom + 1).subquery("finer")
        session.execute(insert(PlaceGrid).from_select(columns, select(
            sql_literal(zoom), finer.c.kind, finer.c.ix, finer.c.iy,
            func.sum(finer.c.count), func.sum(finer.c.lat_sum), func.sum(finer.c.lon_sum),
            func.min(finer.c.south),
            func.min(finer.c.west), func.max(finer.c.north), func.max(finer.c.east),
            func.min(finer.c.first_id),
        ).group_by(finer.c.kind, finer.c.ix, finer.c.iy)))
    session.execute(update(PlaceGridState).values(built_version=PlaceGridState.version))
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, or the planner may read a window's columns (ix IN …) as a filter
        # over a whole zoom level instead of one index range per column.
        session.execute(text("ANALYZE place_grid"))
    return session.scalar(select(func.count()).select_from(PlaceGrid))


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


def init_engine(engine: Engine) -> None:
    """Give the engine's SQLite connections the math functions the grid SQL uses, when the
    linked SQLite lacks them (called by the composition root for the app's engine)."""
    if engine.dialect.name != "sqlite" or _sqlite_has_math_functions():
        return

    @event.listens_for(engine, "connect")
    def _sqlite_math_functions(dbapi_connection, _record) -> None:
        register_math_functions(dbapi_connection)


def lock_grid_state(session: Session) -> bool:
    """Take the grid state's lock (a write: SQLite's write lock, PostgreSQL's row lock) before
    writing a place's position, kind or archived flag; True when the grid is fresh, i.e. when
    `refresh_grid_cells` may keep it so."""
    session.execute(update(PlaceGridState).values(built_version=PlaceGridState.built_version))
    version, built = session.execute(
        select(PlaceGridState.version, PlaceGridState.built_version)).one()
    return version == built


def _all_kinds_source(*cell: int):  # noqa: ANN202
    """The all-kinds rows of zoom GRID_MAX_ZOOM summed from its per-kind rows: of every cell,
    or of the one cell (ix, iy) given."""
    conditions = [PlaceGrid.zoom == GRID_MAX_ZOOM, PlaceGrid.kind != ALL_KINDS]
    if cell:
        conditions += [PlaceGrid.ix == cell[0], PlaceGrid.iy == cell[1]]
    return select(
        sql_literal(GRID_MAX_ZOOM), sql_literal_text(ALL_KINDS), PlaceGrid.ix, PlaceGrid.iy,
        func.sum(PlaceGrid.count), func.sum(PlaceGrid.lat_sum), func.sum(PlaceGrid.lon_sum),
        func.min(PlaceGrid.south), func.min(PlaceGrid.west), func.max(PlaceGrid.north),
        func.max(PlaceGrid.east), func.min(PlaceGrid.first_id),
    ).where(*conditions).group_by(PlaceGrid.ix, PlaceGrid.iy)


def refresh_grid_cells(session: Session, points: Iterable[tuple[str, float, float]]) -> int:
    """Recount the grid cells holding these (kind, lat, lon) points at every zoom — a place's
    old and new position after an edit — and their all-kinds rows, and mark the grid fresh
    again. Only after `lock_grid_state` said it was fresh, in the same transaction. Returns
    statements sent."""
    keys = {(kind, *cell_of(lat, lon, GRID_MAX_ZOOM)) for kind, lat, lon in points}
    keys |= {(ALL_KINDS, x, y) for _, x, y in keys}
    columns = ["zoom", "kind", "ix", "iy", "count", "lat_sum", "lon_sum", "south", "west",
               "north", "east", "first_id"]
    n = cells_per_axis(GRID_MAX_ZOOM)
    ix, iy = cell_columns(n)
    sent = 0
    for zoom in range(GRID_MAX_ZOOM, -1, -1):
        # The per-kind rows first: at GRID_MAX_ZOOM the all-kinds row is summed from them.
        for kind, x, y in sorted(keys, key=lambda key: (key[0] == ALL_KINDS, key)):
            session.execute(delete(PlaceGrid).where(PlaceGrid.zoom == zoom, PlaceGrid.kind == kind,
                                                    PlaceGrid.ix == x, PlaceGrid.iy == y))
            if zoom == GRID_MAX_ZOOM and kind == ALL_KINDS:
                source = _all_kinds_source(x, y)
            elif zoom == GRID_MAX_ZOOM:
                # The cell's box, a hair wider: the index finds the candidates, the cell
                # arithmetic (the rebuild's) decides.
                pad = 1e-6
                box = BBox(lat_of_row_edge(y + 1, n) - pad, lon_of_column_edge(x, n) - pad,
                           lat_of_row_edge(y, n) + pad, lon_of_column_edge(x + 1, n) + pad)
                places = select(Place.id, Place.lat, Place.lon).where(
                    Place.kind == kind, Place.archived.is_(False), ix == x, iy == y,
                    spatial_prefilter(session.get_bind().dialect.name, [box])).subquery()
                source = select(
                    sql_literal(zoom), sql_literal_text(kind), sql_literal(x), sql_literal(y),
                    func.count(), func.sum(places.c.lat), func.sum(places.c.lon),
                    func.min(places.c.lat), func.min(places.c.lon), func.max(places.c.lat),
                    func.max(places.c.lon), func.min(places.c.id),
                ).having(func.count() > 0)
            else:
                source = select(
                    sql_literal(zoom), sql_literal_text(kind), sql_literal(x), sql_literal(y),
                    func.sum(PlaceGrid.count), func.sum(PlaceGrid.lat_sum),
                    func.sum(PlaceGrid.lon_sum), func.min(PlaceGrid.south),
                    func.min(PlaceGrid.west), func.max(PlaceGrid.north),
                    func.max(PlaceGrid.east), func.min(PlaceGrid.first_id),
                ).where(PlaceGrid.zoom == zoom + 1, PlaceGrid.kind == kind,
                        PlaceGrid.ix.in_((2 * x, 2 * x + 1)),
                        PlaceGrid.iy.in_((2 * y, 2 * y + 1))).having(func.count() > 0)
            session.execute(insert(PlaceGrid).from_select(columns, source))
            sent += 2
        keys = {(kind, x // 2, y // 2) for kind, x, y in keys}
    session.execute(update(PlaceGridState).values(built_version=PlaceGridState.version))
    return sent + 1


def sql_literal_text(value: str):  # noqa: ANN201
    """A text constant of a kind (an enum value: no quoting issue) with its type known."""
    return literal(value, type_=PlaceGrid.kind.type)
