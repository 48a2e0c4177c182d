"""The Alembic history builds exactly the tables the models describe, on both stores."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from backend.db import MIGRATIONS_DIR, Base, migration_head, migration_status

# Spatial and text indexes are store-specific and live only in the migrations, not the models.
STORE_ONLY_TABLES = {"place_rtree", "place_rtree_node", "place_rtree_parent", "place_rtree_rowid",
                     "spatial_ref_sys"} | {
    f"{table}_fts{suffix}" for table in ("place", "service_item")
    for suffix in ("", "_data", "_idx", "_docsize", "_config")
}
STORE_ONLY_COLUMNS = {"geog", "search_vector"}
STORE_ONLY_INDEXES = {"ix_place_geog", "ix_place_point", "ix_place_search_vector",
                      "ix_service_item_search_vector"}


def _relevant(diff) -> bool:  # noqa: ANN001
    kind = diff[0] if isinstance(diff, tuple) else diff[0][0]
    if kind == "remove_table":
        return diff[1].name not in STORE_ONLY_TABLES
    if kind == "remove_column":
        return diff[3].name not in STORE_ONLY_COLUMNS
    if kind == "remove_index":
        return diff[1].name not in STORE_ONLY_INDEXES
    return True


def test_migrations__head__matches_models(scratch_app):
    engine = scratch_app.extensions["servicemap"].engine
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _relevant(d)] == [], diffs


def test_migrations__head__is_current_and_spatial_index_exists(scratch_app):
    engine = scratch_app.extensions["servicemap"].engine
    current, head = migration_status(engine)
    assert current == head == "0011"
    tables = set(inspect(engine).get_table_names())
    if engine.dialect.name == "sqlite":
        assert {"place_rtree", "place_fts", "service_item_fts"} <= tables
    else:
        indexes = {index["name"] for index in inspect(engine).get_indexes("place")}
        assert {"ix_place_geog", "ix_place_search_vector"} <= indexes


def test_migration_0002__places_loaded_before__become_searchable(database_factory, store_name):
    # given: a database at 0001 holding a place
    from sqlalchemy import text

    from backend.app import create_app
    from backend.config import Settings
    from backend.db import upgrade

    app = create_app(Settings(database_url=database_factory(store_name), app_env="test"))
    engine = app.extensions["servicemap"].engine
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO place (kind, name, address, lat, lon, source, external_id,"
            " created_at, updated_at) VALUES ('SERVICE_HALL', '西湖区政务服务中心',"
            " '杭州市西湖区文三路1号', 30.27, 120.13, 'test', 'x1', :now, :now)"
        ), {"now": "2026-11-22T00:00:00+00:00"})
    # when
    upgrade(engine)
    # then: its tokens are indexed by the store's text index
    client = app.test_client()
    body = client.post("/graphql", json={
        "query": '{ places(text: "xihu zwfw") { edges { node { name } } } }'}).get_json()
    assert body == {"data": {"places": {"edges": [{"node": {"name": "西湖区政务服务中心"}}]}}}
    engine.dispose()


def test_migration_0011__fresh_grid_of_0010__gets_all_kinds_rows_and_stays_fresh(
    database_factory, store_name
):
    # given: a database at 0010 with places and a fresh grid of per-kind rows only
    from sqlalchemy import delete

    from backend.app import create_app
    from backend.config import Settings
    from backend.db import session_scope, upgrade
    from backend.places.clusters import ALL_KINDS
    from backend.places.grid import rebuild_place_grid
    from backend.places.importing import upsert_places
    from backend.places.models import PlaceGrid, PlaceGridState
    from backend.places.records import PlaceKind, PlaceRecord
    from tests.helpers import uow_of
    from tests.places.grid_helpers import assert_all_kinds_rows_sum_kinds, grid_rows

    app = create_app(Settings(database_url=database_factory(store_name), app_env="test"))
    engine = app.extensions["servicemap"].engine
    upgrade(engine, "0010")
    factory = app.extensions["servicemap"].session_factory
    kinds = list(PlaceKind)
    records = [PlaceRecord(kind=kinds[n % 3], name=f"网格{n}", lat=31.2 + 0.0007 * (n % 37),
                           lon=121.4 + 0.0011 * (n % 53), source="test", external_id=f"g{n}")
               for n in range(300)]
    with session_scope(factory) as session:
        upsert_places(uow_of(session), records)
        rebuild_place_grid(session)
        session.execute(delete(PlaceGrid).where(PlaceGrid.kind == ALL_KINDS))  # as 0010 built it
    # when
    upgrade(engine)
    # then: the all-kinds rows are those a rebuild makes, and the grid is still fresh
    with session_scope(factory) as session:
        state = session.get(PlaceGridState, 1)
        assert state.version == state.built_version
        migrated = grid_rows(session)
        assert_all_kinds_rows_sum_kinds(session)
        assert sum(row[3] == ALL_KINDS for row in migrated) > 100
        rebuild_place_grid(session)
        assert migrated == grid_rows(session)
    engine.dispose()


def test_migration_head__is_alembics_head() -> None:
    # /readyz reads the head from the revision files, without importing alembic
    assert migration_head() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _revision(directory, name: str, down: str) -> None:  # noqa: ANN001
    (directory / f"{name}.py").write_text(
        f'"""{name}"""\nrevision = "{name}"\ndown_revision: object = {down}\n')


def test_migration_head__after_a_merge__the_merge(tmp_path) -> None:  # noqa: ANN001
    _revision(tmp_path, "a", "None")
    _revision(tmp_path, "b", '"a"')
    _revision(tmp_path, "c", '"a"')
    _revision(tmp_path, "m", '("b", "c")')

    assert migration_head(tmp_path) == "m"


def test_migration_head__two_heads__refused(tmp_path) -> None:  # noqa: ANN001
    _revision(tmp_path, "a", "None")
    _revision(tmp_path, "b", '"a"')
    _revision(tmp_path, "c", '"a"')

    with pytest.raises(RuntimeError, match="exactly one head"):
        migration_head(tmp_path)
