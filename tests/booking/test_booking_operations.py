"""The documents of graphql/operations/ that the resident app and the consoles send, executed
as a day of use: a resident books, moves and cancels; staff keep their window; an editor adds a
window. Each document is checked for what its screen shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from backend.accounts.models import Account
from backend.booking.models import Appointment, Slot
from backend.core.clock import BUSINESS_TZ
from tests.booking.conftest import ADMIN, RESIDENT, STAFF, World
from tests.helpers import operation


def _data(body: dict) -> dict:
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_operations__resident_books_moves_and_cancels__screens_show_it(world: World):
    # given: the resident opens hall A's sheet
    hall = _data(world.gql(operation("PlaceWindows"), {"id": str(world.hall_a)}))["place"]
    windows = {window["id"]: window for window in hall["windows"]}
    assert set(windows) == {str(world.window_a1), str(world.window_a2)}
    assert str(world.item) in {item["id"] for item in windows[str(world.window_a1)]["serviceItems"]}
    # when: listing the slots of the whole hall for the item
    day = world.day.isoformat()
    slots = _data(world.gql(operation("AvailableSlots"), {
        "placeId": str(world.hall_a), "serviceItemId": str(world.item), "from": day, "to": day,
    }, uid=RESIDENT))["availableSlots"]
    # then: the three open slots of windows A1 and A2, in time order
    assert [slot["id"] for slot in slots] == [
        str(world.slots["a1-0900"]), str(world.slots["a2-0900"]), str(world.slots["a1-0930"])]
    assert {slot["remaining"] for slot in slots} == {2}

    # when: booking the first, then asking for the appointments
    booked = _data(world.gql(operation("BookAppointment"), {
        "slotId": slots[0]["id"], "serviceItemId": str(world.item), "idempotencyKey": "intent-1",
    }, uid=RESIDENT))["bookAppointment"]
    assert booked["errors"] == []
    card = booked["appointment"]
    assert card["status"] == "BOOKED" and len(card["code"]) == 8
    assert card["place"]["id"] == str(world.hall_a)
    assert card["calendarUrl"] == f"/m/v1/appointments/{card['id']}.ics"
    mine = _data(world.gql(operation("MyAppointments"), {}, uid=RESIDENT))["me"]
    assert mine["uid"] == RESIDENT and mine["roles"] == []
    assert [(a["id"], a["status"]) for a in mine["appointments"]] == [(card["id"], "BOOKED")]

    # when: moving it to 09:30, then cancelling
    moved = _data(world.gql(operation("RescheduleAppointment"), {
        "id": card["id"], "newSlotId": str(world.slots["a1-0930"])}, uid=RESIDENT)
    )["rescheduleAppointment"]
    assert moved["errors"] == []
    assert moved["appointment"]["slot"]["id"] == str(world.slots["a1-0930"])
    assert moved["appointment"]["code"] == card["code"]
    cancelled = _data(world.gql(operation("CancelAppointment"), {
        "id": card["id"], "reason": "行程有变"}, uid=RESIDENT))["cancelAppointment"]
    # then
    assert cancelled["errors"] == []
    assert cancelled["appointment"]["status"] == "CANCELLED"
    assert cancelled["appointment"]["cancelReason"] == "行程有变"
    assert world.slot(world.slots["a1-0900"]).booked == 0
    assert world.slot(world.slots["a1-0930"]).booked == 0
    kinds = [n.kind for n in world.notifications(uid=RESIDENT)]
    assert {"booking_confirmed", "booking_changed", "booking_cancelled"} <= set(kinds)


def _today_appointment(world: World, code: str, *, started: bool) -> int:
    """An appointment on today's slot (booking itself refuses times inside the cutoff)."""
    # Today in Beijing whatever the hour (check-in wants the appointment's own day): 00:00
    # has always started, 00:01 is a second slot of the same day.
    today = datetime.now(BUSINESS_TZ).date()
    slot_id = world.add_slot(world.window_a1, today, "00:00" if started else "00:01", minutes=1)
    with world.session() as session:
        session.add(Account(uid=RESIDENT))
        session.flush()
        appointment = Appointment(uid=RESIDENT, slot_id=slot_id, window_id=world.window_a1,
                                  service_item_id=world.item, day=today, status="booked",
                                  code=code, idempotency_key=code, revision=0)
        session.add(appointment)
        session.execute(update(Slot).where(Slot.id == slot_id).values(booked=1))
        session.flush()
        return appointment.id


def test_operations__staff_keep_their_window__consoles_show_it(world: World):
    day = world.day.isoformat()
    # given: a resident's booking at 09:00
    world.gql(operation("BookAppointment"), {
        "slotId": str(world.slots["a1-0900"]), "serviceItemId": str(world.item),
        "idempotencyKey": "k"}, uid=RESIDENT)
    # when: staff open the day view
    view = _data(world.gql(operation("WindowDay"), {"windowId": str(world.window_a1),
                                                    "date": day}, uid=STAFF))
    # then
    assert [a["status"] for a in view["windowAppointments"]] == ["BOOKED"]
    assert [(s["capacity"], s["booked"], s["remaining"], s["status"])
            for s in view["windowSlots"]] == [(2, 1, 1, "OPEN"), (2, 0, 2, "OPEN")]

    # when: capacity up, closing 09:30, closing the day
    capacity = _data(world.gql(operation("SetSlotCapacity"), {
        "slotId": str(world.slots["a1-0900"]), "capacity": 4}, uid=STAFF))["setSlotCapacity"]
    assert capacity["slot"]["remaining"] == 3
    closed = _data(world.gql(operation("CloseSlot"), {
        "slotId": str(world.slots["a1-0930"]), "reason": "设备维护"}, uid=STAFF))["closeSlot"]
    assert closed["slot"]["status"] == "CLOSED"
    day_closed = _data(world.gql(operation("CloseDay"), {
        "windowId": str(world.window_a1), "date": day, "reason": "停电"}, uid=STAFF))["closeDay"]
    assert {s["status"] for s in day_closed["slots"]} == {"CLOSED"}
    assert world.appointments(uid=RESIDENT)[0].status == "cancelled"
    # when: adding a Saturday morning template, reading the schedule, generating 30 days
    # (regeneration removes free slots no template wants; the closed ones stay)
    template = _data(world.gql(operation("UpsertScheduleTemplate"), {
        "windowId": str(world.window_a1), "weekday": 6, "start": "09:00", "end": "11:00",
        "slotMinutes": 30, "capacity": 3}, uid=STAFF))["upsertScheduleTemplate"]
    assert template["errors"] == [] and template["template"]["slotMinutes"] == 30
    schedule = _data(world.gql(operation("WindowSchedule"), {"windowId": str(world.window_a1)},
                               uid=STAFF))["window"]["scheduleTemplates"]
    assert [(t["weekday"], t["start"], t["end"]) for t in schedule] == [(6, "09:00", "11:00")]
    start = datetime.now(BUSINESS_TZ).date()
    generated = _data(world.gql(operation("GenerateSlots"), {
        "windowId": str(world.window_a1), "from": start.isoformat(),
        "to": (start + timedelta(days=30)).isoformat()}, uid=STAFF))["generateSlots"]
    assert generated["errors"] == []
    saturdays = sum(1 for n in range(31) if (start + timedelta(days=n)).isoweekday() == 6)
    assert 0 < generated["created"] + template["generated"]["created"] <= saturdays * 4

    deleted = _data(world.gql(operation("DeleteScheduleTemplate"), {
        "id": template["template"]["id"]}, uid=STAFF))["deleteScheduleTemplate"]
    assert deleted["errors"] == [] and deleted["generated"]["removed"] > 0


def test_operations__check_in_no_show_complete__statuses_follow(world: World):
    # given: an appointment today
    upcoming = _today_appointment(world, "7K3M9QXR", started=False)
    # when: the resident shows the code, staff check in and complete
    checked = _data(world.gql(operation("CheckIn"), {"code": "7k3m-9qxr"}, uid=STAFF))["checkIn"]
    assert checked["errors"] == [] and checked["appointment"]["status"] == "CHECKED_IN"
    done = _data(world.gql(operation("CompleteAppointment"), {"appointmentId": str(upcoming)},
                           uid=STAFF))["completeAppointment"]
    assert done["appointment"]["status"] == "COMPLETED"
    # when: another resident's appointment has started without them
    late = _today_appointment_other(world)
    missed = _data(world.gql(operation("MarkNoShow"), {"appointmentId": str(late)},
                             uid=STAFF))["markNoShow"]
    # then
    assert missed["errors"] == [] and missed["appointment"]["status"] == "NO_SHOW"


def _today_appointment_other(world: World) -> int:
    now = datetime.now(BUSINESS_TZ)
    slot_id = world.add_slot(world.window_a1, now.date(), "00:00", minutes=1)
    with world.session() as session:
        session.add(Account(uid="resident-late"))
        session.flush()
        appointment = Appointment(uid="resident-late", slot_id=slot_id,
                                  window_id=world.window_a1, service_item_id=world.item,
                                  day=now.date(), status="booked", code="LATE0001",
                                  idempotency_key="late", revision=0)
        session.add(appointment)
        session.execute(update(Slot).where(Slot.id == slot_id).values(booked=1))
        session.flush()
        return appointment.id


def test_operations__editor_adds_a_window__hall_lists_it(world: World):
    # when: an admin adds a window handling one item at hall B
    added = _data(world.gql(operation("UpsertWindow"), {
        "placeId": str(world.hall_b), "name": "社保医保窗口",
        "serviceItemIds": [str(world.other_item)]}, uid=ADMIN))["upsertWindow"]
    # then
    assert added["errors"] == []
    assert added["window"]["serviceItems"] == [{"id": str(world.other_item)}]
    hall = _data(world.gql(operation("PlaceWindows"), {"id": str(world.hall_b)}))["place"]
    assert "社保医保窗口" in {window["name"] for window in hall["windows"]}
