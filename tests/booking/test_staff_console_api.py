"""The staff console's API (issue 17): reopen a slot or a day, close out the day, preview a
weekly template, check-in time, and the resident's guide answers kept with the booking (the
materials list the counter and the resident see). Both stores; every refusal changes nothing;
a clerk of window A cannot act on window B even by crafting the request."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete

from backend.accounts.grants import principal_for
from backend.booking import schedule
from backend.booking.models import ScheduleTemplate
from backend.core.clock import BUSINESS_TZ
from backend.places.models import HolidayDay
from tests.booking.conftest import OTHER_RESIDENT, OTHER_STAFF, RESIDENT, STAFF
from tests.booking.test_staff_operations import (
    CLOSE_DAY,
    CLOSE_SLOT,
    add_appointment,
    errors_of,
    graphql_codes,
    mutate,
    state,
    status_of,
    today,
)
from tests.helpers import operation

REOPEN_SLOT = """
mutation($slot: ID!) {
  reopenSlot(slotId: $slot) { slot { id status closedReason } errors { code field message } }
}"""

REOPEN_DAY = """
mutation($window: ID!, $date: Date!) {
  reopenDay(windowId: $window, date: $date) {
    slots { id status closedReason } errors { code field message }
  }
}"""

CLOSE_OUT = """
mutation($window: ID!, $date: Date!, $expected: Int) {
  closeOutDay(windowId: $window, date: $date, expectedCount: $expected) {
    noShows errors { code field message }
  }
}"""

PREVIEW = """
query($window: ID!, $weekday: Int!, $start: String!, $end: String!, $minutes: Int!,
      $capacity: Int!, $from: Date, $to: Date) {
  scheduleTemplatePreview(windowId: $window, weekday: $weekday, start: $start, end: $end,
                          slotMinutes: $minutes, capacity: $capacity, validFrom: $from,
                          validTo: $to) {
    from to slotCount slots { day startsAt endsAt capacity } holidays
  }
}"""

BOOK = """
mutation($slot: ID!, $item: ID!, $key: String!, $answers: [ChecklistAnswerInput!]) {
  bookAppointment(slotId: $slot, serviceItemId: $item, idempotencyKey: $key,
                  answers: $answers) {
    appointment { id answers { questionId answer } materials { id name } }
    errors { code field message }
  }
}"""

MY_MATERIALS = "{ me { appointments { id materials { id name } } } }"

STAFF_DAY = """
query($window: ID!, $date: Date!) {
  windowAppointments(windowId: $window, date: $date) {
    id status checkedInAt materials { id name }
  }
}"""


def _close(world, slot: int) -> None:
    payload = mutate(world, CLOSE_SLOT, {"slot": slot, "reason": "设备维护"}, "closeSlot")
    assert payload["errors"] == []


# --- reopenSlot ---------------------------------------------------------------------------

def test_reopen_slot__closed_future_slot__open_again_and_bookable(world):
    # given: a closed slot of window A1 on the world's (future) day
    slot = world.slots["a1-0900"]
    _close(world, slot)

    # when
    payload = mutate(world, REOPEN_SLOT, {"slot": slot}, "reopenSlot")

    # then: open, the reason gone, and a resident can book it
    assert payload["errors"] == []
    assert payload["slot"]["status"] == "OPEN" and payload["slot"]["closedReason"] is None
    body = world.gql(BOOK, {"slot": slot, "item": world.item, "key": "after-reopen"},
                     uid=RESIDENT)
    assert body["data"]["bookAppointment"]["errors"] == []


@pytest.mark.parametrize("case", ["open", "started", "missing"])
def test_reopen_slot__not_reopenable__payload_error_in_chinese_nothing_changed(world, case):
    # given: an open slot, a closed slot that has started, or no such slot
    if case == "open":
        slot, expected = world.slots["a1-0900"], ("NOT_CLOSED", "slotId")
    elif case == "started":
        slot = world.add_slot(world.window_a1, today(), "00:00")
        _close(world, slot)
        expected = ("SLOT_STARTED", "slotId")
    else:
        slot, expected = 999999, ("NOT_FOUND", "slotId")
    before = state(world)

    # when
    payload = mutate(world, REOPEN_SLOT, {"slot": slot}, "reopenSlot")

    # then
    assert errors_of(payload) == [expected]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in payload["errors"][0]["message"][:1])
    assert state(world) == before


def test_reopen_slot__clerk_of_another_window__forbidden_nothing_changed(world):
    # given: window A1's closed slot; the crafted request comes from window A2's clerk
    slot = world.slots["a1-0900"]
    _close(world, slot)
    before = state(world)

    # when
    body = world.gql(REOPEN_SLOT, {"slot": slot}, uid=OTHER_STAFF)

    # then
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


# --- reopenDay ----------------------------------------------------------------------------

def test_reopen_day__closed_day__every_future_slot_open_other_windows_untouched(world):
    # given: A1's day closed, and A2's slot of that day closed too
    day = world.day.isoformat()
    assert mutate(world, CLOSE_DAY, {"window": world.window_a1, "date": day, "reason": "停电"},
                  "closeDay")["errors"] == []
    _close_other = mutate(world, CLOSE_SLOT, {"slot": world.slots["a2-0900"], "reason": "培训"},
                          "closeSlot", uid=OTHER_STAFF)
    assert _close_other["errors"] == []

    # when
    payload = mutate(world, REOPEN_DAY, {"window": world.window_a1, "date": day}, "reopenDay")

    # then
    assert payload["errors"] == []
    assert {slot["status"] for slot in payload["slots"]} == {"OPEN"}
    assert len(payload["slots"]) == 2
    assert world.slot(world.slots["a2-0900"]).status == "closed"


def test_reopen_day__nothing_closed__not_closed_nothing_changed(world):
    before = state(world)
    payload = mutate(world, REOPEN_DAY, {"window": world.window_a1,
                                         "date": world.day.isoformat()}, "reopenDay")
    assert errors_of(payload) == [("NOT_CLOSED", "date")]
    assert payload["errors"][0]["message"] == "该窗口当天没有已停约的时段"
    assert state(world) == before


def test_reopen_day__clerk_of_another_window__forbidden_nothing_changed(world):
    day = world.day.isoformat()
    mutate(world, CLOSE_DAY, {"window": world.window_a1, "date": day, "reason": "停电"},
           "closeDay")
    before = state(world)
    body = world.gql(REOPEN_DAY, {"window": world.window_a1, "date": day}, uid=OTHER_STAFF)
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


# --- closeOutDay --------------------------------------------------------------------------

def test_close_out_day__ended_booked__no_show_others_untouched(world):
    # given: today at A1, two booked appointments of an ended slot, one checked in, and one
    # booked in a slot that has not ended (23:30–23:59); a booked one of A2 that has ended
    ended = world.add_slot(world.window_a1, today(), "00:00", capacity=5, minutes=1)
    later = world.add_slot(world.window_a1, today(), "23:58", capacity=5, minutes=1)
    other = world.add_slot(world.window_a2, today(), "00:00", capacity=5, minutes=1)
    due = [add_appointment(world, ended, RESIDENT), add_appointment(world, ended, OTHER_RESIDENT)]
    served = add_appointment(world, ended, "resident-carol", status="checked_in")
    waiting = add_appointment(world, later, "resident-dave")
    elsewhere = add_appointment(world, other, "resident-erin")

    # when: the clerk confirms the count the console showed
    payload = mutate(world, CLOSE_OUT, {"window": world.window_a1, "date": today().isoformat(),
                                        "expected": 2}, "closeOutDay")

    # then
    assert payload == {"noShows": 2, "errors": []}
    assert [status_of(world, a) for a in due] == ["no_show", "no_show"]
    assert status_of(world, served) == "checked_in"
    assert status_of(world, elsewhere) == "booked"
    # (the 23:58 slot may have ended if the test runs at 23:59; it is then a no-show too)
    if datetime.now(BUSINESS_TZ).strftime("%H:%M") < "23:58":
        assert status_of(world, waiting) == "booked"


@pytest.mark.parametrize("expected, code", [(5, "COUNT_CHANGED"), (-1, "INVALID_INPUT")])
def test_close_out_day__count_not_confirmed__refused_in_chinese_nothing_changed(world, expected,
                                                                               code):
    ended = world.add_slot(world.window_a1, today(), "00:00", minutes=1)
    add_appointment(world, ended)
    before = state(world)
    payload = mutate(world, CLOSE_OUT, {"window": world.window_a1, "date": today().isoformat(),
                                        "expected": expected}, "closeOutDay")
    assert errors_of(payload) == [(code, "expectedCount")]
    assert "请" in payload["errors"][0]["message"] or "负数" in payload["errors"][0]["message"]
    assert payload["noShows"] is None
    assert state(world) == before


def test_close_out_day__clerk_of_another_window__forbidden_nothing_changed(world):
    ended = world.add_slot(world.window_a1, today(), "00:00", minutes=1)
    add_appointment(world, ended)
    before = state(world)
    body = world.gql(CLOSE_OUT, {"window": world.window_a1, "date": today().isoformat()},
                     uid=OTHER_STAFF)
    assert graphql_codes(body) == ["FORBIDDEN"]
    assert state(world) == before


# --- scheduleTemplatePreview --------------------------------------------------------------

TEMPLATE = {"weekday": 3, "start": "09:00", "end": "10:30", "minutes": 30, "capacity": 4}


def test_preview__template__exactly_the_slots_generation_then_creates(world):
    # given: A1 without other slots
    with world.session() as session:
        from backend.booking.models import Slot
        session.execute(delete(Slot))

    # when: previewed, then saved (which generates the horizon)
    body = world.gql(PREVIEW, {"window": world.window_a1, **TEMPLATE}, uid=STAFF)
    assert "errors" not in body, body
    preview = body["data"]["scheduleTemplatePreview"]
    saved = world.gql(operation("UpsertScheduleTemplate"), {
        "windowId": world.window_a1, "weekday": 3, "start": "09:00", "end": "10:30",
        "slotMinutes": 30, "capacity": 4}, uid=STAFF)["data"]["upsertScheduleTemplate"]
    assert saved["errors"] == []
    slots = world.gql(operation("WindowWeek"), {"windowId": world.window_a1,
                                                "from": preview["from"], "to": preview["to"]},
                      uid=STAFF)["data"]["windowSlots"]

    # then: the same slots (Wednesdays, holidays and make-up days as generation does them)
    assert preview["slotCount"] == len(preview["slots"]) == saved["generated"]["created"]
    assert [(s["startsAt"], s["endsAt"], s["capacity"]) for s in preview["slots"]] == \
        [(s["startsAt"], s["endsAt"], s["capacity"]) for s in slots]


def test_preview__holiday_in_horizon__its_day_left_out_and_listed(world):
    # given: National Day 2026 (a Thursday, a statutory holiday in the seeded calendar)
    with world.session() as session:
        principal = principal_for(session, STAFF)
        now = datetime(2026, 9, 28, 9, tzinfo=BUSINESS_TZ)

        # when
        preview = schedule.preview_template(
            session, principal, world.rules, window_id=world.window_a1, weekday=4,
            start="09:00", end="10:00", slot_minutes=30, capacity=2, now=now)
        is_holiday = session.get(HolidayDay, date(2026, 10, 1)).kind == "holiday"

    # then
    assert is_holiday
    assert date(2026, 10, 1) in preview.holidays
    days = {starts.astimezone(BUSINESS_TZ).date() for starts, _, _ in preview.slots}
    assert date(2026, 10, 1) not in days and date(2026, 10, 8) in days


@pytest.mark.parametrize("change, field", [
    ({"start": "11:00"}, "end"), ({"weekday": 8}, "weekday"), ({"minutes": 3}, "slotMinutes"),
    ({"capacity": 0}, "capacity"), ({"start": "9点"}, "start"),
    ({"from": "2027-02-01", "to": "2027-01-01"}, "validTo"),
])
def test_preview__bad_template__refused_in_chinese_nothing_saved(world, change, field):
    body = world.gql(PREVIEW, {"window": world.window_a1, **TEMPLATE, **change}, uid=STAFF)
    assert graphql_codes(body) == ["INVALID_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["errors"][0]["message"])
    with world.session() as session:
        assert session.query(ScheduleTemplate).count() == 0


def test_preview__clerk_of_another_window__forbidden(world):
    body = world.gql(PREVIEW, {"window": world.window_a1, **TEMPLATE}, uid=OTHER_STAFF)
    assert graphql_codes(body) == ["FORBIDDEN"] and body["data"] is None


# --- the resident's guide answers and materials ---------------------------------------------

SPOUSE = [{"questionId": "spouse", "answer": True}, {"questionId": "parent", "answer": False}]


def _book(world, answers, key="guided", uid=RESIDENT) -> dict:
    body = world.gql(BOOK, {"slot": world.slots["a1-0900"], "item": world.item, "key": key,
                            "answers": answers}, uid=uid)
    assert "errors" not in body, body
    return body["data"]["bookAppointment"]


def test_book__with_guide_answers__materials_for_resident_and_window_staff(world):
    # when
    payload = _book(world, SPOUSE)

    # then: the answers kept; the materials list includes the marriage certificate (spouse)
    # and not the relation proof (parent: no)
    assert payload["errors"] == []
    appointment = payload["appointment"]
    names = [m["id"] for m in appointment["materials"]]
    assert "marriage-cert" in names and "relation-proof" not in names
    mine = world.gql(MY_MATERIALS, uid=RESIDENT)["data"]["me"]["appointments"]
    assert mine[0]["materials"] == appointment["materials"]
    day = world.gql(STAFF_DAY, {"window": world.window_a1, "date": world.day.isoformat()},
                    uid=STAFF)["data"]["windowAppointments"]
    assert day[0]["materials"] == appointment["materials"]
    # a clerk of another window sees nothing of it, crafting the request
    assert graphql_codes(world.gql(STAFF_DAY, {"window": world.window_a1,
                                               "date": world.day.isoformat()},
                                   uid=OTHER_STAFF)) == ["FORBIDDEN"]


def test_book__without_answers__materials_null(world):
    payload = _book(world, None)
    assert payload["appointment"]["materials"] is None and payload["appointment"]["answers"] is None


def test_book__retry_with_same_answers_in_another_order__same_appointment(world):
    first = _book(world, SPOUSE)["appointment"]["id"]
    again = _book(world, list(reversed(SPOUSE)))
    assert again["errors"] == [] and again["appointment"]["id"] == first
    assert len(world.appointments()) == 1


@pytest.mark.parametrize("retry", [
    [{"questionId": "spouse", "answer": False}], None, []])
def test_book__retry_with_other_answers__key_reused_nothing_changed(world, retry):
    _book(world, SPOUSE)
    before = state(world)
    payload = _book(world, retry)
    assert errors_of(payload) == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert state(world) == before


@pytest.mark.parametrize("answers", [
    [{"questionId": "no-such-question", "answer": True}],
    [{"questionId": "spouse", "answer": True}, {"questionId": "spouse", "answer": False}],
])
def test_book__bad_answers__invalid_input_in_chinese_nothing_booked(world, answers):
    before = state(world)
    payload = _book(world, answers)
    assert errors_of(payload) == [("INVALID_INPUT", "answers")]
    assert "问题" in payload["errors"][0]["message"]
    assert state(world) == before


def test_check_in__time_recorded_and_shown(world):
    slot = world.add_slot(world.window_a1, today(), "00:00", capacity=5)
    add_appointment(world, slot, code="CHK7AME1")
    mutate(world, "mutation { checkIn(code: \"chk7-ame1\") { errors { code } } }", {}, "checkIn")
    (row,) = world.gql(STAFF_DAY, {"window": world.window_a1, "date": today().isoformat()},
                       uid=STAFF)["data"]["windowAppointments"]
    assert row["status"] == "CHECKED_IN"
    checked = datetime.fromisoformat(row["checkedInAt"])
    assert abs(checked - datetime.now(BUSINESS_TZ)) < timedelta(minutes=5)
