"""Regions and places, with the spatial index of each store.

SQLite: an R*Tree virtual table kept in step with `place` by triggers.
PostgreSQL: PostGIS, a generated geography(Point, 4326) column and its GiST index.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_RTREE = [
    # R*Tree stores 32-bit floats rounded outwards, so it is a safe prefilter.
    "CREATE VIRTUAL TABLE place_rtree USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    """CREATE TRIGGER place_rtree_insert AFTER INSERT ON place BEGIN
         INSERT INTO place_rtree VALUES (new.id, new.lat, new.lat, new.lon, new.lon);
       END""",
    """CREATE TRIGGER place_rtree_update AFTER UPDATE OF lat, lon ON place BEGIN
         UPDATE place_rtree SET min_lat = new.lat, max_lat = new.lat,
                                min_lon = new.lon, max_lon = new.lon WHERE id = new.id;
       END""",
    """CREATE TRIGGER place_rtree_delete AFTER DELETE ON place BEGIN
         DELETE FROM place_rtree WHERE id = old.id;
       END""",
]

POSTGIS = [
    "CREATE EXTENSION IF NOT EXISTS postgis",
    """ALTER TABLE place ADD COLUMN geog geography(Point, 4326)
         GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED""",
    "CREATE INDEX ix_place_geog ON place USING gist (geog)",
]


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(12), sa.ForeignKey("region.code"), nullable=True),
        sa.Column("boundary_wkb", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_region"),
    )
    op.create_index("ix_region_level", "region", ["level"])
    op.create_index("ix_region_parent_code", "region", ["parent_code"])

    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300)),
        sa.Column("phone", sa.String(64)),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("county_code", sa.String(12), sa.ForeignKey("region.code")),
        sa.Column("city_code", sa.String(12), sa.ForeignKey("region.code")),
        sa.Column("province_code", sa.String(12), sa.ForeignKey("region.code")),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("clinic_level", sa.String(32)),
        sa.Column("cross_province_settlement", sa.Boolean()),
        sa.Column("beds", sa.Integer()),
        sa.Column("available_beds", sa.Integer()),
        sa.Column("accepts_non_local", sa.Boolean()),
        sa.Column("care_levels", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_place"),
        sa.UniqueConstraint("source", "external_id", name="uq_place_source_external_id"),
        sa.CheckConstraint("lat >= -90 AND lat <= 90", name="ck_place_lat_range"),
        sa.CheckConstraint("lon >= -180 AND lon <= 180", name="ck_place_lon_range"),
        sa.CheckConstraint(
            "available_beds IS NULL OR beds IS NULL"
            " OR (available_beds >= 0 AND available_beds <= beds)",
            name="ck_place_available_beds_range",
        ),
    )
    for column in ("kind", "county_code", "city_code", "province_code"):
        op.create_index(f"ix_place_{column}", "place", [column])

    statements = SQLITE_RTREE if op.get_bind().dialect.name == "sqlite" else POSTGIS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS place_rtree")
    op.drop_table("place")
    op.drop_table("region")
