"""The admins' GraphQL: role grants (grantRole, revokeRole, grants) with the CLI's rules, and
the holiday calendar (calendarDays, setCalendarDay, clearCalendarDay) answering with what the
change did to the day's slots. Anyone else gets FORBIDDEN and nothing changes; bad input is
refused in the payload, in Chinese, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from backend.accounts.models import RoleGrant
from backend.places.calendar import MANUAL_SOURCE, seed_calendar
from backend.places.models import HolidayDay
from tests.booking.conftest import ADMIN, EDITOR, HANGZHOU, RESIDENT, STAFF, World
from tests.booking.test_booking_rules import booked_id
from tests.helpers import operation


@pytest.fixture
def admin_world(world: World) -> Iterator[World]:
    yield world
    with world.session() as session:
        session.execute(delete(HolidayDay).where(HolidayDay.source == MANUAL_SOURCE))
        seed_calendar(session)


def grants_of(world: World, uid: str) -> list[tuple]:
    statement = select(RoleGrant.role, RoleGrant.scope).where(RoleGrant.uid == uid)
    with world.session() as session:
        return sorted(tuple(row) for row in session.execute(statement))


def calendar_rows(world: World) -> list[tuple]:
    statement = select(HolidayDay.day, HolidayDay.kind, HolidayDay.name, HolidayDay.source)
    with world.session() as session:
        return sorted(tuple(row) for row in session.execute(statement))


def test_admin__grants_and_revokes__names_of_window_and_region_shown(admin_world):
    world = admin_world
    body = world.gql(operation("GrantRole"), {"uid": "new-clerk", "role": "staff",
                                              "windowId": str(world.window_b1)}, uid=ADMIN)
    grant = body["data"]["grantRole"]["grant"]
    assert grant["window"]["place"]["name"] == "玄武区政务服务中心"
    assert grants_of(world, "new-clerk") == [("staff", str(world.window_b1))]
    body = world.gql(operation("GrantRole"), {"uid": "new-editor", "role": "editor",
                                              "regionCode": HANGZHOU}, uid=ADMIN)
    assert body["data"]["grantRole"]["grant"]["region"]["name"] == "杭州市"
    listed = world.gql(operation("AdminGrants"), {"role": "editor"}, uid=ADMIN)["data"]["grants"]
    assert {g["uid"] for g in listed} == {EDITOR, "new-editor"}
    body = world.gql(operation("RevokeRole"), {"uid": "new-clerk", "role": "staff",
                                               "windowId": str(world.window_b1)}, uid=ADMIN)
    assert body["data"]["revokeRole"] == {"revoked": True, "errors": []}
    assert grants_of(world, "new-clerk") == []
    again = world.gql(operation("RevokeRole"), {"uid": "new-clerk", "role": "staff",
                                                "windowId": str(world.window_b1)}, uid=ADMIN)
    assert again["data"]["revokeRole"]["revoked"] is False


@pytest.mark.parametrize(("variables", "field", "message"), [
    ({"uid": " ", "role": "staff", "windowId": "1"}, "uid", "uid 不能为空"),
    ({"uid": "x", "role": "boss"}, "role", "未知角色"),
    ({"uid": "x", "role": "staff"}, "windowId", "需要指定窗口"),
    ({"uid": "x", "role": "staff", "windowId": "999999"}, "windowId", "不存在"),
    ({"uid": "x", "role": "editor", "regionCode": "999999"}, "regionCode", "不存在"),
    ({"uid": "x", "role": "admin", "regionCode": HANGZHOU}, "regionCode", "不能指定地区"),
])
def test_admin__grant_bad_input__refused_in_chinese_nothing_granted(admin_world, variables,
                                                                    field, message):
    world = admin_world
    body = world.gql(operation("GrantRole"), variables, uid=ADMIN)
    payload = body["data"]["grantRole"]
    assert payload["grant"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert message in error["message"]
    assert grants_of(world, "x") == []


@pytest.mark.parametrize("uid", [STAFF, EDITOR, RESIDENT])
def test_admin__not_an_admin__forbidden_nothing_changes(admin_world, uid):
    world = admin_world
    before, days = grants_of(world, STAFF), calendar_rows(world)
    cases = [
        ("GrantRole", {"uid": STAFF, "role": "admin"}),
        ("RevokeRole", {"uid": STAFF, "role": "staff", "windowId": str(world.window_a1)}),
        ("AdminGrants", {}),
        ("CalendarDays", {"year": world.day.year}),
        ("SetCalendarDay", {"date": world.day.isoformat(), "kind": "HOLIDAY", "name": "假"}),
        ("ClearCalendarDay", {"date": world.day.isoformat()}),
    ]
    for name, variables in cases:
        body = world.gql(operation(name), variables, uid=uid)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (name, body)
    for name, variables in cases:
        body = world.gql(operation(name), variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (name, body)
    assert grants_of(world, STAFF) == before and calendar_rows(world) == days
    assert len([world.slot(s) for s in world.slots.values()]) == 4


def test_admin__set_holiday__follow_through_answered_and_listed(admin_world):
    world = admin_world
    appointment = booked_id(world, world.slots["a1-0900"], world.item)
    body = world.gql(operation("SetCalendarDay"), {"date": world.day.isoformat(),
                                                   "kind": "HOLIDAY", "name": "临时放假"},
                     uid=ADMIN)
    payload = body["data"]["setCalendarDay"]
    assert payload["errors"] == [] and payload["changed"] is True
    assert payload["day"] == {"date": world.day.isoformat(), "kind": "HOLIDAY",
                              "name": "临时放假", "source": "manual", "manual": True}
    done = payload["followThrough"]
    assert (done["slotsRemoved"], done["slotsClosed"]) == (3, 1)
    assert [(a["id"], a["placeName"]) for a in done["appointments"]] == [
        (str(appointment), "西湖区政务服务中心")]
    days = world.gql(operation("CalendarDays"), {"year": world.day.year},
                     uid=ADMIN)["data"]["calendarDays"]
    assert {"date": world.day.isoformat(), "kind": "HOLIDAY", "name": "临时放假",
            "source": "manual", "manual": True} in days
    cleared = world.gql(operation("ClearCalendarDay"), {"date": world.day.isoformat()},
                        uid=ADMIN)["data"]["clearCalendarDay"]
    assert cleared["day"]["kind"] == "ORDINARY" and cleared["followThrough"]["slotsReopened"] == 1


@pytest.mark.parametrize(("variables", "field", "message"), [
    ({"kind": "HOLIDAY", "name": "  "}, "name", "名称不能为空"),
    ({"kind": "HOLIDAY", "name": "假" * 65}, "name", "名称过长"),
    ({"kind": "ORDINARY", "name": "普通"}, "kind", "日期类型无效"),
])
def test_admin__set_day_bad_input__refused_in_chinese_nothing_changed(admin_world, variables,
                                                                      field, message):
    world = admin_world
    days = calendar_rows(world)
    body = world.gql(operation("SetCalendarDay"), {"date": world.day.isoformat(), **variables},
                     uid=ADMIN)
    [error] = body["data"]["setCalendarDay"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert message in error["message"]
    assert calendar_rows(world) == days and len(
        [s for s in world.slots.values() if world.slot(s).status == "open"]) == 4


def test_admin__makeup_workday_without_name__named_tiaoxiu(admin_world):
    world = admin_world
    body = world.gql(operation("SetCalendarDay"), {"date": world.day.isoformat(),
                                                   "kind": "WORKDAY"}, uid=ADMIN)
    assert body["data"]["setCalendarDay"]["day"]["name"] == "调休上班"
