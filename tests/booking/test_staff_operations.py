"""Window staff over HTTP GraphQL: close a slot or a day, change capacity, check residents in,
no-shows and completion, the day's list and the slots view; admins set up windows. Every
refusal is checked to have changed nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from backend.accounts.grants import principal_for
from backend.accounts.models import Account
from backend.booking import appointments
from backend.booking.models import Appointment, ServiceWindow, Slot, WindowServiceItem
from backend.core.clock import BUSINESS_TZ, as_utc
from backend.notify.models import Notification
from backend.places.models import Place
from tests.booking.conftest import (
    ADMIN,
    EDITOR,
    OTHER_RESIDENT,
    OTHER_STAFF,
    RESIDENT,
    STAFF,
    business_time,
)
from tests.helpers import uow_of

THIRD_RESIDENT = "resident-carol"

SLOT_FIELDS = "id capacity booked remaining status closedReason startsAt window { id }"
APPOINTMENT_FIELDS = "id status code cancelReason slot { id startsAt } serviceItem { id }"

CLOSE_SLOT = f"""
mutation($slot: ID!, $reason: String!) {{
  closeSlot(slotId: $slot, reason: $reason) {{ slot {{ {SLOT_FIELDS} }} errors {{ code field }} }}
}}"""

CLOSE_DAY = f"""
mutation($window: ID!, $date: Date!, $reason: String!) {{
  closeDay(windowId: $window, date: $date, reason: $reason) {{
    slots {{ {SLOT_FIELDS} }} errors {{ code field }}
  }}
}}"""

SET_CAPACITY = f"""
mutation($slot: ID!, $capacity: Int!) {{
  setSlotCapacity(slotId: $slot, capacity: $capacity) {{
    slot {{ {SLOT_FIELDS} }} errors {{ code field }}
  }}
}}"""

CHECK_IN = f"""
mutation($code: String!) {{
  checkIn(code: $code) {{ appointment {{ {APPOINTMENT_FIELDS} }} errors {{ code field }} }}
}}"""

NO_SHOW = f"""
mutation($id: ID!) {{
  markNoShow(appointmentId: $id) {{
    appointment {{ {APPOINTMENT_FIELDS} }} errors {{ code field }}
  }}
}}"""

COMPLETE = f"""
mutation($id: ID!) {{
  completeAppointment(appointmentId: $id) {{
    appointment {{ {APPOINTMENT_FIELDS} }} errors {{ code field }}
  }}
}}"""

WINDOW_APPOINTMENTS = f"""
query($window: ID!, $date: Date!) {{
  windowAppointments(windowId: $window, date: $date) {{ {APPOINTMENT_FIELDS} }}
}}"""

WINDOW_SLOTS = f"""
query($window: ID!, $from: Date!, $to: Date!) {{
  windowSlots(windowId: $window, from: $from, to: $to) {{ {SLOT_FIELDS} }}
}}"""

UPSERT_WINDOW = """
mutation($place: ID!, $name: String!, $items: [ID!]!, $id: ID, $active: Boolean) {
  upsertWindow(placeId: $place, name: $name, serviceItemIds: $items, id: $id,
               isActive: $active) {
    window { id name isActive place { id } serviceItems { id } }
    errors { code field }
  }
}"""

PLACE_WINDOWS = """
query($id: ID!) { place(id: $id) { id windows { id name serviceItems { id } } } }"""


# --- helpers ------------------------------------------------------------------------------

def today() -> date:
    return datetime.now(BUSINESS_TZ).date()


def state(world) -> dict:
    with world.session() as session:
        return {
            "slots": [tuple(row) for row in session.execute(
                select(Slot.id, Slot.window_id, Slot.day, Slot.capacity, Slot.booked,
                       Slot.status, Slot.closed_reason, Slot.is_manual).order_by(Slot.id))],
            "appointments": [tuple(row) for row in session.execute(
                select(Appointment.id, Appointment.uid, Appointment.slot_id, Appointment.status,
                       Appointment.code, Appointment.cancel_reason).order_by(Appointment.id))],
            "notifications": [tuple(row) for row in session.execute(
                select(Notification.id, Notification.dedupe_key, Notification.status)
                .order_by(Notification.id))],
            "windows": [tuple(row) for row in session.execute(
                select(ServiceWindow.id, ServiceWindow.place_id, ServiceWindow.name,
                       ServiceWindow.is_active).order_by(ServiceWindow.id))],
            "window_items": sorted(tuple(row) for row in session.execute(
                select(WindowServiceItem.window_id, WindowServiceItem.service_item_id))),
        }


def mutate(world, query: str, variables: dict, name: str, uid: str = STAFF) -> dict:
    body = world.gql(query, variables, uid=uid)
    assert "errors" not in body, body
    return body["data"][name]


def errors_of(payload: dict) -> list[tuple[str, str | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


def graphql_codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def book_ahead(world, slot_id: int, uid: str, key: str = "k") -> int:
    """Book through the domain three days before the slot, so both reminders are queued."""
    now = as_utc(world.slot(slot_id).starts_at) - timedelta(days=3)
    with world.session() as session:
        return appointments.book(uow_of(session), principal_for(session, uid), world.rules,
                                 slot_id=slot_id, service_item_id=world.item,
                                 idempotency_key=key, now=now).id


def add_appointment(world, slot_id: int, uid: str = RESIDENT, status: str = "booked",
                    code: str | None = None) -> int:
    """An appointment row written directly (booking refuses slots within the cutoff); active
    ones take a place in the slot."""
    with world.session() as session:
        if session.get(Account, uid) is None:
            session.add(Account(uid=uid))
            session.flush()
        slot = session.get(Slot, slot_id)
        number = session.scalar(select(Appointment.id).order_by(Appointment.id.desc())) or 0
        appointment = Appointment(uid=uid, slot_id=slot.id, window_id=slot.window_id,
                                  service_item_id=world.item, day=slot.day, status=status,
                                  code=code or f"Z{number + 1:07d}",
                                  idempotency_key=f"direct-{number + 1}", revision=0)
        session.add(appointment)
        if status in ("booked", "checked_in"):
            slot.booked += 1
        session.flush()
        return appointment.id


def status_of(world, appointment_id: int) -> str:
    (row,) = [a for a in world.appointments() if a.id == appointment_id]
    return row.status


@pytest.fixture
def today_slot(world) -> int:
    """A slot of window A1 today (Beijing) from 00:00: it has started, and today is its day."""
    return world.add_slot(world.window_a1, today(), "00:00", capacity=5)


# --- closeSlot --------------------------------------------------------------------------

def test_close_slot__with_reason__booked_cancelled_with_reason_residents_told_urgently(world):
    # given: a slot with two booked residents (reminders queued) and one already checked in
    slot_id = world.slots["a1-0900"]
    with world.session() as session:
        session.execute(update(Slot).where(Slot.id == slot_id).values(capacity=3))
    booked = {RESIDENT: book_ahead(world, slot_id, RESIDENT),
              OTHER_RESIDENT: book_ahead(world, slot_id, OTHER_RESIDENT)}
    checked_in = add_appointment(world, slot_id, THIRD_RESIDENT, "checked_in", "CHECKED1")
    others = [row for row in state(world)["slots"] if row[0] != slot_id]
    # when: the clerk closes the slot with a reason
    payload = mutate(world, CLOSE_SLOT, {"slot": str(slot_id), "reason": " 设备故障 "},
                     "closeSlot")
    # then: the slot is closed with no places left
    assert payload["errors"] == []
    assert {key: payload["slot"][key] for key in ("status", "remaining", "closedReason")} == {
        "status": "CLOSED", "remaining": 0, "closedReason": "设备故障"}
    slot = world.slot(slot_id)
    assert (slot.status, slot.booked, slot.is_manual) == ("closed", 1, True)
    # and: every booked appointment cancelled with that reason, its resident told urgently
    for uid, appointment_id in booked.items():
        (row,) = world.appointments(id=appointment_id)
        assert (row.status, row.cancel_reason) == ("cancelled", "设备故障")
        (notice,) = world.notifications(appointment_id=appointment_id, kind="booking_cancelled")
        assert notice.uid == uid and notice.is_urgent and "设备故障" in notice.body
        reminders = [n for n in world.notifications(appointment_id=appointment_id)
                     if n.kind.startswith("reminder_")]
        assert len(reminders) == 2 and {n.status for n in reminders} == {"dropped"}
    # and: the checked-in resident and every other slot untouched
    assert status_of(world, checked_in) == "checked_in"
    assert world.notifications(uid=THIRD_RESIDENT) == []
    assert [row for row in state(world)["slots"] if row[0] != slot_id] == others


@pytest.mark.parametrize("reason", ["", "   ", "长" * 201])
def test_close_slot__empty_or_too_long_reason__invalid_input_nothing_changed(world, reason):
    # given: a booked slot
    book_ahead(world, world.slots["a1-0900"], RESIDENT)
    before = state(world)
    # when: closing it without a (sensible) reason
    payload = mutate(world, CLOSE_SLOT, {"slot": str(world.slots["a1-0900"]), "reason": reason},
                     "closeSlot")
    # then: INVALID_INPUT on reason, nothing changed
    assert payload["slot"] is None
    assert errors_of(payload) == [("INVALID_INPUT", "reason")]
    assert state(world) == before


def test_close_slot__staff_of_another_window__forbidden_nothing_changed(world):
    # given: a booked slot of window A1
    book_ahead(world, world.slots["a1-0900"], RESIDENT)
    before = state(world)
    # when: the clerk of A2 closes it
    body = world.gql(CLOSE_SLOT, {"slot": str(world.slots["a1-0900"]), "reason": "x"},
                     uid=OTHER_STAFF)
    # then: FORBIDDEN, nothing changed
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


# --- closeDay ---------------------------------------------------------------------------

def test_close_day__window_and_day__all_its_slots_closed_others_untouched(world):
    # given: A1 has two slots on the day (one booked) and one the next day; A2 and B1 one each
    next_day = world.add_slot(world.window_a1, world.day + timedelta(days=1), "09:00")
    appointment_id = book_ahead(world, world.slots["a1-0930"], RESIDENT)
    before = state(world)
    closing = {world.slots["a1-0900"], world.slots["a1-0930"]}
    # when: the clerk closes A1 for the day
    payload = mutate(world, CLOSE_DAY, {"window": str(world.window_a1),
                                        "date": world.day.isoformat(), "reason": "培训"},
                     "closeDay")
    # then: exactly A1's slots of that day closed (listed by start), the booking cancelled
    assert payload["errors"] == []
    assert [slot["id"] for slot in payload["slots"]] == [
        str(world.slots["a1-0900"]), str(world.slots["a1-0930"])]
    assert all(slot["status"] == "CLOSED" and slot["remaining"] == 0
               and slot["closedReason"] == "培训" for slot in payload["slots"])
    after = state(world)
    for old, new in zip(before["slots"], after["slots"], strict=True):
        if old[0] in closing:
            assert (new[4], new[5], new[6]) == (0, "closed", "培训")
        else:
            assert new == old
    assert status_of(world, appointment_id) == "cancelled"
    assert world.slot(next_day).status == "open"


def test_close_day__day_without_slots__not_found_on_date_nothing_changed(world):
    # given: no slot of A1 two days after the world's day
    before = state(world)
    # when: closing that day
    payload = mutate(world, CLOSE_DAY, {"window": str(world.window_a1),
                                        "date": (world.day + timedelta(days=2)).isoformat(),
                                        "reason": "培训"}, "closeDay")
    # then: NOT_FOUND on date, nothing changed
    assert payload["slots"] == []
    assert errors_of(payload) == [("NOT_FOUND", "date")]
    assert state(world) == before


# --- setSlotCapacity --------------------------------------------------------------------

def test_set_slot_capacity__each_value__applied_or_refused_per_booked_and_range(world):
    # given: a slot of capacity 2 with both places booked
    slot_id = world.slots["a1-0900"]
    book_ahead(world, slot_id, RESIDENT)
    book_ahead(world, slot_id, OTHER_RESIDENT)
    for capacity in [3, 100, 2, -1, 101, 1, 0, 5]:
        before = state(world)
        old = world.slot(slot_id)
        # when: the clerk sets the capacity
        payload = mutate(world, SET_CAPACITY, {"slot": str(slot_id), "capacity": capacity},
                         "setSlotCapacity")
        # then: 0–100 and not below the 2 booked is applied (by hand); otherwise refused as is
        if not 0 <= capacity <= 100:
            assert errors_of(payload) == [("INVALID_INPUT", "capacity")], capacity
        elif capacity < 2:
            assert errors_of(payload) == [("CAPACITY_BELOW_BOOKED", "capacity")], capacity
        else:
            assert payload["errors"] == []
            assert (payload["slot"]["capacity"], payload["slot"]["booked"],
                    payload["slot"]["remaining"]) == (capacity, 2, capacity - 2)
            assert payload["slot"]["status"] == ("FULL" if capacity == 2 else "OPEN")
            slot = world.slot(slot_id)
            assert (slot.capacity, slot.is_manual) == (capacity, True)
            continue
        assert payload["slot"] is None
        assert state(world) == before
        assert world.slot(slot_id).capacity == old.capacity


def test_set_slot_capacity__free_slot_to_zero__accepted_and_no_longer_bookable(world):
    # when: the clerk sets a free slot's capacity to 0
    payload = mutate(world, SET_CAPACITY, {"slot": str(world.slots["a1-0900"]), "capacity": 0},
                     "setSlotCapacity")
    # then: capacity 0, shown as FULL with nothing remaining
    assert payload["errors"] == []
    assert (payload["slot"]["capacity"], payload["slot"]["remaining"],
            payload["slot"]["status"]) == (0, 0, "FULL")


# --- checkIn ----------------------------------------------------------------------------

@pytest.mark.parametrize("code, typed", [
    ("7K3M9QXR", "7K3M9QXR"), ("7K3M9QXR", "7k3m9qxr"), ("7K3M9QXR", "7k3m-9qxr"),
    ("7K3M9QXR", " 7K3M 9QXR "), ("A0B1C1D0", "aobicldo"),
])
def test_check_in__todays_code_as_typed__checked_in(world, today_slot, code, typed):
    # given: a booked appointment today
    appointment_id = add_appointment(world, today_slot, code=code)
    # when: the clerk enters the code as a resident shows or says it
    payload = mutate(world, CHECK_IN, {"code": typed}, "checkIn")
    # then: that appointment is checked in
    assert payload["errors"] == []
    assert (payload["appointment"]["id"], payload["appointment"]["status"],
            payload["appointment"]["code"]) == (str(appointment_id), "CHECKED_IN", code)
    assert status_of(world, appointment_id) == "checked_in"


def test_check_in__same_code_twice__same_appointment_no_error(world, today_slot):
    # given: an appointment checked in once
    appointment_id = add_appointment(world, today_slot, code="7K3M9QXR")
    first = mutate(world, CHECK_IN, {"code": "7K3M9QXR"}, "checkIn")
    before = state(world)
    # when: the code is scanned again
    again = mutate(world, CHECK_IN, {"code": "7k3m-9qxr"}, "checkIn")
    # then: the same answer, nothing changed
    assert again == first
    assert again["appointment"]["id"] == str(appointment_id)
    assert state(world) == before


def _other_day(world, today_slot):
    add_appointment(world, world.slots["a1-0900"], code="7K3M9QXR")
    return "7K3M9QXR"


def _cancelled(world, today_slot):
    add_appointment(world, today_slot, status="cancelled", code="7K3M9QXR")
    return "7K3M9QXR"


def _completed(world, today_slot):
    add_appointment(world, today_slot, status="completed", code="7K3M9QXR")
    return "7K3M9QXR"


@pytest.mark.parametrize("setup, code, field", [
    (lambda w, s: "ZZZZZZZZ", "NOT_FOUND", "code"),
    (lambda w, s: "", "NOT_FOUND", "code"),
    (_other_day, "WRONG_DAY", "code"),
    (_cancelled, "NOT_FOUND", "code"),
    (_completed, "NOT_FOUND", "code"),
], ids=["unknown", "empty", "other day", "cancelled", "completed"])
def test_check_in__refused_code__error_and_nothing_changed(world, today_slot, setup, code,
                                                           field):
    # given: the case's appointment (if any) and an unrelated one booked today
    add_appointment(world, today_slot, OTHER_RESIDENT, code="AAAAAAAA")
    typed = setup(world, today_slot)
    before = state(world)
    # when: the clerk enters the code
    payload = mutate(world, CHECK_IN, {"code": typed}, "checkIn")
    # then: refused with the code, nothing changed
    assert payload["appointment"] is None
    assert errors_of(payload) == [(code, field)]
    assert state(world) == before


def test_check_in__no_staff__forbidden_nothing_changed(world, today_slot):
    # given: an appointment today at A1
    add_appointment(world, today_slot, code="7K3M9QXR")
    before = state(world)
    # when: a resident enters its code
    body = world.gql(CHECK_IN, {"code": "7K3M9QXR"}, uid=RESIDENT)
    # then: FORBIDDEN, nothing changed
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


def test_check_in__staff_of_another_window__like_an_invalid_code_nothing_changed(
        world, today_slot):
    # given: an appointment today at A1
    add_appointment(world, today_slot, code="7K3M9QXR")
    before = state(world)
    # when: the clerk of A2 enters its code
    body = world.gql(CHECK_IN, {"code": "7K3M9QXR"}, uid=OTHER_STAFF)
    # then: the answer to a code that does not exist, nothing changed
    assert body == world.gql(CHECK_IN, {"code": "22222222"}, uid=OTHER_STAFF)
    assert [error["code"] for error in body["data"]["checkIn"]["errors"]] == ["NOT_FOUND"]
    assert state(world) == before


# --- markNoShow and completeAppointment -------------------------------------------------

def test_mark_no_show__before_the_start__too_early_nothing_changed(world):
    # given: an appointment on the world's day (not started yet)
    appointment_id = book_ahead(world, world.slots["a1-0900"], RESIDENT)
    before = state(world)
    # when: the clerk marks it a no-show
    payload = mutate(world, NO_SHOW, {"id": str(appointment_id)}, "markNoShow")
    # then: TOO_EARLY, nothing changed
    assert errors_of(payload) == [("TOO_EARLY", "appointmentId")]
    assert state(world) == before


def test_mark_no_show__after_the_start__no_show(world, today_slot):
    # given: a booked appointment of a slot that has started
    appointment_id = add_appointment(world, today_slot)
    # when: the clerk marks it a no-show
    payload = mutate(world, NO_SHOW, {"id": str(appointment_id)}, "markNoShow")
    # then: NO_SHOW
    assert payload["errors"] == []
    assert payload["appointment"]["status"] == "NO_SHOW"
    assert status_of(world, appointment_id) == "no_show"


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "completed", "no_show"])
def test_mark_no_show__not_booked__invalid_status_nothing_changed(world, today_slot, status):
    # given: a started appointment that is not (any more) booked
    appointment_id = add_appointment(world, today_slot, status=status)
    before = state(world)
    # when: marking it a no-show
    payload = mutate(world, NO_SHOW, {"id": str(appointment_id)}, "markNoShow")
    # then: INVALID_STATUS
    assert errors_of(payload) == [("INVALID_STATUS", "appointmentId")]
    assert state(world) == before


@pytest.mark.parametrize("status", ["booked", "checked_in", "cancelled", "completed",
                                    "no_show"])
def test_complete_appointment__each_status__only_from_checked_in(world, today_slot, status):
    # given: an appointment today in the status
    appointment_id = add_appointment(world, today_slot, status=status)
    before = state(world)
    # when: the clerk completes it
    payload = mutate(world, COMPLETE, {"id": str(appointment_id)}, "completeAppointment")
    # then: COMPLETED from CHECKED_IN; INVALID_STATUS and no change otherwise
    if status == "checked_in":
        assert payload["errors"] == []
        assert payload["appointment"]["status"] == "COMPLETED"
        assert status_of(world, appointment_id) == "completed"
    else:
        assert errors_of(payload) == [("INVALID_STATUS", "appointmentId")]
        assert state(world) == before


def test_check_in_then_complete__whole_visit__completed(world, today_slot):
    # given: a booked appointment today
    appointment_id = add_appointment(world, today_slot, code="7K3M9QXR")
    # when: checked in, then completed
    assert mutate(world, CHECK_IN, {"code": "7K3M9QXR"}, "checkIn")["errors"] == []
    payload = mutate(world, COMPLETE, {"id": str(appointment_id)}, "completeAppointment")
    # then: completed; the code no longer checks in
    assert payload["appointment"]["status"] == "COMPLETED"
    assert errors_of(mutate(world, CHECK_IN, {"code": "7K3M9QXR"}, "checkIn")) == [
        ("NOT_FOUND", "code")]


# --- windowAppointments / windowSlots ---------------------------------------------------

def test_window_appointments__date__that_days_appointments_of_the_window_by_start(world):
    # given: appointments at A1 on the day (in both slots, one cancelled), at A2 the same day
    # and at A1 the next day
    next_day_slot = world.add_slot(world.window_a1, world.day + timedelta(days=1), "08:00")
    add_appointment(world, world.slots["a1-0930"], RESIDENT)
    add_appointment(world, world.slots["a1-0900"], OTHER_RESIDENT)
    add_appointment(world, world.slots["a1-0900"], THIRD_RESIDENT, status="cancelled")
    add_appointment(world, world.slots["a2-0900"], RESIDENT)
    add_appointment(world, next_day_slot, RESIDENT)
    # when: the clerk of A1 lists the day
    body = world.gql(WINDOW_APPOINTMENTS, {"window": str(world.window_a1),
                                           "date": world.day.isoformat()}, uid=STAFF)
    # then: exactly A1's appointments of that day, by slot start then id, with their details
    assert "errors" not in body, body
    got = body["data"]["windowAppointments"]
    with world.session() as session:
        wanted = sorted(
            ((as_utc(slot.starts_at), appointment.id, appointment) for appointment, slot in
             session.execute(select(Appointment, Slot).join(Slot, Slot.id == Appointment.slot_id)
                             .where(Appointment.window_id == world.window_a1,
                                    Slot.day == world.day))),
            key=lambda row: row[:2])
    assert [(a["id"], a["status"], a["code"], a["serviceItem"]["id"], a["slot"]["id"])
            for a in got] == [
        (str(row.id), row.status.upper(), row.code, str(row.service_item_id), str(row.slot_id))
        for _, _, row in wanted]
    assert len(got) == 3 and got[-1]["slot"]["id"] == str(world.slots["a1-0930"])


def test_window_appointments__staff_of_another_window__forbidden(world):
    # when: the clerk of A2 asks for A1's day
    body = world.gql(WINDOW_APPOINTMENTS, {"window": str(world.window_a1),
                                           "date": world.day.isoformat()}, uid=OTHER_STAFF)
    # then: FORBIDDEN
    assert graphql_codes(body) == ["FORBIDDEN"]


def test_window_slots__range__every_slot_with_occupancy(world):
    # given: A1 slots full, closed, partly booked, free, and one outside the range
    add_appointment(world, world.slots["a1-0900"], RESIDENT)
    add_appointment(world, world.slots["a1-0900"], OTHER_RESIDENT)
    with world.session() as session:
        session.execute(update(Slot).where(Slot.id == world.slots["a1-0930"])
                        .values(status="closed", closed_reason="停电", is_manual=True))
    partly = world.add_slot(world.window_a1, world.day + timedelta(days=1), "10:00", capacity=3)
    add_appointment(world, partly, RESIDENT)
    world.add_slot(world.window_a1, world.day + timedelta(days=1), "11:00", capacity=4)
    world.add_slot(world.window_a1, world.day + timedelta(days=3), "10:00")
    start, end = world.day, world.day + timedelta(days=2)
    # when: the clerk asks for the range
    body = world.gql(WINDOW_SLOTS, {"window": str(world.window_a1), "from": start.isoformat(),
                                    "to": end.isoformat()}, uid=STAFF)
    assert "errors" not in body, body
    got = body["data"]["windowSlots"]
    # then: every A1 slot in range, by start, with remaining and status as derived
    with world.session() as session:
        rows = sorted(session.scalars(select(Slot).where(Slot.window_id == world.window_a1,
                                                         Slot.day.between(start, end))),
                      key=lambda slot: as_utc(slot.starts_at))
    wanted = [{"id": str(slot.id), "capacity": slot.capacity, "booked": slot.booked,
               "remaining": 0 if slot.status == "closed" else slot.capacity - slot.booked,
               "status": "CLOSED" if slot.status == "closed"
               else "FULL" if slot.booked >= slot.capacity else "OPEN"} for slot in rows]
    assert [{key: slot[key] for key in wanted[0]} for slot in got] == wanted
    assert [slot["status"] for slot in got] == ["FULL", "CLOSED", "OPEN", "OPEN"]
    assert [slot["remaining"] for slot in got] == [0, 0, 2, 4]
    assert all(slot["window"]["id"] == str(world.window_a1) for slot in got)
    assert [datetime.fromisoformat(slot["startsAt"]).astimezone(UTC) for slot in got] == [
        as_utc(slot.starts_at) for slot in rows]
    assert got[0]["startsAt"] == business_time(world.day, "09:00").astimezone(
        BUSINESS_TZ).isoformat()


# --- upsertWindow -----------------------------------------------------------------------

def test_upsert_window__admin_for_a_hall__created_and_listed_on_the_place(world):
    # given: hall A with windows A1 and A2
    items = sorted([world.item, world.unhandled_item])
    # when: an admin adds a window handling two items
    payload = mutate(world, UPSERT_WINDOW, {"place": str(world.hall_a), "name": " 综合窗口 ",
                                            "items": [str(i) for i in items]},
                     "upsertWindow", uid=ADMIN)
    # then: the window, with its items, listed on the place after A1 and A2
    assert payload["errors"] == []
    window = payload["window"]
    assert (window["name"], window["isActive"], window["place"]["id"]) == (
        "综合窗口", True, str(world.hall_a))
    assert sorted(int(item["id"]) for item in window["serviceItems"]) == items
    body = world.gql(PLACE_WINDOWS, {"id": str(world.hall_a)})
    listed = body["data"]["place"]["windows"]
    assert [w["id"] for w in listed] == [str(world.window_a1), str(world.window_a2),
                                         window["id"]]
    assert sorted(int(item["id"]) for item in listed[-1]["serviceItems"]) == items
    assert listed[-1]["name"] == "综合窗口"


def test_upsert_window__editor_of_the_region__allowed_elsewhere_forbidden(world):
    # when: the Hangzhou editor adds a window to the Hangzhou hall, then to the Nanjing hall
    ok = mutate(world, UPSERT_WINDOW, {"place": str(world.hall_a), "name": "新窗口",
                                       "items": [str(world.item)]}, "upsertWindow", uid=EDITOR)
    before = state(world)
    body = world.gql(UPSERT_WINDOW, {"place": str(world.hall_b), "name": "新窗口",
                                     "items": [str(world.item)]}, uid=EDITOR)
    # then: allowed in their region, FORBIDDEN outside it
    assert ok["errors"] == []
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


@pytest.fixture
def clinic(world) -> int:
    with world.session() as session:
        place = Place(kind="CLINIC", name="西湖区社区卫生服务中心", lat=30.27, lon=120.15,
                      county_code="330106", city_code="330100", province_code="330000",
                      source="test", external_id="clinic-1")
        session.add(place)
        session.flush()
        return place.id


@pytest.mark.parametrize("case", ["clinic", "unknown item", "item abc", "unknown place",
                                  "blank name"])
def test_upsert_window__refused__error_with_field_nothing_written(world, clinic, case):
    # given: the case's arguments
    variables = {"place": str(world.hall_a), "name": "综合窗口", "items": [str(world.item)]}
    wanted = {"clinic": ("INVALID_INPUT", "placeId"),
              "unknown item": ("NOT_FOUND", "serviceItemIds"),
              "item abc": ("NOT_FOUND", "serviceItemIds"),
              "unknown place": ("NOT_FOUND", "placeId"),
              "blank name": ("INVALID_INPUT", "name")}[case]
    if case == "clinic":
        variables["place"] = str(clinic)
    elif case == "unknown item":
        variables["items"] = [str(world.item), "987654"]
    elif case == "item abc":
        variables["items"] = ["abc"]
    elif case == "unknown place":
        variables["place"] = "987654"
    else:
        variables["name"] = "   "
    before = state(world)
    # when: the admin upserts the window
    payload = mutate(world, UPSERT_WINDOW, variables, "upsertWindow", uid=ADMIN)
    # then: refused with the field, nothing written
    assert payload["window"] is None
    assert errors_of(payload) == [wanted]
    assert state(world) == before
