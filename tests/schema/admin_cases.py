"""Cases of the admin console's documents for the statement contract
(test_operation_contract.py): role grants and the holiday calendar, as the world's admin.
Calendar days are set far in the future (years of their own), so no other test's day moves."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from backend.booking.models import ServiceWindow, WindowServiceItem
from backend.places.models import HolidayDay
from tests.booking.conftest import ADMIN, HANGZHOU, World
from tests.helpers import grant_role, operation

_serial = itertools.count(1)


def _windows(world: World, count: int) -> list[int]:
    with world.session() as session:
        windows = [ServiceWindow(place_id=world.hall_a, name=f"授权窗口 {next(_serial)}",
                                 is_active=True) for _ in range(count)]
        session.add_all(windows)
        session.flush()
        session.add_all(WindowServiceItem(window_id=window.id, service_item_id=world.item)
                        for window in windows)
        return [window.id for window in windows]


def admin_grants(world: World, size: int):
    uid = f"granted-contract-{next(_serial)}"
    with world.session() as session:
        for window_id in _windows(world, size):
            grant_role(session, uid, "staff", window_id=window_id)
    return ADMIN, {"uid": uid}


def admin_window(world: World, _size: None):
    return ADMIN, {"id": str(world.window_a1)}


def admin_region(world: World, _size: None):
    return ADMIN, {"code": HANGZHOU}


def grant_role_case(world: World, _size: None):
    return ADMIN, {"uid": f"granted-contract-{next(_serial)}", "role": "staff",
                   "windowId": str(world.window_a1)}


def revoke_role(world: World, _size: None):
    variables = {"uid": f"granted-contract-{next(_serial)}", "role": "editor",
                 "regionCode": HANGZHOU}
    with world.session() as session:
        grant_role(session, variables["uid"], "editor", region_code=HANGZHOU)
    return ADMIN, variables


def calendar_days(world: World, size: int):
    year = 2200 + next(_serial)
    with world.session() as session:
        session.add_all(HolidayDay(day=date(year, 1, 1) + timedelta(days=n), kind="holiday",
                                   name="契约假日", source="manual") for n in range(size))
    return ADMIN, {"year": year}


def _future_day_with_a_booking(world: World) -> date:
    """A day of its own years ahead, one of whose slots is booked (the follow-through has a
    free slot to remove and a booked one to report)."""
    from tests.schema.test_operation_contract import _appointment, _resident

    day = date(2090, 1, 1) + timedelta(days=next(_serial))
    (window,) = _windows(world, 1)
    with world.session() as session:
        grant_role(session, f"clerk-contract-holiday-{next(_serial)}", "staff",
                   window_id=window)
    _appointment(world, world.add_slot(window, day, "09:00"), _resident())
    world.add_slot(window, day, "09:30")
    return day


def set_calendar_day(world: World, _size: None):
    day = _future_day_with_a_booking(world)
    return ADMIN, {"date": day.isoformat(), "kind": "HOLIDAY", "name": "契约假日"}


def clear_calendar_day(world: World, _size: None):
    day = _future_day_with_a_booking(world)
    body = world.gql(operation("SetCalendarDay"), {"date": day.isoformat(), "kind": "HOLIDAY",
                                                   "name": "契约假日"}, uid=ADMIN)
    assert body["data"]["setCalendarDay"]["errors"] == [], body
    return ADMIN, {"date": day.isoformat()}
