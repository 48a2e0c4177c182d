"""A change of the holiday calendar follows through to the slots at once, in the same
transaction (no waiting for `slots generate`): a new holiday loses its free slots and its
booked ones are reported to the window's staff (not cancelled); a cleared holiday gets its
slots back; a 调休上班 Saturday opens with the template of the weekday it stands for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta

import pytest
from sqlalchemy import delete, select

from backend.booking.models import ScheduleTemplate, Slot
from backend.booking.schedule import generate_window_slots
from backend.core.clock import business_date, utcnow
from backend.places.calendar import MANUAL_SOURCE, day_kind, seed_calendar
from backend.places.hours import reference_workday
from backend.places.models import HolidayDay
from tests.booking.conftest import OTHER_STAFF, STAFF, World
from tests.booking.test_booking_rules import booked_id


@pytest.fixture
def calendar_world(world: World) -> Iterator[World]:
    """The world, and afterwards the seeded calendar as it was (the days set by hand gone)."""
    yield world
    with world.session() as session:
        session.execute(delete(HolidayDay).where(HolidayDay.source == MANUAL_SOURCE))
        seed_calendar(session)


def cli(world: World, *args: str) -> str:
    result = world.app.test_cli_runner().invoke(args=["calendar", *args])
    assert result.exit_code == 0, result.output
    return result.output


def slots_of(world: World, day: date, window_id: int | None = None) -> list[Slot]:
    with world.session() as session:
        statement = select(Slot).where(Slot.day == day).order_by(Slot.window_id, Slot.starts_at)
        if window_id is not None:
            statement = statement.where(Slot.window_id == window_id)
        return list(session.scalars(statement))


def add_templates(world: World, window_id: int, weekdays: range = range(1, 8)) -> None:
    """09:00–10:00 in 30-minute slots, the capacity telling the weekday (1 Monday … 7)."""
    with world.session() as session:
        session.add_all(ScheduleTemplate(window_id=window_id, weekday=weekday,
                                         start_time=time(9), end_time=time(10), slot_minutes=30,
                                         capacity=weekday) for weekday in weekdays)


def generate(world: World, window_id: int, last: date) -> None:
    with world.session() as session:
        generate_window_slots(session, window_id, business_date(utcnow()), last)


def test_calendar__new_holiday__free_slots_go_at_once_booked_reported(calendar_world):
    world = calendar_world
    # given: one of the day's slots booked
    appointment = booked_id(world, world.slots["a1-0900"], world.item)
    # when
    output = cli(world, "set", world.day.isoformat(), "--holiday", "--name", "临时放假")
    # then: the free slots are gone, the booked one is kept but takes no more bookings
    left = slots_of(world, world.day)
    assert [(s.id, s.status) for s in left] == [(world.slots["a1-0900"], "closed")]
    assert left[0].closed_reason == "节假日不办理：临时放假"
    assert "删除 3" in output and "停约 1" in output
    assert f"预约 {appointment}" in output and "西湖区政务服务中心" in output
    # the resident is not cancelled; the window's staff (only theirs) are told
    assert [a.status for a in world.appointments(id=appointment)] == ["booked"]
    told = world.notifications(kind="window_holiday_booked")
    assert [n.uid for n in told] == [STAFF]
    assert "临时放假" in told[0].body and told[0].data["appointmentIds"] == str(appointment)
    assert not world.notifications(uid=OTHER_STAFF, kind="window_holiday_booked")


def test_calendar__holiday_cleared__slots_come_back_from_templates(calendar_world):
    world = calendar_world
    add_templates(world, world.window_a2)
    generate(world, world.window_a2, world.day + timedelta(days=3))
    before = [(s.starts_at, s.capacity) for s in slots_of(world, world.day, world.window_a2)]
    assert len(before) == 2
    cli(world, "set", world.day.isoformat(), "--holiday", "--name", "临时放假")
    assert slots_of(world, world.day, world.window_a2) == []
    # when
    output = cli(world, "clear", world.day.isoformat())
    # then
    after = [(s.starts_at, s.capacity) for s in slots_of(world, world.day, world.window_a2)]
    assert after == before and "新增 2" in output
    with world.session() as session:
        assert day_kind(session, world.day) is None


def test_calendar__cleared_holiday__reopens_the_slots_it_closed(calendar_world):
    world = calendar_world
    booked_id(world, world.slots["a1-0900"], world.item)
    cli(world, "set", world.day.isoformat(), "--holiday", "--name", "临时放假")
    output = cli(world, "clear", world.day.isoformat())
    assert "恢复 1" in output
    slot = world.slot(world.slots["a1-0900"])
    assert (slot.status, slot.closed_reason) == ("open", None)


def test_calendar__makeup_saturday__opens_with_the_weekday_it_stands_for(calendar_world):
    world = calendar_world
    add_templates(world, world.window_a2, range(1, 6))  # Monday–Friday only
    with world.session() as session:
        saturday = world.day + timedelta(days=(5 - world.day.weekday()) % 7)
        while day_kind(session, saturday) is not None:
            saturday += timedelta(days=7)
    generate(world, world.window_a2, saturday + timedelta(days=3))
    assert slots_of(world, saturday, world.window_a2) == []
    # when
    output = cli(world, "set", saturday.isoformat(), "--workday")
    # then
    made = slots_of(world, saturday, world.window_a2)
    assert len(made) == 2 and "新增 2" in output
    assert {s.capacity for s in made} == {reference_workday(saturday).isoweekday()}


def test_calendar__past_day__slots_left_alone(calendar_world):
    world = calendar_world
    past = business_date(utcnow()) - timedelta(days=2)
    world.add_slot(world.window_a1, past, "09:00", name="past")
    output = cli(world, "set", past.isoformat(), "--holiday", "--name", "补记")
    assert world.slot(world.slots["past"]).status == "open"
    assert "0 个窗口" in output


def test_calendar__bad_input__refused_in_chinese_nothing_changed(calendar_world):
    world = calendar_world
    result = world.app.test_cli_runner().invoke(
        args=["calendar", "set", world.day.isoformat(), "--holiday", "--name", "  "])
    assert result.exit_code != 0 and "名称不能为空" in result.output
    assert len(slots_of(world, world.day)) == 4
