"""The admin console (/admin) in chromium: an admin grants a role (the granted user then
opens their console), revokes it, and marks a day a holiday and sees what happened to that
day's slots and which booking now falls on it; axe finds no serious violation on any screen."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.web.conftest import Visit, WebServer
from tests.web.test_resident_app import axe_violations

ADMIN = ("demo-admin-1", "管理员")
GRANTEE = ("demo-resident-2", "李先生（杭州）")


def _bookable(server: WebServer) -> tuple[dict, dict, dict]:
    """A Hangzhou hall with a window, that window, and one of its free slots."""
    edges = server.graphql("FindPlaces", {
        "near": {"lat": 30.2741, "lon": 120.1551}, "kinds": ["SERVICE_HALL"], "first": 10,
    })["places"]["edges"]
    today = date.today()
    for edge in edges:
        place = server.graphql("PlaceSheet", {"id": edge["node"]["id"]})["place"]
        for window in place["windows"]:
            item = window["serviceItems"][0]
            slots = server.graphql("AvailableSlots", {
                "windowId": window["id"], "serviceItemId": item["id"],
                "from": (today + timedelta(days=2)).isoformat(),
                "to": (today + timedelta(days=13)).isoformat()},
                uid="demo-resident-1")["availableSlots"]
            if slots:
                return place, window, {**slots[0], "item": item["id"]}
    raise AssertionError("no bookable window near Hangzhou in the demo data")


def _axe(desk: Visit, screen: str) -> None:
    assert axe_violations(desk.page) == [], screen


def test_admin__grants_revokes_and_marks_a_holiday(desk: Visit, web_server: WebServer):
    place, window, slot = _bookable(web_server)
    desk.go("/")
    desk.sign_in(*ADMIN)
    page = desk.page

    # --- grants: the list, then a staff grant confirmed with the window and hall names
    desk.go("/admin")
    page.get_by_role("heading", name="角色授权").wait_for()
    expect(page.get_by_role("cell", name="demo-staff-1", exact=True)).to_be_visible()
    _axe(desk, "grants")
    page.get_by_label("用户 uid", exact=True).last.fill(GRANTEE[0])
    page.get_by_label("角色", exact=True).last.select_option("staff")
    page.get_by_label("窗口编号").fill(window["id"])
    expect(page.get_by_text(f"{place['name']} · {window['name']}").first).to_be_visible()
    page.get_by_role("button", name="授权", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"已授权：{GRANTEE[0]} 为窗口人员")
    expect(page.get_by_role("row", name=re.compile(GRANTEE[0]))).to_contain_text(place["name"])
    desk.shot("admin-grants")

    # bad input is refused on its field, in Chinese
    page.get_by_label("窗口编号").fill("99999999")
    expect(page.get_by_text("没有这个窗口")).to_be_visible()
    page.get_by_role("button", name="授权", exact=True).click()
    expect(page.get_by_text("窗口 99999999 不存在")).to_be_visible()
    _axe(desk, "grants with an error")

    # --- the granted user opens the staff console
    desk.sign_in(*GRANTEE)
    desk.go("/staff")
    page.locator(".console-name", has_text="窗口工作台").wait_for()
    page.locator(".console-main h1").first.wait_for()
    assert page.get_by_text("的权限").count() == 0

    # --- revoke, after a confirmation
    desk.sign_in(*ADMIN)
    desk.go("/admin")
    page.get_by_role("button", name=f"撤销 {GRANTEE[0]} 的窗口人员授权").click()
    page.get_by_role("button", name="确认撤销").click()
    expect(page.get_by_role("status")).to_contain_text(f"已撤销：{GRANTEE[0]}")
    expect(page.get_by_role("cell", name=GRANTEE[0], exact=True)).to_have_count(0)
    desk.sign_in(*GRANTEE)
    desk.go("/staff")
    page.get_by_role("heading", name="没有窗口工作台的权限").wait_for()

    # --- the holiday calendar: a booked day made a holiday
    booked = web_server.graphql("BookAppointment", {
        "slotId": slot["id"], "serviceItemId": slot["item"], "idempotencyKey": "admin-journey"},
        uid="demo-resident-1")["bookAppointment"]
    assert booked["errors"] == [], booked
    day = slot["startsAt"][:10]
    desk.sign_in(*ADMIN)
    desk.go("/admin/calendar")
    page.get_by_role("heading", name="节假日", exact=True).wait_for()
    page.get_by_role("heading", name="10 月").wait_for()  # the seeded 国庆节
    _axe(desk, "calendar")
    page.get_by_label("日期", exact=True).fill(day)
    page.get_by_label("类型").select_option("HOLIDAY")
    page.get_by_label("名称").fill("临时放假")
    page.get_by_role("button", name="保存").click()
    result = page.get_by_role("status", name="处理结果")
    # every demo window (800+) has its day regenerated: seconds on SQLite
    expect(result).to_contain_text(f"{day} 已设为放假", timeout=60_000)
    expect(result).to_contain_text("以下 1 个预约落在节假日")
    expect(result.get_by_role("cell", name=re.compile(window["name"]))).to_be_visible()
    removed = int(re.search(r"删除 (\d+)", result.inner_text()).group(1))
    assert removed > 0
    expect(page.get_by_role("row", name=re.compile(f"{day}.*临时放假"))).to_be_visible()
    _axe(desk, "calendar with a result")
    desk.shot("admin-calendar")

    # the day's free slots are gone for residents at once
    left = web_server.graphql("AvailableSlots", {
        "windowId": window["id"], "serviceItemId": slot["item"], "from": day, "to": day},
        uid="demo-resident-1")["availableSlots"]
    assert left == []

    # and clearing it brings them back
    page.get_by_role("button", name=f"把 {day} 恢复为普通日期").click()
    expect(result).to_contain_text(f"{day} 已恢复为普通日期", timeout=60_000)
    created = int(re.search(r"新增 (\d+)", result.inner_text()).group(1))
    assert created == removed
