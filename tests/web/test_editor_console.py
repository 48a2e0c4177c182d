"""The editor console's places (/editor) in chromium, as the demo editor of 杭州市 (330100):
the filtered list and map, the edit form (drag the marker out of the county, see and fix
OUTSIDE_REGION, acknowledge the warnings, edit the hours), the revision diff and "revert",
"find by address", and a Shanghai place refused. axe on every screen."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import expect

from backend.accounts.dev_token import emulator_token
from backend.fixtures.demo_accounts import DEMO_WORKERS
from tests.helpers import operation
from tests.web.conftest import PROJECT, Visit, WebServer
from tests.web.test_resident_app import axe_violations

EDITOR = next(worker for worker in DEMO_WORKERS if worker["role"] == "editor")
XIHU = "330106"


def _outlines_drawn(desk: Visit) -> None:
    """Wait for the region outlines under the markers (for the screenshots)."""
    desk.page.wait_for_function(
        "() => document.querySelectorAll('.editor-map .leaflet-overlay-pane path').length > 1")


def _sign_in(desk: Visit) -> None:
    desk.go("/signin")
    desk.page.get_by_role("button", name=EDITOR["name"]).click()
    desk.page.wait_for_url(re.compile(r"/me$"))


def _hall(web_server: WebServer) -> dict:
    """A live service hall of 西湖区 with opening hours."""
    edges = web_server.graphql("EditorPlaces", {"regionCode": XIHU, "kinds": ["SERVICE_HALL"],
                                                "archived": False, "first": 50},
                               uid=EDITOR["uid"])["editorPlaces"]["edges"]
    return next(edge["node"] for edge in edges if edge["node"]["openingHours"])


def _shanghai_place(web_server: WebServer) -> dict:
    edges = web_server.graphql("BrowsePlaces", {"regionCode": "310000", "first": 1})
    return next(iter(edges.values()))["edges"][0]["node"]


def _post(web_server: WebServer, name: str, variables: dict, uid: str) -> dict:
    request = urllib.request.Request(
        web_server.base + "/graphql",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {emulator_token(uid, PROJECT)}"},
        data=json.dumps({"query": operation(name), "variables": variables}).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_editor__list_filters_edit_drag_fix_hours_revert_geocode(desk: Visit,
                                                                 web_server: WebServer):
    page = desk.page
    hall = _hall(web_server)
    _sign_in(desk)

    # the list: filtered to halls of 西湖区 by name, on the table and the map
    desk.go("/editor")
    page.get_by_role("heading", name="地点", exact=True).wait_for()
    page.locator(".console-table tbody tr").first.wait_for()
    _outlines_drawn(desk)
    # the region filter names the editor's grant
    region = page.get_by_label("地区").locator("option", has_text="杭州市（330100）")
    expect(region).to_have_count(1)
    desk.shot("editor-places")
    page.get_by_label("类型").select_option("SERVICE_HALL")
    page.get_by_label("名称或地址").fill(hall["name"])
    page.get_by_role("button", name="查询").click()
    row = page.locator(".console-table tbody tr", has_text=hall["name"]).first
    row.wait_for()
    kinds = page.locator(".console-table tbody tr td:nth-child(2)").all_inner_texts()
    assert kinds and set(kinds) == {"通办窗口"}, kinds
    assert page.locator(".editor-map .leaflet-interactive").count() >= 1
    assert axe_violations(page) == []
    page.get_by_label("名称或地址").fill("")
    page.get_by_label("无营业时间").check()
    page.get_by_role("button", name="查询").click()
    rows = page.locator(".console-table tbody tr")
    page.get_by_text("没有符合条件的地点").or_(rows.first).wait_for()

    # the edit form: the marker on the hall, in its county
    desk.go(f"/editor/places/{hall['id']}")
    page.get_by_role("heading", name=f"编辑地点：{hall['name']}").wait_for()
    marker = page.locator(".leaflet-marker-icon.editor-pin")
    marker.wait_for()
    _outlines_drawn(desk)
    page.get_by_text("（与所填区县一致）").wait_for()
    assert axe_violations(page) == []

    # dragged far east (zoomed out first): the county check and the API's error on the field
    for _ in range(4):
        page.locator(".leaflet-control-zoom-out").click()
        page.wait_for_timeout(300)
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 10, steps=8)
    page.mouse.move(x + 260, y + 20, steps=8)
    page.mouse.up()
    hint = page.locator(".field-error", has_text="不是所填的区县")
    hint.wait_for()
    page.get_by_role("button", name="保存修改").click()
    error = page.locator('.field-error[data-field="location"]')
    error.wait_for()
    assert "不在所填的" in error.inner_text()
    desk.shot("editor-place-outside-county")

    # fixed: the county the point is in, then the warnings (a large move) acknowledged
    page.locator(".field-error button", has_text="改为").click()
    page.get_by_text("（与所填区县一致）").wait_for()
    page.get_by_role("button", name="保存修改").click()
    page.get_by_text("请确认以下提示").wait_for()
    for box in page.locator(".editor-warning input").all():
        box.check()
    page.get_by_role("button", name="保存修改").click()
    page.get_by_text("已保存（版本").wait_for()
    assert page.locator('.field-error[data-field="location"]').count() == 0

    # the opening hours edited and saved; the revision shows the change field by field
    hours = page.get_by_label("营业时间")
    hours.fill("Mo-Sa 08:30-17:30; PH off")
    page.get_by_role("button", name="保存修改").click()
    page.get_by_text("已保存（版本").wait_for()
    latest = page.locator(".editor-revisions > li").first
    diff = latest.locator("tr", has_text="营业时间")
    diff.wait_for()
    assert "Mo-Sa 08:30-17:30; PH off" in diff.inner_text()
    assert hall["openingHours"] in diff.inner_text()
    page.locator("#revisions-title").scroll_into_view_if_needed()
    desk.shot("editor-place-revisions")
    assert axe_violations(page) == []

    # reverted to the first version: hours and county as they were
    first = page.locator(".editor-revisions > li").last
    first.get_by_role("button", name="恢复到此版本").click()
    first.get_by_role("button", name="确认恢复").click()
    page.get_by_text("已恢复到所选版本").wait_for()
    page.wait_for_function(
        "hours => document.querySelector('#f-hours').value === hours", arg=hall["openingHours"])
    assert page.locator("#f-region").input_value() == hall["region"]["code"]

    # find by address: candidates with their precision; picking one moves the point
    page.get_by_label("按地址查找", exact=True).fill("杭州市西湖区")
    page.get_by_role("button", name="查找地址").click()
    candidates = page.locator(".editor-candidates li")
    candidates.first.wait_for()
    assert "精度" in candidates.first.inner_text()
    before = page.get_by_label("纬度").input_value()
    page.locator("#map-title").evaluate("title => title.scrollIntoView()")
    desk.shot("editor-place-geocode")
    assert axe_violations(page) == []
    candidates.first.get_by_role("button", name="使用此位置").click()
    page.wait_for_function(
        "lat => document.querySelector('[aria-label=纬度]').value !== lat", arg=before)


def test_editor__new_place_form__every_field_and_accessible(desk: Visit):
    _sign_in(desk)
    desk.go("/editor/places/new")
    page = desk.page
    page.get_by_role("heading", name="新建地点").wait_for()
    page.get_by_label("类型").select_option("ELDERLY_CARE")
    for label in ("名称", "地址", "电话", "营业时间", "纬度", "经度", "坐标系", "所在区县",
                  "床位总数", "空余床位", "接收异地老人", "照护等级", "数据来源", "来源编号"):
        assert page.get_by_label(label, exact=True).count() == 1, label
    page.get_by_label("类型").select_option("CLINIC")
    assert page.get_by_label("医院等级").count() == 1
    assert page.get_by_label("跨省直接结算").count() == 1
    assert axe_violations(page) == []


def test_editor__shanghai_place__refused_by_console_and_api(desk: Visit, web_server: WebServer):
    place = _shanghai_place(web_server)
    # a crafted request: the edit form's document, and the list scoped to Shanghai
    body = _post(web_server, "EditPlace", {"id": place["id"]}, EDITOR["uid"])
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    body = _post(web_server, "EditorPlaces", {"regionCode": "310000"}, EDITOR["uid"])
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    # the console says so
    _sign_in(desk)
    desk.go(f"/editor/places/{place['id']}")
    desk.page.get_by_role("heading", name="无权编辑该地点").wait_for()
    assert desk.page.locator("#f-name").count() == 0
    assert axe_violations(desk.page) == []


def test_editor__stale_version__reload_keeps_both_changes(desk: Visit, web_server: WebServer):
    # given: a clinic of 西湖区 open in the form
    edges = web_server.graphql("EditorPlaces", {"regionCode": XIHU, "kinds": ["CLINIC"],
                                                "archived": False, "first": 5},
                               uid=EDITOR["uid"])["editorPlaces"]["edges"]
    clinic = edges[0]["node"]
    _sign_in(desk)
    desk.go(f"/editor/places/{clinic['id']}")
    page = desk.page
    page.get_by_role("heading", name=f"编辑地点：{clinic['name']}").wait_for()
    # when: someone else saves a new phone number first, then this editor saves new hours
    saved = web_server.graphql("UpdatePlace", {"id": clinic["id"], "version": clinic["version"],
                                               "input": {"phone": "0571-87651234"}},
                               uid=EDITOR["uid"])["updatePlace"]
    assert saved["errors"] == [], saved
    page.get_by_label("营业时间").fill("Mo-Fr 08:00-16:00")
    page.get_by_role("button", name="保存修改").click()
    # then: told, and reloading keeps the other editor's phone and this editor's hours
    page.get_by_text("该地点已被他人修改").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="载入最新内容并保留我的修改").click()
    page.get_by_text("已载入最新内容").wait_for()
    assert page.get_by_label("电话").input_value() == "0571-87651234"
    assert page.get_by_label("营业时间").input_value() == "Mo-Fr 08:00-16:00"
    page.get_by_role("button", name="保存修改").click()
    page.get_by_text("已保存（版本").wait_for()
