"""A hall's windows are known by (hall, name): `upsertWindow` without an id finds the window
of that name again (a resend never makes a twin, even when the twins race), a rename onto a
sibling's name is refused, and migration 0009 keeps windows already duplicated (renamed, not
deleted). On both stores."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, insert, select

from backend.booking.models import ServiceWindow, WindowServiceItem
from backend.core.clock import utcnow
from backend.db import upgrade
from backend.places.models import Place
from tests.booking.conftest import ADMIN, EDITOR, World
from tests.helpers import operation

RACERS = 8
UPSERT = operation("UpsertWindow")


def _upsert(world: World, uid: str = EDITOR, client=None, **variables) -> dict:  # noqa: ANN001, ANN003
    body = world.gql(UPSERT, {"placeId": str(world.hall_a), **variables}, uid=uid, client=client)
    assert "errors" not in body, body
    return body["data"]["upsertWindow"]


def _windows_named(world: World, name: str) -> list[ServiceWindow]:
    with world.session() as session:
        return list(session.scalars(select(ServiceWindow).where(
            ServiceWindow.place_id == world.hall_a, ServiceWindow.name == name)))


def _items_of(world: World, window_id: int) -> list[int]:
    with world.session() as session:
        return sorted(session.scalars(select(WindowServiceItem.service_item_id).where(
            WindowServiceItem.window_id == window_id)))


def test_window_key__resend_without_id__same_window_updated(world):
    # given: a window made once
    first = _upsert(world, name="综合窗口", serviceItemIds=[str(world.item)])
    # when: the same edit is sent again without its id, now with other items and inactive
    again = _upsert(world, name=" 综合窗口 ", serviceItemIds=[str(world.other_item)],
                    isActive=False)
    # then: one window of that name, changed by the resend
    assert first["errors"] == again["errors"] == []
    assert again["window"]["id"] == first["window"]["id"]
    assert again["window"]["isActive"] is False
    assert len(_windows_named(world, "综合窗口")) == 1
    assert _items_of(world, int(first["window"]["id"])) == [world.other_item]


def test_window_key__rename_onto_a_sibling__refused_nothing_written(world):
    # given: windows A1 and A2 of hall A
    with world.session() as session:
        a1_name = session.get(ServiceWindow, world.window_a1).name
    # when: A2 is renamed to A1's name
    result = _upsert(world, id=str(world.window_a2), name=a1_name,
                     serviceItemIds=[str(world.unhandled_item)])
    # then: INVALID_INPUT on name, A2 unchanged
    assert result["window"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "name")]
    assert "同名" in result["errors"][0]["message"] or a1_name in result["errors"][0]["message"]
    assert len(_windows_named(world, a1_name)) == 1
    assert _items_of(world, world.window_a2) == sorted([world.item, world.other_item])


def test_window_key__same_name_other_hall__another_window(world):
    # when: the admin gives hall B a window named like one of hall A
    with world.session() as session:
        a1_name = session.get(ServiceWindow, world.window_a1).name
    body = world.gql(UPSERT, {"placeId": str(world.hall_b), "name": a1_name,
                              "serviceItemIds": [str(world.item)]}, uid=ADMIN)
    # then: a new window of hall B (the key is hall + name)
    window = body["data"]["upsertWindow"]["window"]
    assert int(window["id"]) not in (world.window_a1, world.window_a2, world.window_b1)


def test_window_key__racing_resends__one_window(world):
    # given: RACERS clients ready to send the same new window at once
    barrier = threading.Barrier(RACERS, timeout=120)
    clients = [world.app.test_client() for _ in range(RACERS)]
    # the certificate cache warmed, so the barrier releases requests that meet in the database
    world.gql("{ me { uid } }", uid=EDITOR)

    def send(index: int) -> dict:
        barrier.wait()
        return _upsert(world, client=clients[index], name="加急窗口",
                       serviceItemIds=[str(world.item), str(world.other_item)])

    # when: they race
    with ThreadPoolExecutor(RACERS) as pool:
        results = list(pool.map(send, range(RACERS)))
    # then: every request answered the one window, which exists once with its items
    assert all(result["errors"] == [] for result in results), results
    ids = {result["window"]["id"] for result in results}
    assert len(ids) == 1
    assert len(_windows_named(world, "加急窗口")) == 1
    assert _items_of(world, int(ids.pop())) == sorted([world.item, world.other_item])


def test_migration_0009__existing_duplicates__renamed_kept_then_unique(
        store_name, database_factory):
    # given: a database at 0007 holding three windows of one name at one hall
    engine = create_engine(database_factory(store_name))
    try:
        upgrade(engine, "0007")
        with engine.begin() as connection:
            place_id = connection.execute(insert(Place.__table__).values(
                kind="SERVICE_HALL", name="大厅", lat=30.0, lon=120.0, source="test",
                external_id="x", version=1, archived=False, created_at=utcnow(),
                updated_at=utcnow()).returning(Place.id)).scalar_one()
            for name in ("综合窗口", "综合窗口", "综合窗口", "其他窗口"):
                connection.execute(insert(ServiceWindow.__table__).values(
                    place_id=place_id, name=name, is_active=True))
        # when: migrated to the head
        upgrade(engine)
        # then: every window kept, the later twins renamed with their id, the key unique
        with engine.begin() as connection:
            rows = connection.execute(select(ServiceWindow.id, ServiceWindow.name)
                                      .order_by(ServiceWindow.id)).all()
            assert [name for _, name in rows] == [
                "综合窗口", f"综合窗口（{rows[1][0]}）", f"综合窗口（{rows[2][0]}）", "其他窗口"]
        with pytest.raises(Exception, match="(?i)unique"), engine.begin() as connection:
            connection.execute(insert(ServiceWindow.__table__).values(
                place_id=place_id, name="其他窗口", is_active=True))
        with engine.begin() as connection:
            assert connection.execute(select(func.count()).select_from(ServiceWindow)).scalar() == 4
    finally:
        engine.dispose()
