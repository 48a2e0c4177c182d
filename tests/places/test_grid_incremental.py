"""The map grid follows every edit cell by cell: after a create, a move, a change of kind, an
archive and a restore, `place_grid` stays fresh (mapClusters never falls back to the scan) and
holds what a full rebuild would. A change that does not touch position, kind or the archived
flag leaves the grid alone. Both stores."""

from __future__ import annotations

from sqlalchemy import select

from backend.places.grid import rebuild_place_grid
from backend.places.models import PlaceGridState
from tests.booking.conftest import EDITOR, World
from tests.helpers import operation
from tests.places.editing_helpers import XIHU_POINT, create, payload
from tests.places.grid_helpers import assert_all_kinds_rows_sum_kinds, grid_rows

UPDATE_PLACE = operation("UpdatePlace")


def _fresh_and_rebuilt(world: World) -> tuple[bool, list, list]:
    """Whether the grid is fresh, its rows, and the rows a full rebuild gives (rolled back);
    a fresh grid's all-kinds rows and the rebuild's are the sums of their per-kind rows."""
    session = world.services.session_factory()
    try:
        version, built = session.execute(select(PlaceGridState.version,
                                                PlaceGridState.built_version)).one()
        current = grid_rows(session)
        if version == built:
            assert_all_kinds_rows_sum_kinds(session)
        rebuild_place_grid(session)
        assert_all_kinds_rows_sum_kinds(session)
        return version == built, current, grid_rows(session)
    finally:
        session.rollback()
        session.close()


def _rebuild(world: World) -> None:
    with world.session() as session:
        rebuild_place_grid(session)


def _assert_grid_follows(world: World) -> None:
    fresh, current, rebuilt = _fresh_and_rebuilt(world)
    assert fresh
    assert current == rebuilt


def test_grid__every_kind_of_edit__stays_fresh_and_equals_a_rebuild(world: World):
    _rebuild(world)
    place = create(world, EDITOR)
    _assert_grid_follows(world)

    far = {"lat": XIHU_POINT["lat"] + 0.03, "lon": XIHU_POINT["lon"] - 0.02}
    moved = payload(world, UPDATE_PLACE, {"id": place["id"], "version": 1,
                                           "input": {"location": far},
                                           "acknowledge": ["LARGE_MOVE"]}, EDITOR)
    assert moved["errors"] == []
    _assert_grid_follows(world)

    kind = payload(world, UPDATE_PLACE, {"id": place["id"], "version": 2, "input": {
        "kind": "SERVICE_HALL"}}, EDITOR)
    assert kind["errors"] == [] and kind["place"]["elderlyCare"] is None
    _assert_grid_follows(world)
    for version, document, variables in (
            (3, operation("ArchivePlace"), {"reason": "合并"}),
            (4, operation("RestorePlace"), {})):
        result = payload(world, document, {"id": place["id"], "version": version, **variables},
                         EDITOR)
        assert result["errors"] == []
        _assert_grid_follows(world)
    # the hall A of the world, moved into the next county (拱墅区, with 2021 下城区 in it)
    hall = payload(world, UPDATE_PLACE, {"id": str(world.hall_a), "version": 1, "input": {
        "location": {"lat": 30.2745, "lon": 120.1555}, "regionCode": "330105"}}, EDITOR)
    assert hall["errors"] == []
    _assert_grid_follows(world)


def test_grid__stale_before_an_edit__left_stale(world: World):
    # the world's places were written without a rebuild: the grid is stale
    fresh, _, _ = _fresh_and_rebuilt(world)
    assert not fresh
    create(world, EDITOR)
    fresh, _, _ = _fresh_and_rebuilt(world)
    assert not fresh


def test_grid__beds_update__grid_untouched(world: World):
    place = create(world, EDITOR)
    _rebuild(world)
    with world.session() as session:
        state = session.execute(select(PlaceGridState.version,
                                       PlaceGridState.built_version)).one()
        rows = grid_rows(session)
    result = payload(world, UPDATE_PLACE, {"id": place["id"], "version": 1,
                                            "input": {"availableBeds": 3}}, EDITOR)
    assert result["errors"] == []
    with world.session() as session:
        assert session.execute(select(PlaceGridState.version,
                                      PlaceGridState.built_version)).one() == state
        assert grid_rows(session) == rows
