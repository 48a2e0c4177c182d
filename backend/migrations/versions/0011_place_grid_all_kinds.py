"""The map grid's all-kinds rows: per cell and zoom, one row (kind '*') summing every kind.

mapClusters asks for all kinds by default and read one grid row per kind of each cell; it now
reads the cell's all-kinds row, a third of the rows. Filled here from the per-kind rows with the
arithmetic of `rebuild_place_grid` (zoom 15 from its per-kind rows, each coarser zoom from the
next finer all-kinds rows), so a fresh grid stays fresh; a stale one is rebuilt whole anyway.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen here: backend.places.clusters.ALL_KINDS and GRID_MAX_ZOOM at this revision.
ALL_KINDS = "*"
GRID_MAX_ZOOM = 15
SUMS = ("sum(count), sum(lat_sum), sum(lon_sum), min(south), min(west), max(north), max(east),"
        " min(first_id)")
COLUMNS = "zoom, kind, ix, iy, count, lat_sum, lon_sum, south, west, north, east, first_id"


def upgrade() -> None:
    op.execute(f"DELETE FROM place_grid WHERE kind = '{ALL_KINDS}'")
    op.execute(
        f"INSERT INTO place_grid ({COLUMNS}) SELECT {GRID_MAX_ZOOM}, '{ALL_KINDS}', ix, iy, {SUMS}"
        f" FROM place_grid WHERE zoom = {GRID_MAX_ZOOM} AND kind <> '{ALL_KINDS}'"
        " GROUP BY ix, iy")
    for zoom in range(GRID_MAX_ZOOM - 1, -1, -1):
        op.execute(
            f"INSERT INTO place_grid ({COLUMNS}) SELECT {zoom}, '{ALL_KINDS}', ix / 2, iy / 2,"
            f" {SUMS} FROM place_grid WHERE zoom = {zoom + 1} AND kind = '{ALL_KINDS}'"
            " GROUP BY ix / 2, iy / 2")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE place_grid")


def downgrade() -> None:
    op.execute(f"DELETE FROM place_grid WHERE kind = '{ALL_KINDS}'")
