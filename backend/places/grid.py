"""Building the map grid (`place_grid`) that `mapClusters` reads, and the SQLite math
functions its arithmetic needs where the linked SQLite lacks them."""

from __future__ import annotations

import math
import sqlite3

from sqlalchemy import Engine, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from backend.places.clusters import GRID_MAX_ZOOM, cell_columns, cells_per_axis, sql_literal
from backend.places.models import Place, PlaceGrid, PlaceGridState


def rebuild_place_grid(session: Session) -> int:
    """Recompute `place_grid` from `place` and mark it fresh; returns its number of rows.

    Zoom GRID_MAX_ZOOM is counted from the places with the arithmetic of `_aggregate`; each
    coarser zoom from the next finer one (ix // 2, iy // 2: the same cell, since the finer
    position is the coarser one times two, exactly).
    """
    # The state row first: on PostgreSQL its lock makes place writers wait (their trigger
    # updates it), so no write can fall between what the grid reads and marking it built.
    session.execute(update(PlaceGridState).values(built_version=PlaceGridState.built_version))
    session.execute(delete(PlaceGrid))
    columns = ["zoom", "kind", "ix", "iy", "count", "lat_sum", "lon_sum", "south", "west",
               "north", "east", "first_id"]
    ix, iy = cell_columns(cells_per_axis(GRID_MAX_ZOOM))
    cells = select(ix.label("ix"), iy.label("iy"), Place.kind, Place.id, Place.lat,
                   Place.lon).subquery("cells")
    session.execute(insert(PlaceGrid).from_select(columns, select(
        sql_literal(GRID_MAX_ZOOM), cells.c.kind, cells.c.ix, cells.c.iy, func.count(),
        func.sum(cells.c.lat), func.sum(cells.c.lon), func.min(cells.c.lat),
        func.min(cells.c.lon), func.max(cells.c.lat), func.max(cells.c.lon), func.min(cells.c.id),
    ).group_by(cells.c.kind, cells.c.ix, cells.c.iy)))
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
