"""Revisions and revert, and demo data that belongs to the editors once edited: `seed demo`'s
upsert (keep_edited) and item links never overwrite a place an editor changed or archived.
Both stores."""

from __future__ import annotations

from sqlalchemy import select

from backend.fixtures.demo_items import assign_demo_items
from backend.guidance.models import PlaceServiceItem
from backend.places.importing import upsert_places
from backend.places.models import Place, PlaceRevision
from backend.places.records import PlaceKind, PlaceRecord
from tests.booking.conftest import EDITOR, RESIDENT, World
from tests.helpers import operation, uow_of
from tests.places.editing_helpers import codes, create, payload, snapshot

ARCHIVE_PLACE = operation("ArchivePlace")
EDIT_PLACE = operation("EditPlace")
REVERT_PLACE = operation("RevertPlace")
SET_PLACE_SERVICE_ITEMS = operation("SetPlaceServiceItems")
UPDATE_PLACE = operation("UpdatePlace")


def _update(world: World, place_id: str, version: int, **input_) -> dict:  # noqa: ANN003
    result = payload(world, UPDATE_PLACE, {"id": place_id, "version": version,
                                            "input": input_}, EDITOR)
    assert result["errors"] == [], result
    return result["place"]


def _revert(world: World, place_id: str, to_version: int, version: int) -> dict:
    return payload(world, REVERT_PLACE, {"id": place_id, "toVersion": to_version,
                                          "version": version}, EDITOR)


def test_revert__to_an_earlier_version__values_back_as_a_new_revision(world: World):
    place = create(world, EDITOR)
    original = dict(place)
    moved = {"lat": place["location"]["lat"] + 0.003, "lon": place["location"]["lon"]}
    _update(world, place["id"], 1, name="改名后的养老院", phone="13812345678", location=moved)
    _update(world, place["id"], 2, availableBeds=3)

    result = _revert(world, place["id"], 1, 3)

    assert result["errors"] == []
    reverted = result["place"]
    assert reverted["version"] == 4
    assert (reverted["name"], reverted["phone"], reverted["location"]) == (
        original["name"], original["phone"], original["location"])
    form = payload(world, EDIT_PLACE, {"id": place["id"]}, EDITOR)
    assert form["elderlyCare"]["availableBeds"] == 30
    history = [e["node"] for e in form["revisions"]["edges"]]
    assert [(n["version"], n["action"]) for n in history] == [
        (4, "revert"), (3, "update"), (2, "update"), (1, "create")]
    assert {c["field"] for c in history[0]["changes"]} == {"location", "name", "phone",
                                                          "availableBeds"}


def test_revert__across_an_archive__restores_and_reopens(world: World):
    archived = payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 1,
                                               "reason": "搬迁"}, EDITOR)
    assert archived["place"]["archived"] is True
    result = _revert(world, str(world.hall_a), 1, 2)
    assert result["errors"] == [] and result["place"]["archived"] is False
    body = world.gql(operation("BookAppointment"), {
        "slotId": str(world.slots["a1-0900"]), "serviceItemId": str(world.item),
        "idempotencyKey": "revert-1"}, uid=RESIDENT)
    assert body["data"]["bookAppointment"]["errors"] == []


def test_revert__items__put_back(world: World):
    place = create(world, EDITOR)
    payload(world, SET_PLACE_SERVICE_ITEMS, {"id": place["id"], "version": 1,
                                            "serviceItemIds": [str(world.item)]}, EDITOR)
    result = _revert(world, place["id"], 1, 2)
    assert result["errors"] == []
    with world.session() as session:
        assert session.scalars(select(PlaceServiceItem).where(
            PlaceServiceItem.place_id == int(place["id"]))).all() == []


def test_revert__bad_versions__refused_nothing_written(world: World):
    place = create(world, EDITOR)
    _update(world, place["id"], 1, availableBeds=3)
    before = snapshot(world, int(place["id"]))
    for to_version, version, code in ((2, 2, "INVALID_INPUT"), (0, 2, "INVALID_INPUT"),
                                      (5, 2, "INVALID_INPUT"), (1, 1, "STALE_VERSION")):
        assert codes(_revert(world, place["id"], to_version, version)) == [code]
    assert snapshot(world, int(place["id"])) == before


def _records(beds: int) -> list[PlaceRecord]:
    return [PlaceRecord(kind=PlaceKind.ELDERLY_CARE, name=f"演示养老院 {n}", lat=30.2592 + n * 0.01,
                        lon=120.13, source="generated", external_id=f"demo-{n}", beds=beds,
                        available_beds=1, phone="0571-87654321") for n in range(3)]


def test_seed_demo__again__keeps_edited_and_archived_places(world: World):
    # given: three demo places, one edited and one archived by an editor
    with world.session() as session:
        upsert_places(uow_of(session), _records(beds=50))
        ids = session.scalars(select(Place.id).where(Place.source == "generated")
                              .order_by(Place.external_id)).all()
    edited, archived, untouched = (str(i) for i in ids)
    _update(world, edited, 1, availableBeds=9, name="编辑改过的名称")
    payload(world, ARCHIVE_PLACE, {"id": archived, "version": 1, "reason": "已关闭"}, EDITOR)
    payload(world, SET_PLACE_SERVICE_ITEMS, {"id": edited, "version": 2,
                                            "serviceItemIds": [str(world.other_item)]}, EDITOR)

    # when: the demo is seeded again with new generated values, links too
    with world.session() as session:
        result = upsert_places(uow_of(session), _records(beds=60), keep_edited=True)
        assign_demo_items(session)

    # then: the editor's places are as the editor left them, the other one follows the demo
    assert (result.updated, result.kept) == (1, 2)
    # and a seeding of other records (another cluster's) counts none of them as kept
    with world.session() as session:
        other = upsert_places(uow_of(session), _records(beds=60)[2:], keep_edited=True)
    assert (other.unchanged, other.kept) == (1, 0)
    with world.session() as session:
        rows = {str(p.id): p for p in session.scalars(select(Place).where(
            Place.source == "generated"))}
        links = session.scalars(select(PlaceServiceItem.service_item_id).where(
            PlaceServiceItem.place_id == int(edited))).all()
        revisions = session.scalars(select(PlaceRevision.place_id)).all()
    assert (rows[edited].name, rows[edited].available_beds, rows[edited].beds) == (
        "编辑改过的名称", 9, 50)
    assert rows[archived].archived is True and rows[archived].beds == 50
    assert rows[untouched].beds == 60
    assert links == [world.other_item]
    assert int(untouched) not in revisions
