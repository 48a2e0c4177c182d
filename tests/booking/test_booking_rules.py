"""Residents' booking rules: book, cancel, reschedule, available slots and my appointments,
mostly over HTTP GraphQL with real tokens, and through the domain functions with a fixed `now=`
where a time rule is under test. Every refusal is checked to have changed nothing."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from backend.accounts.grants import principal_for
from backend.accounts.models import Account
from backend.booking import appointments
from backend.booking.errors import BookingError
from backend.booking.models import (
    Appointment,
    ServiceWindow,
    Slot,
    WindowServiceItem,
)
from backend.core.clock import BUSINESS_TZ, as_utc, business_date
from backend.notify.models import Notification
from tests.booking.conftest import (
    OTHER_RESIDENT,
    RESIDENT,
    STAFF,
    business_time,
)
from tests.helpers import uow_of

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
REMINDERS = (("reminder_24h", timedelta(hours=24)), ("reminder_1h", timedelta(hours=1)))

BOOK = """
mutation Book($slot: ID!, $item: ID!, $key: String!) {
  bookAppointment(slotId: $slot, serviceItemId: $item, idempotencyKey: $key) {
    appointment { id status code slot { id booked remaining } serviceItem { id } }
    errors { code field message }
  }
}"""

CANCEL = """
mutation Cancel($id: ID!, $reason: String) {
  cancelAppointment(id: $id, reason: $reason) {
    appointment { id status cancelReason slot { id booked } }
    errors { code field message }
  }
}"""

RESCHEDULE = """
mutation Move($id: ID!, $slot: ID!) {
  rescheduleAppointment(id: $id, newSlotId: $slot) {
    appointment { id status code slot { id } window { id } }
    errors { code field message }
  }
}"""

AVAILABLE = """
query Available($item: ID!, $from: Date!, $to: Date!, $window: ID, $place: ID) {
  availableSlots(serviceItemId: $item, from: $from, to: $to, windowId: $window,
                 placeId: $place) {
    id capacity booked remaining status window { id }
  }
}"""

MY_APPOINTMENTS = """
query Mine($status: AppointmentStatus) {
  me { appointments(status: $status) { id status code slot { id startsAt } } }
}"""


# --- helpers ------------------------------------------------------------------------------

def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(BUSINESS_TZ).date()


def starts(world, slot_id: int) -> datetime:
    return as_utc(world.slot(slot_id).starts_at)


def state(world) -> dict:
    """Everything a booking operation may write (accounts aside: lock_resident touches them)."""
    with world.session() as session:
        return {
            "slots": [tuple(row) for row in session.execute(
                select(Slot.id, Slot.capacity, Slot.booked, Slot.status, Slot.is_manual)
                .order_by(Slot.id))],
            "appointments": [tuple(row) for row in session.execute(
                select(Appointment.id, Appointment.uid, Appointment.slot_id,
                       Appointment.window_id, Appointment.day, Appointment.status,
                       Appointment.code, Appointment.revision, Appointment.cancel_reason)
                .order_by(Appointment.id))],
            "notifications": [tuple(row) for row in session.execute(
                select(Notification.id, Notification.dedupe_key, Notification.status,
                       Notification.due_at).order_by(Notification.id))],
        }


def book_http(world, slot_id, item_id, key: str = "key-1", uid: str = RESIDENT) -> dict:
    body = world.gql(BOOK, {"slot": str(slot_id), "item": str(item_id), "key": key}, uid=uid)
    assert "errors" not in body, body
    return body["data"]["bookAppointment"]


def booked_id(world, slot_id, item_id, key: str = "key-1", uid: str = RESIDENT) -> int:
    payload = book_http(world, slot_id, item_id, key, uid)
    assert payload["errors"] == [], payload
    return int(payload["appointment"]["id"])


def cancel_http(world, appointment_id, reason=None, uid: str = RESIDENT) -> dict:
    body = world.gql(CANCEL, {"id": str(appointment_id), "reason": reason}, uid=uid)
    assert "errors" not in body, body
    return body["data"]["cancelAppointment"]


def reschedule_http(world, appointment_id, slot_id, uid: str = RESIDENT) -> dict:
    body = world.gql(RESCHEDULE, {"id": str(appointment_id), "slot": str(slot_id)}, uid=uid)
    assert "errors" not in body, body
    return body["data"]["rescheduleAppointment"]


def book_at(world, now: datetime, slot_id: int, item_id: int, key: str = "key-1",
            uid: str = RESIDENT) -> int:
    """Book through the domain function with the clock at `now`."""
    with world.session() as session:
        return appointments.book(uow_of(session), principal_for(session, uid), world.rules,
                                 slot_id=slot_id, service_item_id=item_id,
                                 idempotency_key=key, now=now).id


def cancel_at(world, now: datetime, appointment_id: int, uid: str = RESIDENT,
              reason: str | None = None) -> None:
    with world.session() as session:
        appointments.cancel(uow_of(session), principal_for(session, uid), world.rules,
                            appointment_id=appointment_id, reason=reason, now=now)


def reschedule_at(world, now: datetime, appointment_id: int, slot_id: int,
                  uid: str = RESIDENT) -> None:
    with world.session() as session:
        appointments.reschedule(uow_of(session), principal_for(session, uid), world.rules,
                                appointment_id=appointment_id, new_slot_id=slot_id, now=now)


def refused(call) -> BookingError:  # noqa: ANN001
    with pytest.raises(BookingError) as caught:
        call()
    return caught.value


def expected_reminders(appointment_id: int, revision: int, start: datetime,
                       now: datetime) -> dict[str, datetime]:
    """Oracle: dedupe key → due time of the reminders that are still ahead at `now`."""
    return {f"{kind}:{appointment_id}:r{revision}": start - ahead
            for kind, ahead in REMINDERS if start - ahead > now}


def reminders_of(world, appointment_id: int, status: str | None = None) -> dict[str, datetime]:
    rows = [row for row in world.notifications(appointment_id=appointment_id)
            if row.kind.startswith("reminder_") and (status is None or row.status == status)]
    return {row.dedupe_key: as_utc(row.due_at) for row in rows}


def set_slot(world, slot_id: int, **values) -> None:  # noqa: ANN003
    with world.session() as session:
        session.execute(update(Slot).where(Slot.id == slot_id).values(**values))


def user_error(payload: dict) -> tuple[str, str | None]:
    assert payload["appointment"] is None, payload
    assert len(payload["errors"]) == 1, payload
    error = payload["errors"][0]
    assert error["message"], payload
    return error["code"], error["field"]


def ensure_account(session, uid: str) -> None:  # noqa: ANN001
    if session.get(Account, uid) is None:
        session.add(Account(uid=uid))
        session.flush()


# --- book -------------------------------------------------------------------------------

def test_book__open_slot__booked_with_crockford_code_and_place_taken(world):
    # given: an open slot with two places, no appointments
    slot_id = world.slots["a1-0900"]
    assert world.slot(slot_id).booked == 0
    # when: the resident books it
    before = utcnow()
    payload = book_http(world, slot_id, world.item)
    after = utcnow()
    # then: a BOOKED appointment with an 8-character Crockford code; the slot has one place less
    assert payload["errors"] == []
    appointment = payload["appointment"]
    assert appointment["status"] == "BOOKED"
    assert len(appointment["code"]) == 8 and set(appointment["code"]) <= CROCKFORD
    assert appointment["slot"] == {"id": str(slot_id), "booked": 1, "remaining": 1}
    assert appointment["serviceItem"]["id"] == str(world.item)
    assert world.slot(slot_id).booked == 1
    (row,) = world.appointments()
    assert (row.uid, row.slot_id, row.status, row.code, row.revision, row.day) == (
        RESIDENT, slot_id, "booked", appointment["code"], 0, world.day)
    # and: a confirmation due now, and the reminders that are still ahead
    (confirmed,) = world.notifications(kind="booking_confirmed")
    assert (confirmed.uid, confirmed.appointment_id, confirmed.status) == (
        RESIDENT, row.id, "pending")
    assert confirmed.dedupe_key == f"booking_confirmed:{row.id}"
    assert before - timedelta(seconds=1) <= as_utc(confirmed.due_at) <= after
    assert appointment["code"] in confirmed.body
    start = starts(world, slot_id)
    wanted_early = expected_reminders(row.id, 0, start, before)
    wanted_late = expected_reminders(row.id, 0, start, after)
    assert wanted_late.items() <= reminders_of(world, row.id).items() <= wanted_early.items()


def test_book__codes_of_many_bookings__crockford_and_distinct(world):
    # given: a slot with room for twenty residents
    slot_id = world.add_slot(world.window_a1, world.day, "11:00", capacity=20)
    # when: twenty residents book it
    codes = [book_http(world, slot_id, world.item, "k", uid=f"resident-{n}")
             ["appointment"]["code"] for n in range(20)]
    # then: every code is 8 Crockford characters and no two are the same
    assert all(len(code) == 8 and set(code) <= CROCKFORD for code in codes)
    assert len(set(codes)) == len(codes)
    assert world.slot(slot_id).booked == 20


@pytest.mark.parametrize("hours_ahead", [72, 24.5, 24, 23.9, 10, 1.01, 1, 0.75, 0.51])
def test_book__clock_before_start__reminders_due_24h_and_1h_before_start_if_ahead(
        world, hours_ahead):
    # given: the clock `hours_ahead` before the slot starts (still before the 30-min cutoff)
    slot_id = world.slots["a1-0900"]
    start = starts(world, slot_id)
    now = start - timedelta(hours=hours_ahead)
    # when: the resident books
    appointment_id = book_at(world, now, slot_id, world.item)
    # then: the confirmation is due now, and each reminder exists exactly when it is ahead
    (confirmed,) = world.notifications(kind="booking_confirmed")
    assert as_utc(confirmed.due_at) == now
    assert reminders_of(world, appointment_id) == expected_reminders(appointment_id, 0, start,
                                                                     now)
    assert all(row.status == "pending" and row.uid == RESIDENT
               for row in world.notifications(appointment_id=appointment_id)
               if row.kind != "window_today_changed")  # to staff: tests/notify


def test_book__several_appointments__dedupe_keys_unique_and_named_after_the_event(world):
    # given: three bookings far ahead of their slots, one of them moved and one cancelled
    now = starts(world, world.slots["a1-0900"]) - timedelta(days=3)
    first = book_at(world, now, world.slots["a1-0900"], world.item, "k1")
    second = book_at(world, now, world.slots["a2-0900"], world.other_item, "k2")
    third = book_at(world, now, world.slots["b1-0900"], world.item, "k3", uid=OTHER_RESIDENT)
    reschedule_at(world, now, first, world.slots["a1-0930"])
    cancel_at(world, now, second)
    # when: reading the outbox
    keys = [row.dedupe_key for row in world.notifications()]
    # then: no key twice, and each key names its kind and appointment
    assert len(keys) == len(set(keys))
    for row in world.notifications():
        assert row.dedupe_key.startswith(f"{row.kind}:{row.appointment_id}")
    assert {row.appointment_id for row in world.notifications()} == {first, second, third}


# --- refusals of book, each with its field and without any change ---------------------------

def _full(world):
    set_slot(world, world.slots["a1-0900"], capacity=1)
    booked_id(world, world.slots["a1-0900"], world.item, uid=OTHER_RESIDENT)
    return world.slots["a1-0900"], world.item, "key-new"


def _closed(world):
    set_slot(world, world.slots["a1-0900"], status="closed", closed_reason="停电")
    return world.slots["a1-0900"], world.item, "key-new"


def _inactive_window(world):
    with world.session() as session:
        session.execute(update(ServiceWindow).where(ServiceWindow.id == world.window_a1)
                        .values(is_active=False))
    return world.slots["a1-0900"], world.item, "key-new"


def _past(world):
    return world.add_slot(world.window_a1, today() - timedelta(days=1), "09:00"), world.item, "k"


def _beyond_horizon(world):
    day = today() + timedelta(days=world.rules.horizon_days + 1)
    return world.add_slot(world.window_a1, day, "09:00"), world.item, "key-new"


def _already_booked(world):
    booked_id(world, world.slots["a1-0900"], world.item, "key-first")
    return world.slots["a2-0900"], world.item, "key-new"


def _limit_reached(world):
    next_day = world.day + timedelta(days=1)
    booked_id(world, world.slots["a1-0900"], world.item, "k1")
    booked_id(world, world.slots["a2-0900"], world.other_item, "k2")
    booked_id(world, world.add_slot(world.window_a1, next_day, "09:00"), world.item, "k3")
    return world.add_slot(world.window_a2, next_day, "10:00"), world.other_item, "k4"


def _key_reused(world):
    booked_id(world, world.slots["a1-0900"], world.item, "same-key")
    return world.slots["a2-0900"], world.other_item, "same-key"


REFUSALS = {
    "slot full": (_full, "SLOT_FULL", "slotId"),
    "slot closed": (_closed, "SLOT_CLOSED", "slotId"),
    "window inactive": (_inactive_window, "SLOT_CLOSED", "slotId"),
    "slot in the past": (_past, "TOO_LATE", "slotId"),
    "15 days ahead": (_beyond_horizon, "OUT_OF_HORIZON", "slotId"),
    "same item same day": (_already_booked, "ALREADY_BOOKED", "slotId"),
    "4th active": (_limit_reached, "LIMIT_REACHED", None),
    "item not handled": (lambda w: (w.slots["a1-0900"], w.unhandled_item, "k"),
                         "ITEM_NOT_HANDLED", "serviceItemId"),
    "unknown slot": (lambda w: (987654, w.item, "k"), "NOT_FOUND", "slotId"),
    "slot abc": (lambda w: ("abc", w.item, "k"), "NOT_FOUND", "slotId"),
    "slot 0": (lambda w: ("0", w.item, "k"), "NOT_FOUND", "slotId"),
    "slot beyond int32": (lambda w: (str(2**31), w.item, "k"), "NOT_FOUND", "slotId"),
    "unknown item": (lambda w: (w.slots["a1-0900"], 987654, "k"), "NOT_FOUND",
                     "serviceItemId"),
    "item abc": (lambda w: (w.slots["a1-0900"], "abc", "k"), "NOT_FOUND", "serviceItemId"),
    "empty key": (lambda w: (w.slots["a1-0900"], w.item, ""), "INVALID_INPUT",
                  "idempotencyKey"),
    "blank key": (lambda w: (w.slots["a1-0900"], w.item, "   "), "INVALID_INPUT",
                  "idempotencyKey"),
    "65-char key": (lambda w: (w.slots["a1-0900"], w.item, "k" * 65), "INVALID_INPUT",
                    "idempotencyKey"),
    "key reused for another item": (_key_reused, "IDEMPOTENCY_KEY_REUSED", "idempotencyKey"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_book__refused_input__error_code_with_field_and_nothing_changed(world, case):
    # given: the situation of the case
    setup, code, field = REFUSALS[case]
    slot_id, item_id, key = setup(world)
    before = state(world)
    # when: the resident books
    payload = book_http(world, slot_id, item_id, key)
    # then: one user error with the stable code and the argument at fault, and no change
    assert user_error(payload) == (code, field)
    assert state(world) == before


def test_book__64_char_key__accepted(world):
    # given: a key of exactly the maximum length
    key = "k" * 64
    # when: booking with it
    payload = book_http(world, world.slots["a1-0900"], world.item, key)
    # then: booked, and the key is stored as sent
    assert payload["errors"] == []
    assert world.appointments()[0].idempotency_key == key


@pytest.mark.parametrize("minutes_before, allowed", [
    (24 * 60, True), (31, True), (30, False), (29, False), (1, False), (0, False), (-90, False),
])
def test_book__clock_near_cutoff__too_late_within_30_minutes_and_after_start(
        world, minutes_before, allowed):
    # given: the clock `minutes_before` the slot starts
    slot_id = world.slots["a1-0900"]
    now = starts(world, slot_id) - timedelta(minutes=minutes_before)
    before = state(world)
    # when / then: bookable only strictly before the cutoff; a refusal changes nothing
    if allowed:
        book_at(world, now, slot_id, world.item)
        assert world.slot(slot_id).booked == 1
    else:
        error = refused(lambda: book_at(world, now, slot_id, world.item))
        assert (error.code, error.field) == ("TOO_LATE", "slotId")
        assert state(world) == before


@pytest.mark.parametrize("days_before, allowed", [(0, True), (14, True), (15, False),
                                                  (40, False)])
def test_book__clock_far_before_the_day__out_of_horizon_beyond_14_days(world, days_before,
                                                                        allowed):
    # given: a slot on a day 20 days after the world's day, the clock `days_before` that day
    day = world.day + timedelta(days=20)
    slot_id = world.add_slot(world.window_a1, day, "16:00")
    now = business_time(day - timedelta(days=days_before), "08:00")
    before = state(world)
    # when / then: the slot's day may be at most 14 business days after today
    if allowed:
        book_at(world, now, slot_id, world.item)
        assert world.slot(slot_id).booked == 1
    else:
        error = refused(lambda: book_at(world, now, slot_id, world.item))
        assert (error.code, error.field) == ("OUT_OF_HORIZON", "slotId")
        assert state(world) == before


def test_book__other_item_same_day__allowed_up_to_the_active_limit(world):
    # given: the resident holds one appointment of `item` on the day
    booked_id(world, world.slots["a1-0900"], world.item, "k1")
    # when: booking `other_item` on the same day, at another window of the hall
    payload = book_http(world, world.slots["a2-0900"], world.other_item, "k2")
    # then: allowed (the one-per-day rule is per item)
    assert payload["errors"] == []
    assert len(world.appointments(uid=RESIDENT, status="booked")) == 2


# --- idempotency ------------------------------------------------------------------------

def test_book__same_key_retried__same_appointment_once(world):
    # given: a booking made with a key
    first = book_http(world, world.slots["a1-0900"], world.item, "retry-me")
    before = state(world)
    # when: the same request is sent again (a retry after a lost answer)
    again = book_http(world, world.slots["a1-0900"], world.item, "retry-me")
    # then: the same appointment, and nothing new was written (with another slot the key is
    # IDEMPOTENCY_KEY_REUSED: test_idempotency.py)
    assert again == first
    assert state(world) == before


def test_book__same_key_other_resident__own_appointment(world):
    # given: the resident booked with a key
    mine = book_http(world, world.slots["a1-0900"], world.item, "shared-key")
    # when: another resident books with the same key
    theirs = book_http(world, world.slots["a1-0900"], world.item, "shared-key",
                       uid=OTHER_RESIDENT)
    # then: they get an appointment of their own, and the slot has two bookings
    assert theirs["errors"] == []
    assert theirs["appointment"]["id"] != mine["appointment"]["id"]
    assert theirs["appointment"]["code"] != mine["appointment"]["code"]
    assert {(row.uid, row.idempotency_key) for row in world.appointments()} == {
        (RESIDENT, "shared-key"), (OTHER_RESIDENT, "shared-key")}
    assert world.slot(world.slots["a1-0900"]).booked == 2


# --- cancel -----------------------------------------------------------------------------

def test_cancel__owner_before_cutoff__cancelled_released_reminders_dropped_notified(world):
    # given: an appointment booked three days ahead, so both reminders are queued
    slot_id = world.slots["a1-0900"]
    appointment_id = book_at(world, starts(world, slot_id) - timedelta(days=3), slot_id,
                             world.item)
    assert len(reminders_of(world, appointment_id, "pending")) == 2
    # when: the resident cancels it
    before = utcnow()
    payload = cancel_http(world, appointment_id)
    after = utcnow()
    # then: cancelled, the place released, the reminders dropped, a cancellation queued
    assert payload["errors"] == []
    assert payload["appointment"]["status"] == "CANCELLED"
    assert payload["appointment"]["slot"] == {"id": str(slot_id), "booked": 0}
    assert world.slot(slot_id).booked == 0
    reminders = [row for row in world.notifications(appointment_id=appointment_id)
                 if row.kind.startswith("reminder_")]
    assert len(reminders) == 2 and {row.status for row in reminders} == {"dropped"}
    (confirmed,) = world.notifications(kind="booking_confirmed")
    assert confirmed.status == "pending"
    (notice,) = world.notifications(kind="booking_cancelled")
    assert (notice.uid, notice.appointment_id, notice.status, notice.is_urgent) == (
        RESIDENT, appointment_id, "pending", False)
    assert before - timedelta(seconds=1) <= as_utc(notice.due_at) <= after


@pytest.mark.parametrize("minutes_before, allowed", [(31, True), (30, False), (10, False),
                                                     (-60, False)])
def test_cancel__owner_near_cutoff__not_cancellable_within_30_minutes(world, minutes_before,
                                                                      allowed):
    # given: a booked appointment, and the clock `minutes_before` its start
    slot_id = world.slots["a1-0900"]
    appointment_id = booked_id(world, slot_id, world.item)
    now = starts(world, slot_id) - timedelta(minutes=minutes_before)
    before = state(world)
    # when / then: the owner may cancel only strictly before the cutoff
    if allowed:
        cancel_at(world, now, appointment_id)
        assert world.appointments()[0].status == "cancelled"
    else:
        error = refused(lambda: cancel_at(world, now, appointment_id))
        assert (error.code, error.field) == ("NOT_CANCELLABLE", "id")
        assert state(world) == before


def test_cancel__twice__not_cancellable_and_place_released_once(world):
    # given: two residents in a slot, one of them cancelled
    slot_id = world.slots["a1-0900"]
    booked_id(world, slot_id, world.item, uid=OTHER_RESIDENT)
    appointment_id = booked_id(world, slot_id, world.item)
    assert cancel_http(world, appointment_id)["errors"] == []
    before = state(world)
    # when: cancelling again
    payload = cancel_http(world, appointment_id)
    # then: NOT_CANCELLABLE, the other resident keeps their place
    assert user_error(payload) == ("NOT_CANCELLABLE", "id")
    assert state(world) == before
    assert world.slot(slot_id).booked == 1


def test_cancel__by_window_staff_with_reason__urgent_notice_with_the_reason(world):
    # given: a resident's appointment at window A1
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    # when: a clerk of A1 cancels it with a reason
    payload = cancel_http(world, appointment_id, reason="  窗口系统升级  ", uid=STAFF)
    # then: cancelled with the reason, and the resident is told urgently why
    assert payload["errors"] == []
    assert payload["appointment"]["status"] == "CANCELLED"
    assert payload["appointment"]["cancelReason"] == "窗口系统升级"
    (notice,) = world.notifications(kind="booking_cancelled")
    assert notice.uid == RESIDENT and notice.is_urgent
    assert "窗口系统升级" in notice.body
    assert world.slot(world.slots["a1-0900"]).booked == 0


def test_cancel__by_window_staff_after_cutoff__still_cancelled(world):
    # given: an appointment whose slot starts in ten minutes
    slot_id = world.slots["a1-0900"]
    appointment_id = booked_id(world, slot_id, world.item)
    # when: the clerk cancels it
    cancel_at(world, starts(world, slot_id) - timedelta(minutes=10), appointment_id, uid=STAFF,
              reason="临时停办")
    # then: the cutoff binds residents only
    assert world.appointments()[0].status == "cancelled"
    assert world.appointments()[0].cancel_reason == "临时停办"


def test_cancel__by_another_resident__not_found_like_a_missing_one_nothing_changed(world):
    # given: the resident's appointment
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    before = state(world)
    # when: another resident tries to cancel it
    body = world.gql(CANCEL, {"id": str(appointment_id)}, uid=OTHER_RESIDENT)
    # then: the answer for an id that does not exist, nothing changed
    assert body == world.gql(CANCEL, {"id": str(appointment_id + 1000)}, uid=OTHER_RESIDENT)
    assert [error["code"] for error in body["data"]["cancelAppointment"]["errors"]] == [
        "NOT_FOUND"]
    assert state(world) == before


def test_cancel__cancelled_appointments__no_longer_count_for_limits(world):
    # given: three active appointments (the limit), one of them `item` on the world's day
    next_day = world.day + timedelta(days=1)
    first = booked_id(world, world.slots["a1-0900"], world.item, "k1")
    booked_id(world, world.slots["a2-0900"], world.other_item, "k2")
    booked_id(world, world.add_slot(world.window_a1, next_day, "09:00"), world.item, "k3")
    fourth_slot = world.add_slot(world.window_a2, next_day, "10:00")
    assert user_error(book_http(world, fourth_slot, world.other_item, "k4")) == (
        "LIMIT_REACHED", None)
    # when: the first one is cancelled
    assert cancel_http(world, first)["errors"] == []
    # then: a fourth booking and `item` again on the world's day are both possible
    assert book_http(world, fourth_slot, world.other_item, "k4")["errors"] == []
    assert user_error(book_http(world, world.slots["b1-0900"], world.item, "k5")) == (
        "LIMIT_REACHED", None)
    assert cancel_http(world, booked_id(world, fourth_slot, world.other_item, "k4"))[
        "errors"] == []
    assert book_http(world, world.slots["b1-0900"], world.item, "k5")["errors"] == []
    assert len(world.appointments(uid=RESIDENT, status="booked")) == 3


# --- reschedule -------------------------------------------------------------------------

def test_reschedule__to_open_slot__moved_code_kept_old_released_notified(world):
    # given: an appointment booked three days ahead (both reminders queued)
    old_slot, new_slot = world.slots["a1-0900"], world.slots["a2-0900"]
    appointment_id = book_at(world, starts(world, old_slot) - timedelta(days=3), old_slot,
                             world.item)
    code = world.appointments()[0].code
    # when: the resident moves it to window A2
    before = utcnow()
    payload = reschedule_http(world, appointment_id, new_slot)
    after = utcnow()
    # then: moved, code kept, old place released, new one taken
    assert payload["errors"] == []
    assert payload["appointment"] == {"id": str(appointment_id), "status": "BOOKED",
                                      "code": code, "slot": {"id": str(new_slot)},
                                      "window": {"id": str(world.window_a2)}}
    (row,) = world.appointments()
    assert (row.slot_id, row.window_id, row.revision, row.code) == (new_slot, world.window_a2,
                                                                    1, code)
    assert (world.slot(old_slot).booked, world.slot(new_slot).booked) == (0, 1)
    # and: the old reminders are dropped, the new ones keyed by the revision
    dropped = reminders_of(world, appointment_id, "dropped")
    assert set(dropped) == set(expected_reminders(appointment_id, 0, starts(world, old_slot),
                                                  starts(world, old_slot) - timedelta(days=3)))
    pending = reminders_of(world, appointment_id, "pending")
    start = starts(world, new_slot)
    assert (expected_reminders(appointment_id, 1, start, after).items() <= pending.items()
            <= expected_reminders(appointment_id, 1, start, before).items())
    (changed,) = world.notifications(kind="booking_changed")
    assert changed.dedupe_key == f"booking_changed:{appointment_id}:r1"
    assert (changed.uid, changed.status) == (RESIDENT, "pending")
    assert code in changed.body


def test_reschedule__there_and_back__reminders_queued_again_under_new_revisions(world):
    # given: an appointment booked three days ahead
    first, second = world.slots["a1-0900"], world.slots["a1-0930"]
    now = starts(world, first) - timedelta(days=3)
    appointment_id = book_at(world, now, first, world.item)
    # when: it is moved to another slot and back to the first one
    reschedule_at(world, now, appointment_id, second)
    reschedule_at(world, now + timedelta(hours=1), appointment_id, first)
    # then: revision 2, the first slot taken once, and only the latest reminders pending
    (row,) = world.appointments()
    assert (row.slot_id, row.revision, row.status) == (first, 2, "booked")
    assert (world.slot(first).booked, world.slot(second).booked) == (1, 0)
    assert reminders_of(world, appointment_id, "pending") == expected_reminders(
        appointment_id, 2, starts(world, first), now + timedelta(hours=1))
    assert set(reminders_of(world, appointment_id, "dropped")) == (
        set(expected_reminders(appointment_id, 0, starts(world, first), now))
        | set(expected_reminders(appointment_id, 1, starts(world, second), now)))
    assert [row.dedupe_key for row in world.notifications(kind="booking_changed")] == [
        f"booking_changed:{appointment_id}:r1", f"booking_changed:{appointment_id}:r2"]


def test_reschedule__to_full_slot__slot_full_and_old_booking_intact(world):
    # given: the resident's appointment, and a full slot
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    set_slot(world, world.slots["a2-0900"], capacity=1)
    booked_id(world, world.slots["a2-0900"], world.item, uid=OTHER_RESIDENT)
    before = state(world)
    # when: moving to the full slot
    payload = reschedule_http(world, appointment_id, world.slots["a2-0900"])
    # then: SLOT_FULL on newSlotId; the old booking and every count unchanged
    assert user_error(payload) == ("SLOT_FULL", "newSlotId")
    assert state(world) == before


def test_reschedule__to_same_slot__same_slot_and_nothing_changed(world):
    # given: the resident's appointment
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    before = state(world)
    # when: "moving" it to the slot it is in
    payload = reschedule_http(world, appointment_id, world.slots["a1-0900"])
    # then: SAME_SLOT
    assert user_error(payload) == ("SAME_SLOT", "newSlotId")
    assert state(world) == before


@pytest.fixture
def a2_not_handling_item(world):
    """Window A2 no longer handles `item`."""
    with world.session() as session:
        session.execute(delete(WindowServiceItem).where(
            WindowServiceItem.window_id == world.window_a2,
            WindowServiceItem.service_item_id == world.item))
    return world


def test_reschedule__to_window_not_handling_item__item_not_handled_nothing_changed(
        a2_not_handling_item):
    world = a2_not_handling_item
    # given: an appointment of `item` at A1, and A2 not handling `item`
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    before = state(world)
    # when: moving it to A2
    payload = reschedule_http(world, appointment_id, world.slots["a2-0900"])
    # then: ITEM_NOT_HANDLED, nothing changed
    assert payload["appointment"] is None
    assert [error["code"] for error in payload["errors"]] == ["ITEM_NOT_HANDLED"]
    assert state(world) == before


def test_reschedule__to_window_not_handling_item__error_names_an_argument_of_the_mutation(
        a2_not_handling_item):
    world = a2_not_handling_item
    # given: an appointment of `item` at A1, and A2 not handling `item`
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    # when: moving it to A2
    payload = reschedule_http(world, appointment_id, world.slots["a2-0900"])
    # then: `field` names the argument at fault; rescheduleAppointment has only id and newSlotId
    assert user_error(payload) == ("ITEM_NOT_HANDLED", "newSlotId")


def test_reschedule__unknown_new_slot__not_found_and_nothing_changed(world):
    # given: the resident's appointment
    appointment_id = booked_id(world, world.slots["a1-0900"], world.item)
    before = state(world)
    # when: moving it to a slot that does not exist
    payload = reschedule_http(world, appointment_id, 987654)
    # then: NOT_FOUND on newSlotId
    assert user_error(payload) == ("NOT_FOUND", "newSlotId")
    assert state(world) == before


# --- availableSlots ---------------------------------------------------------------------

@pytest.fixture
def busy_world(world):
    """The world plus: an inactive window and a window handling only `other_item` in hall A,
    and ~120 random slots (seeded) over yesterday … today + 17 on every window: full, closed,
    past, within the cutoff, beyond the horizon."""
    rng = random.Random(20261130)
    with world.session() as session:
        inactive = ServiceWindow(place_id=world.hall_a, name="停用窗口", is_active=False)
        other_only = ServiceWindow(place_id=world.hall_a, name="只办另一事项", is_active=True)
        session.add_all([inactive, other_only])
        session.flush()
        session.add_all([WindowServiceItem(window_id=inactive.id, service_item_id=world.item),
                         WindowServiceItem(window_id=other_only.id,
                                           service_item_id=world.other_item)])
        windows = [world.window_a1, world.window_a2, world.window_b1, inactive.id,
                   other_only.id]
        now = utcnow()
        cutoff = now + timedelta(minutes=world.rules.cutoff_minutes)
        taken = {(slot.window_id, as_utc(slot.starts_at))
                 for slot in session.scalars(select(Slot))}
        starts_at = []
        # around the cutoff, but never within two minutes of it (the request's clock differs)
        for minutes in (-50, -20, -5, 5, 20, 50, 24 * 60 - 3):
            starts_at.append(cutoff.replace(second=0, microsecond=0)
                             + timedelta(minutes=minutes))
        while len(starts_at) < 120:
            day = today() + timedelta(days=rng.randint(-1, 17))
            clock = f"{rng.randint(7, 18):02d}:{rng.choice(['00', '15', '30', '45'])}"
            starts_at.append(business_time(day, clock))
        for start in starts_at:
            window_id = rng.choice(windows)
            if (window_id, start) in taken:
                continue
            taken.add((window_id, start))
            capacity = rng.choice([0, 1, 2, 3])
            session.add(Slot(window_id=window_id, day=business_date(start),
                             starts_at=start, ends_at=start + timedelta(minutes=15),
                             capacity=capacity, booked=rng.randint(0, capacity),
                             status=rng.choice(["open", "open", "open", "closed"]),
                             is_manual=False))
    return world


def oracle_available(world, item_id: int, start: date, end: date, now: datetime,
                     window_id: int | None = None, place_id: int | None = None) -> list[str]:
    """Brute force over every slot and window in the database."""
    rules = world.rules
    with world.session() as session:
        windows = {window.id: window for window in session.scalars(select(ServiceWindow))}
        handled = {(row.window_id, row.service_item_id)
                   for row in session.scalars(select(WindowServiceItem))}
        slots = list(session.scalars(select(Slot)))
    last_day = business_date(now) + timedelta(days=rules.horizon_days)
    chosen = [
        slot for slot in slots
        if windows[slot.window_id].is_active
        and (slot.window_id, item_id) in handled
        and (slot.window_id == window_id if window_id is not None
             else windows[slot.window_id].place_id == place_id)
        and start <= slot.day <= end and slot.day <= last_day
        and slot.status == "open" and slot.booked < slot.capacity
        and as_utc(slot.starts_at) > now + timedelta(minutes=rules.cutoff_minutes)
    ]
    chosen.sort(key=lambda slot: (as_utc(slot.starts_at), slot.window_id, slot.id))
    return [str(slot.id) for slot in chosen]


def test_available_slots__random_slots__equal_brute_force_oracle(busy_world):
    world = busy_world
    with world.session() as session:
        all_windows = list(session.scalars(select(ServiceWindow.id)))
    yesterday = today() - timedelta(days=1)
    ranges = [(yesterday, today() + timedelta(days=20)), (today(), today()),
              (today() + timedelta(days=3), today() + timedelta(days=9)),
              (today() + timedelta(days=14), today() + timedelta(days=16))]
    checked = nonempty = 0
    for item_id in (world.item, world.other_item, world.unhandled_item):
        for start, end in ranges:
            for by in [("window", w) for w in all_windows] + [("place", world.hall_a),
                                                              ("place", world.hall_b)]:
                # given: the busy world; when: asking for the slots of an item
                variables = {"item": str(item_id), "from": start.isoformat(),
                             "to": end.isoformat(), by[0]: str(by[1])}
                before = utcnow()
                body = world.gql(AVAILABLE, variables, uid=RESIDENT)
                after = utcnow()
                # then: exactly the oracle's slots, in its order, all bookable
                assert "errors" not in body, body
                got = body["data"]["availableSlots"]
                key = {"window_id": by[1]} if by[0] == "window" else {"place_id": by[1]}
                wanted = oracle_available(world, item_id, start, end, before, **key)
                assert wanted == oracle_available(world, item_id, start, end, after, **key)
                assert [slot["id"] for slot in got] == wanted, variables
                assert all(slot["status"] == "OPEN" and slot["remaining"] > 0
                           and slot["remaining"] == slot["capacity"] - slot["booked"]
                           for slot in got)
                checked += 1
                nonempty += bool(wanted)
    assert checked == 3 * len(ranges) * (len(all_windows) + 2)
    assert nonempty >= 8  # the oracle is not vacuous


def test_available_slots__by_place__covers_every_window_of_the_hall(world):
    # given: the world's slots (A1 ×2 and A2 in hall A, B1 in hall B)
    variables = {"item": str(world.item), "from": world.day.isoformat(),
                 "to": world.day.isoformat(), "place": str(world.hall_a)}
    # when: asking by hall A
    got = world.gql(AVAILABLE, variables, uid=RESIDENT)["data"]["availableSlots"]
    # then: the slots of both windows of hall A, by start time then window
    assert [slot["id"] for slot in got] == [
        str(world.slots["a1-0900"]), str(world.slots["a2-0900"]), str(world.slots["a1-0930"])]
    assert {slot["window"]["id"] for slot in got} == {str(world.window_a1),
                                                      str(world.window_a2)}


def test_available_slots__booked_slot__remaining_counts_down_then_disappears(world):
    # given: a slot with one place
    set_slot(world, world.slots["a1-0900"], capacity=1)
    variables = {"item": str(world.item), "from": world.day.isoformat(),
                 "to": world.day.isoformat(), "window": str(world.window_a1)}
    ids = [s["id"] for s in world.gql(AVAILABLE, variables, uid=RESIDENT)["data"][
        "availableSlots"]]
    assert str(world.slots["a1-0900"]) in ids
    # when: it is booked
    booked_id(world, world.slots["a1-0900"], world.item, uid=OTHER_RESIDENT)
    # then: it is no longer available
    ids = [s["id"] for s in world.gql(AVAILABLE, variables, uid=RESIDENT)["data"][
        "availableSlots"]]
    assert ids == [str(world.slots["a1-0930"])]


@pytest.mark.parametrize("case", ["window and place", "neither", "from after to",
                                  "unknown item", "item abc", "unknown window",
                                  "unknown place"])
def test_available_slots__bad_arguments__bad_user_input(world, case):
    # given: arguments the query cannot answer
    day = world.day.isoformat()
    variables = {"item": str(world.item), "from": day, "to": day,
                 "window": str(world.window_a1)}
    if case == "window and place":
        variables["place"] = str(world.hall_a)
    elif case == "neither":
        del variables["window"]
    elif case == "from after to":
        variables["from"] = (world.day + timedelta(days=1)).isoformat()
    elif case == "unknown item":
        variables["item"] = "987654"
    elif case == "item abc":
        variables["item"] = "abc"
    elif case == "unknown window":
        variables["window"] = "987654"
    else:
        del variables["window"]
        variables["place"] = "987654"
    # when: asking
    body = world.gql(AVAILABLE, variables, uid=RESIDENT)
    # then: a BAD_USER_INPUT GraphQL error, no data
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["data"] is None


# --- me { appointments } ----------------------------------------------------------------

STATUSES = ["BOOKED", "CHECKED_IN", "COMPLETED", "NO_SHOW", "CANCELLED"]


def test_me_appointments__status_filter__that_status_newest_slot_first(world):
    # given: (seeded) appointments of the resident in every status over many slots, and some
    # of another resident
    rng = random.Random(7)
    with world.session() as session:
        for uid in (RESIDENT, OTHER_RESIDENT):
            ensure_account(session, uid)
        for n in range(24):
            day = world.day + timedelta(days=rng.randint(-6, 6))
            window = rng.choice([world.window_a1, world.window_a2, world.window_b1])
            start = business_time(day, f"{rng.randint(8, 16):02d}:{rng.choice(['00', '30'])}")
            slot = session.scalar(select(Slot).where(Slot.window_id == window,
                                                     Slot.starts_at == start))
            if slot is None:
                slot = Slot(window_id=window, day=day, starts_at=start,
                            ends_at=start + timedelta(minutes=30), capacity=100, booked=0,
                            status="open", is_manual=False)
                session.add(slot)
                session.flush()
            session.add(Appointment(
                uid=rng.choice([RESIDENT, RESIDENT, OTHER_RESIDENT]), slot_id=slot.id,
                window_id=window, service_item_id=world.item, day=day,
                status=rng.choice(STATUSES).lower(), code=f"C{n:07d}",
                idempotency_key=f"key-{n}", revision=0))
    with world.session() as session:
        mine = [(as_utc(slot.starts_at), appointment.id, appointment.status)
                for appointment, slot in session.execute(
                    select(Appointment, Slot).join(Slot, Slot.id == Appointment.slot_id)
                    .where(Appointment.uid == RESIDENT))]
    assert len({status for _, _, status in mine}) >= 4
    for status in [None, *STATUSES]:
        # when: the resident lists their appointments (of one status)
        body = world.gql(MY_APPOINTMENTS, {"status": status}, uid=RESIDENT)
        assert "errors" not in body, body
        got = body["data"]["me"]["appointments"]
        # then: exactly theirs of that status, latest start first (ties by id)
        wanted = sorted((row for row in mine if status is None or row[2] == status.lower()),
                        key=lambda row: (-row[0].timestamp(), row[1]))
        assert [int(appointment["id"]) for appointment in got] == [row[1] for row in wanted]
        assert all(status is None or appointment["status"] == status for appointment in got)
        starts_on_wire = [datetime.fromisoformat(a["slot"]["startsAt"]) for a in got]
        assert starts_on_wire == sorted(starts_on_wire, reverse=True)
