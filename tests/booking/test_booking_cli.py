"""The operator's side of booking: `seed demo` gives the halls windows and slots, and
`slots generate` keeps the rolling horizon (the daily cron job)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.booking.models import ScheduleTemplate, ServiceWindow, Slot
from backend.booking.schedule import desired_slots
from backend.core.clock import BUSINESS_TZ
from backend.db import session_scope
from backend.places.calendar import day_kind
from tests.booking.conftest import STAFF, World


def _today() -> date:
    return datetime.now(BUSINESS_TZ).date()


def _count(app, statement) -> int:  # noqa: ANN001
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        return session.scalar(statement)


def test_seed_demo__halls_with_items__one_window_each_with_slots(demo_app):
    # given: the demo data seeded by the fixture (halls handle items)
    windows = _count(demo_app, select(func.count()).select_from(ServiceWindow))
    slots = _count(demo_app, select(func.count()).select_from(Slot))
    # then: a window per hall that handles items, each with a weekday schedule, and slots
    assert windows > 300
    assert _count(demo_app, select(func.count(func.distinct(ScheduleTemplate.window_id)))) \
        == windows
    assert slots > 0
    # Seeded earlier in the session, which may have crossed midnight in Beijing since.
    assert _count(demo_app, select(func.min(Slot.day))) >= _today() - timedelta(days=1)


def test_seed_demo__run_twice__no_new_windows_or_slots(demo_app):
    # given: seeded once more now (the fixture's seeding may be from the day before in Beijing,
    # when the suite crosses midnight: today's new horizon day would be new slots)
    first = demo_app.test_cli_runner().invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    before = (_count(demo_app, select(func.count()).select_from(ServiceWindow)),
              _count(demo_app, select(func.count()).select_from(Slot)))
    # when
    result = demo_app.test_cli_runner().invoke(args=["seed", "demo"])
    # then
    assert result.exit_code == 0, result.output
    assert "booking windows: 0 created; slots: 0 created" in result.output
    assert (_count(demo_app, select(func.count()).select_from(ServiceWindow)),
            _count(demo_app, select(func.count()).select_from(Slot))) == before


def _template(world: World, weekday: int) -> None:
    body = world.gql("""mutation($w: ID!, $d: Int!) { upsertScheduleTemplate(windowId: $w,
        weekday: $d, start: "09:00", end: "10:00", slotMinutes: 30, capacity: 2) {
        errors { code } } }""", {"w": str(world.window_b1), "d": weekday}, uid="admin-root")
    assert body["data"]["upsertScheduleTemplate"]["errors"] == [], body


def _window_slots(world: World, window_id: int) -> set[tuple]:
    with world.session() as session:
        return {(slot.day, slot.starts_at.replace(tzinfo=None))
                for slot in session.scalars(select(Slot).where(Slot.window_id == window_id))}


def test_slots_generate__range__slots_of_the_templates_and_holidays_listed(world: World):
    # given: window B1 with a template for every weekday (the template change generated the
    # rolling horizon already; the CLI then extends it)
    for weekday in range(1, 8):
        _template(world, weekday)
    start, end = _today(), _today() + timedelta(days=60)
    # when
    result = world.app.test_cli_runner().invoke(args=[
        "slots", "generate", "--window", str(world.window_b1),
        "--from", start.isoformat(), "--to", end.isoformat()])
    # then: exactly what the templates give each day of the range, per the calendar
    assert result.exit_code == 0, result.output
    with world.session() as session:
        templates = list(session.scalars(select(ScheduleTemplate).where(
            ScheduleTemplate.window_id == world.window_b1)))
        expected, holidays = set(), []
        day = start
        while day <= end:
            kind = day_kind(session, day)
            if kind == "holiday":
                holidays.append(day.isoformat())
            expected |= {(day, starts.replace(tzinfo=None))
                         for starts, _ends, _capacity in desired_slots(templates, day, kind)}
            day += timedelta(days=1)
    # the world's hand-made 09:00 slot of B1 has no template day of its own: regenerated away
    assert {slot for slot in _window_slots(world, world.window_b1) if slot[0] >= start} \
        == expected
    assert ("holidays skipped: " + (", ".join(holidays) or "none")) in result.output
    # when: run again (the daily cron job)
    again = world.app.test_cli_runner().invoke(args=[
        "slots", "generate", "--window", str(world.window_b1),
        "--from", start.isoformat(), "--to", end.isoformat()])
    # then: idempotent
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 0 removed" in again.output


def test_slots_generate__default__every_window_with_templates(world: World):
    # given: only B1 has templates
    _template(world, 3)
    with world.session() as session:
        session.execute(Slot.__table__.delete().where(Slot.window_id == world.window_b1))
    # when
    result = world.app.test_cli_runner().invoke(args=["slots", "generate"])
    # then: one window regenerated over today + SLOT_GENERATION_DAYS; A1/A2 untouched
    assert result.exit_code == 0, result.output
    assert result.output.startswith("windows: 1;")
    horizon = _today() + timedelta(days=world.rules.generation_days)
    assert all(_today() <= day <= horizon for day, _ in _window_slots(world, world.window_b1))
    assert _window_slots(world, world.window_b1)
    assert len(_window_slots(world, world.window_a1)) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2020-01-01"], "--from"),
    (["--from", "2099-01-02", "--to", "2099-01-01"], "--from"),
    (["--from", "tomorrow"], "YYYY-MM-DD"),
    (["--window", "999999"], "未找到该窗口"),
])
def test_slots_generate__bad_arguments__refused_nothing_written(world: World, args, message):
    # given
    before = _window_slots(world, world.window_a1)
    # when
    result = world.app.test_cli_runner().invoke(args=["slots", "generate", *args])
    # then
    assert result.exit_code != 0
    assert message in result.output
    assert _window_slots(world, world.window_a1) == before


def test_accounts_grant__staff_of_a_demo_window__me_shows_it(world: World):
    # given: a window id as the API shows it
    # when: the operator grants a new clerk that window
    result = world.app.test_cli_runner().invoke(args=[
        "accounts", "grant", "--uid", "clerk-new", "--role", "staff",
        "--window", str(world.window_b1)])
    # then: the clerk's token now carries the grant and can read the window's day
    assert result.exit_code == 0, result.output
    me = world.gql("{ me { roles { role scope } } }", uid="clerk-new")["data"]["me"]
    assert me["roles"] == [{"role": "staff", "scope": str(world.window_b1)}]
    day = world.gql("""query($w: ID!, $d: Date!) { windowAppointments(windowId: $w, date: $d)
        { id } }""", {"w": str(world.window_b1), "d": world.day.isoformat()}, uid="clerk-new")
    assert day == {"data": {"windowAppointments": []}}
    # and: the staff of window A1 still cannot
    denied = world.gql("""query($w: ID!, $d: Date!) { windowAppointments(windowId: $w, date: $d)
        { id } }""", {"w": str(world.window_b1), "d": world.day.isoformat()}, uid=STAFF)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
