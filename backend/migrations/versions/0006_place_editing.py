"""Editing places: optimistic versions, archiving, the revisions of every change, and the
geocoder's cache.

`place.version` starts at 1 and grows by one with every change (the editors' optimistic
concurrency); `place.archived` takes a place out of search, the map and booking without
deleting it. `place_revision` keeps who changed what, when and from where (the shape of Open
Referral HSDS `metadata`: field, previous and replacement value), one row per change.

`service_item_revision` keeps the changes of service items and their guides the same way.
`geocode_cache` keeps a geocoder's answer per (provider, query) for GEOCODER_CACHE_DAYS.

The map grid's freshness triggers (migration 0004) now fire on `archived` too: archiving moves
a place out of the grid as surely as a move does.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BUMP = "UPDATE place_grid_state SET version = version + 1 WHERE version = built_version"


def _grid_trigger(columns: str) -> list[str]:
    if op.get_bind().dialect.name == "sqlite":
        return ["DROP TRIGGER IF EXISTS place_grid_update",
                f"""CREATE TRIGGER place_grid_update AFTER UPDATE OF {columns} ON place BEGIN
                      {BUMP};
                    END"""]
    return ["DROP TRIGGER IF EXISTS place_grid_touch ON place",
            f"""CREATE TRIGGER place_grid_touch
                  AFTER INSERT OR DELETE OR UPDATE OF {columns} OR TRUNCATE ON place
                  FOR EACH STATEMENT EXECUTE FUNCTION place_grid_touch()"""]


def upgrade() -> None:
    # Plain ADD COLUMN on both stores: a batch (copy-and-move) would drop the R*Tree triggers.
    op.add_column("place", sa.Column("version", sa.Integer(), nullable=False,
                                     server_default="1"))
    op.add_column("place", sa.Column("archived", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("place", sa.Column("archived_reason", sa.String(200)))
    op.create_index("ix_place_archived", "place", ["archived"])
    op.create_table(
        "place_revision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("uid", sa.String(128), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_place_revision"),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE",
                                name="fk_place_revision_place_id_place"),
        sa.UniqueConstraint("place_id", "version", name="uq_place_revision_place_id_version"),
    )
    op.create_table(
        "service_item_revision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("service_item_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(128), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_item_revision"),
        sa.ForeignKeyConstraint(["service_item_id"], ["service_item.id"], ondelete="CASCADE",
                                name="fk_service_item_revision_service_item_id_service_item"),
    )
    op.create_index("ix_service_item_revision_service_item_id", "service_item_revision",
                    ["service_item_id"])
    op.create_table(
        "geocode_cache",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("query", sa.String(240), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_geocode_cache"),
        sa.UniqueConstraint("provider", "query", name="uq_geocode_cache_provider_query"),
    )
    for statement in _grid_trigger("lat, lon, kind, archived"):
        op.execute(statement)


def downgrade() -> None:
    for statement in _grid_trigger("lat, lon, kind"):
        op.execute(statement)
    op.drop_table("geocode_cache")
    op.drop_table("service_item_revision")
    op.drop_table("place_revision")
    op.drop_index("ix_place_archived", "place")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only when nothing refers to it; these have no index left.
        for column in ("archived_reason", "archived", "version"):
            op.execute(f"ALTER TABLE place DROP COLUMN {column}")
    else:
        for column in ("archived_reason", "archived", "version"):
            op.drop_column("place", column)
