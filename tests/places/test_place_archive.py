"""Archiving a place takes it out of search, the map and booking: its future slots close, its
booked appointments are cancelled with the reason and the residents told through the outbox
(same transaction); restoring brings all of it back. Both stores."""

from __future__ import annotations

from sqlalchemy import select

from backend.booking.models import Slot
from backend.notify.outbox import BOOKING_CANCELLED
from tests.booking.conftest import EDITOR, RESIDENT, World
from tests.helpers import operation
from tests.places.editing_helpers import codes, payload, snapshot

ARCHIVE_PLACE = operation("ArchivePlace")
RESTORE_PLACE = operation("RestorePlace")

HALL_A = {"lat": 30.2741, "lon": 120.1551}
NEARBY = ("query($p: GeoPointInput!) { places(near: $p, radiusMeters: 500) "
          "{ edges { node { id } } } }")
CLUSTERS = {"bbox": {"south": 30.2, "west": 120.1, "north": 30.35, "east": 120.2}, "zoom": 10}


def _book(world: World, slot: str, key: str) -> dict:
    body = world.gql(operation("BookAppointment"), {
        "slotId": str(world.slots[slot]), "serviceItemId": str(world.item),
        "idempotencyKey": key}, uid=RESIDENT)
    return body["data"]["bookAppointment"]


def _nearby(world: World) -> list[str]:
    body = world.gql(NEARBY, {"p": HALL_A})
    return [e["node"]["id"] for e in body["data"]["places"]["edges"]]


def _clustered(world: World) -> int:
    body = world.gql(operation("MapClusters"), CLUSTERS)
    return sum(cluster["count"] for cluster in body["data"]["mapClusters"])


def _hall_a_slots(world: World) -> list[tuple[str, str | None]]:
    with world.session() as session:
        return [(s.status, s.closed_reason) for s in session.scalars(
            select(Slot).where(Slot.window_id.in_((world.window_a1, world.window_a2)))
            .order_by(Slot.id))]


def test_archive__cancels_appointments_notifies_and_leaves_search_map_booking(world: World):
    # given: a booked appointment at hall A, which search and the map show
    booked = _book(world, "a1-0900", "archive-1")
    assert booked["errors"] == []
    assert str(world.hall_a) in _nearby(world) and _clustered(world) == 1
    outbox_before = len(world.notifications(uid=RESIDENT))

    # when
    result = payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 1,
                                             "reason": "装修停业"}, EDITOR)

    # then: archived, with the reason and a new version
    assert result["errors"] == []
    assert (result["place"]["archived"], result["place"]["archivedReason"],
            result["place"]["version"]) == (True, "装修停业", 2)
    # the appointment is cancelled with the reason, the resident told urgently
    (appointment,) = world.appointments(id=int(booked["appointment"]["id"]))
    assert appointment.status == "cancelled" and "装修停业" in appointment.cancel_reason
    told = [n for n in world.notifications(uid=RESIDENT) if n.kind == BOOKING_CANCELLED]
    assert len(world.notifications(uid=RESIDENT)) > outbox_before
    assert len(told) == 1 and "装修停业" in told[0].body and told[0].is_urgent
    # every future slot of the hall is closed; search and the map no longer show it
    assert {status for status, _ in _hall_a_slots(world)} == {"closed"}
    assert str(world.hall_a) not in _nearby(world) and _clustered(world) == 0
    # and booking there is refused
    assert [e["code"] for e in _book(world, "a2-0900", "archive-2")["errors"]] == ["SLOT_CLOSED"]

    # when: restored
    restored = payload(world, RESTORE_PLACE, {"id": str(world.hall_a), "version": 2}, EDITOR)

    # then: back in search, the map and booking
    assert restored["errors"] == [] and restored["place"]["archived"] is False
    assert restored["place"]["version"] == 3
    assert {status for status, _ in _hall_a_slots(world)} == {"open"}
    assert str(world.hall_a) in _nearby(world) and _clustered(world) == 1
    assert _book(world, "a2-0900", "archive-3")["errors"] == []


def test_archive__slots_closed_by_staff__stay_closed_after_restore(world: World):
    with world.session() as session:
        slot = session.get(Slot, world.slots["a1-0930"])
        slot.status, slot.closed_reason = "closed", "窗口培训"
    payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 1, "reason": "搬迁"},
            EDITOR)
    payload(world, RESTORE_PLACE, {"id": str(world.hall_a), "version": 2}, EDITOR)
    assert ("closed", "窗口培训") in _hall_a_slots(world)


def test_archive__without_reason__refused_nothing_written(world: World):
    _book(world, "a1-0900", "archive-4")
    before = snapshot(world, world.hall_a)
    for reason in ("", "   ", "因" * 201):
        result = payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 1,
                                                 "reason": reason}, EDITOR)
        assert codes(result) == ["INVALID_INPUT"] and result["errors"][0]["field"] == "reason"
    assert snapshot(world, world.hall_a) == before
    assert [a.status for a in world.appointments()] == ["booked"]


def test_archive__twice_or_restore_live__refused(world: World):
    assert codes(payload(world, RESTORE_PLACE, {"id": str(world.hall_a), "version": 1},
                         EDITOR)) == ["NOT_ARCHIVED"]
    payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 1, "reason": "搬迁"},
            EDITOR)
    before = snapshot(world, world.hall_a)
    assert codes(payload(world, ARCHIVE_PLACE, {"id": str(world.hall_a), "version": 2,
                                                 "reason": "搬迁"}, EDITOR)) == ["ALREADY_ARCHIVED"]
    assert snapshot(world, world.hall_a) == before


def test_archive__unknown_place__not_found(world: World):
    for place_id in ("999999", "abc"):
        result = payload(world, ARCHIVE_PLACE, {"id": place_id, "version": 1, "reason": "x"},
                         EDITOR)
        assert codes(result) == ["NOT_FOUND"]
