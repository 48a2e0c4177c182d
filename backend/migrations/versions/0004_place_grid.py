"""The map-cluster grid: per-cell sums of places at zoom 0 to 15, and its freshness.

`place_grid` is derived data (`backend.places.grid.rebuild_place_grid`); `place_grid_state`
says whether it still describes `place`: triggers bump `version` on the first write to a place's
position or kind after a rebuild, and mapClusters reads the grid only while `version` equals
`built_version`. SQLite: row triggers. PostgreSQL: one statement-level trigger (a COPY of a
million places fires it once), and a GiST index on the planar point, so the few places near a
window's edges are found without scanning every place between its latitudes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Only the first write after a rebuild changes the row: later ones leave it (and its lock) alone.
BUMP = "UPDATE place_grid_state SET version = version + 1 WHERE version = built_version"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER place_grid_{name} AFTER {event} ON place BEGIN
          {BUMP};
        END"""
    for name, event in (("insert", "INSERT"), ("delete", "DELETE"),
                        ("update", "UPDATE OF lat, lon, kind"))
]

POSTGRES = [
    f"""CREATE FUNCTION place_grid_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {BUMP};
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER place_grid_touch
         AFTER INSERT OR DELETE OR UPDATE OF lat, lon, kind OR TRUNCATE ON place
         FOR EACH STATEMENT EXECUTE FUNCTION place_grid_touch()""",
    # Exact planar boxes in degrees (geography's boxes are geocentric): the prefilter of
    # mapClusters' edge strips; the expression must stay as clusters.py writes it.
    """CREATE INDEX ix_place_point ON place
         USING gist ((ST_SetSRID(ST_MakePoint(lon, lat), 4326)))""",
]


def upgrade() -> None:
    op.create_table(
        "place_grid",
        sa.Column("zoom", sa.Integer(), nullable=False),
        sa.Column("ix", sa.Integer(), nullable=False),
        sa.Column("iy", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("lat_sum", sa.Float(), nullable=False),
        sa.Column("lon_sum", sa.Float(), nullable=False),
        sa.Column("south", sa.Float(), nullable=False),
        sa.Column("west", sa.Float(), nullable=False),
        sa.Column("north", sa.Float(), nullable=False),
        sa.Column("east", sa.Float(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zoom", "ix", "iy", "kind", name="pk_place_grid"),
    )
    op.create_table(
        "place_grid_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_place_grid_state"),
        sa.CheckConstraint("id = 1", name="ck_place_grid_state_single_row"),
    )
    # Stale until the first rebuild: places loaded before this revision are not in the grid.
    op.execute("INSERT INTO place_grid_state (id, version, built_version) VALUES (1, 1, 0)")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS place_grid_{name}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_place_point")
        op.execute("DROP TRIGGER IF EXISTS place_grid_touch ON place")
        op.execute("DROP FUNCTION IF EXISTS place_grid_touch()")
    op.drop_table("place_grid_state")
    op.drop_table("place_grid")
