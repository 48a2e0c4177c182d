"""The Alembic history builds exactly the tables the models describe, on both stores."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from backend.db import Base, migration_status

# Spatial indexes are store-specific and live only in the migration, not in the models.
STORE_ONLY_TABLES = {"place_rtree", "place_rtree_node", "place_rtree_parent", "place_rtree_rowid",
                     "spatial_ref_sys"}


def _relevant(diff) -> bool:  # noqa: ANN001
    kind = diff[0] if isinstance(diff, tuple) else diff[0][0]
    if kind == "remove_table":
        return diff[1].name not in STORE_ONLY_TABLES
    if kind == "remove_column":
        return diff[3].name != "geog"
    if kind == "remove_index":
        return diff[1].name != "ix_place_geog"
    return True


def test_migrations__head__matches_models(scratch_app):
    engine = scratch_app.extensions["servicemap"].engine
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _relevant(d)] == [], diffs


def test_migrations__head__is_current_and_spatial_index_exists(scratch_app):
    engine = scratch_app.extensions["servicemap"].engine
    current, head = migration_status(engine)
    assert current == head == "0001"
    tables = set(inspect(engine).get_table_names())
    if engine.dialect.name == "sqlite":
        assert "place_rtree" in tables
    else:
        indexes = {index["name"] for index in inspect(engine).get_indexes("place")}
        assert "ix_place_geog" in indexes
