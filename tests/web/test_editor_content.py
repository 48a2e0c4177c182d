"""The editor console's content screens in chromium: a resident's report (纠错) from the app to
the editor's queue and back to the resident's inbox, dismissed, or resolved with an edit in the
place's form; the import's dry run and apply; a guide edited with its resident-side preview.
axe finds no serious or critical violation on any of them."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Visit, WebServer
from tests.web.test_resident_app import axe_violations

EDITOR = ("demo-editor-1", "内容编辑（杭州市）")
RESIDENT = ("demo-resident-2", "李先生（杭州）")
# 西湖区, WGS-84, away from the demo's places
XIHU = (30.2592, 120.1300)
HEADER = "external_id,name,kind,lat,lon,region_code,beds,available_beds"


@pytest.fixture(scope="module")
def hangzhou_place(web_server: WebServer) -> dict:
    edges = web_server.graphql("BrowsePlaces", {"regionCode": "330100",
                                                "kinds": ["SERVICE_HALL"], "first": 1})
    return edges["places"]["edges"][0]["node"]


def _as_editor(desk: Visit, path: str) -> None:
    desk.go("/")
    desk.sign_in(*EDITOR)
    desk.go(path)
    desk.page.locator(".console-name", has_text="内容编辑台").wait_for()


def _no_violations(visit: Visit) -> None:
    assert axe_violations(visit.page) == []


def test_report__filed_in_the_app__dismissed_by_the_editor__resident_told(
        phone: Visit, desk: Visit, hangzhou_place: dict):
    # given: a resident on a Hangzhou place's page, not signed in yet
    phone.go(f"/places/{hangzhou_place['id']}")

    # when: they open 信息有误, sign in when asked, and are back at the open form
    phone.page.get_by_role("button", name="信息有误").click()
    phone.page.wait_for_url(re.compile(r"/signin\?next="))
    phone.page.get_by_text("登录后继续反馈").wait_for()
    phone.page.get_by_role("button", name=RESIDENT[1]).click()
    phone.page.wait_for_url(re.compile(rf"/places/{hangzhou_place['id']}\?report=1$"))

    # and report wrong hours with a note and their position
    phone.page.get_by_role("button", name="办公时间有误").click()
    phone.page.get_by_label("补充说明（可选）").fill("周六上午已不对外办公")
    phone.page.get_by_label("附上我的位置（帮助核实地点）").check()
    _no_violations(phone)
    phone.shot("report-form")
    phone.page.get_by_role("button", name="提交").click()

    # then: confirmed; a second report of the same place is told it is in hand
    phone.page.get_by_text("已收到您的反馈").wait_for()
    phone.shot("report-sent")
    phone.page.get_by_role("button", name="关闭").click()
    phone.page.get_by_role("button", name="信息有误").click()
    phone.page.get_by_role("button", name="其他").click()
    phone.page.get_by_role("button", name="提交").click()
    phone.page.get_by_text("正在处理中").wait_for()

    # when: the Hangzhou editor opens the queue
    _as_editor(desk, "/editor/reports")
    row = desk.page.locator("tr", has_text="周六上午已不对外办公")
    row.wait_for()
    assert "办公时间有误" in row.inner_text() and hangzhou_place["name"] in row.inner_text()
    row.get_by_role("button", name="查看居民位置").click()
    row.locator(".report-map .leaflet-interactive").first.wait_for()
    _no_violations(desk)
    desk.shot("editor-reports")

    # and dismisses it with a reason (an empty one is refused first)
    row.get_by_role("button", name="驳回").click()
    row.get_by_role("button", name="确认驳回").click()
    row.get_by_text("请填写驳回原因").wait_for()
    row.get_by_label("驳回原因").fill("经电话核实，周六上午正常办公")
    row.get_by_role("button", name="确认驳回").click()
    desk.page.get_by_text("已驳回「").wait_for()
    assert desk.page.locator("tr", has_text="周六上午已不对外办公").count() == 0
    desk.page.get_by_role("button", name="已驳回").click()
    desk.page.locator("tr", has_text="经电话核实，周六上午正常办公").wait_for()

    # then: the resident's inbox says so
    phone.go("/messages")
    phone.page.get_by_text("纠错未采纳").wait_for()
    phone.page.get_by_text("经电话核实，周六上午正常办公", exact=False).first.wait_for()


def _upload(desk: Visit, name: str, rows: list[str]) -> None:
    desk.page.get_by_label("文件", exact=True).set_input_files({
        "name": name, "mimeType": "text/csv",
        "buffer": "\n".join([HEADER, *rows]).encode()})


def test_import__bad_row_shown_in_the_dry_run__then_a_good_file_applied(desk: Visit):
    _as_editor(desk, "/editor/import")
    desk.page.get_by_label("数据来源").fill("browser-list")
    good = [f"browser-{i},浏览器导入养老院 {i},养老院,{XIHU[0] + 0.001 * i},{XIHU[1]},330106,40,4"
            for i in range(2)]

    # when: a file whose second data row has no valid latitude is previewed
    _upload(desk, "bad.csv", [good[0], "browser-9,坏行养老院,养老院,abc,120.13,330106,40,4"])
    desk.page.get_by_role("button", name="预览（不写入）").click()

    # then: the row's error with its line, and nothing to apply
    error = desk.page.locator("table.errors tr", has_text="第 3 行")
    error.wait_for()
    assert "lat" in error.inner_text()
    assert desk.page.get_by_role("button", name="确认导入").is_disabled()
    _no_violations(desk)
    desk.shot("editor-import-errors")

    # when: the corrected file is previewed, then applied
    _upload(desk, "good.csv", good)
    desk.page.get_by_role("button", name="预览（不写入）").click()
    desk.page.get_by_role("heading", name="预览：可以导入").wait_for()
    assert re.search(r"2\s*新建", desk.page.locator(".counts").inner_text())
    desk.shot("editor-import-preview")
    desk.page.get_by_role("button", name="确认导入").click()

    # then
    desk.page.get_by_role("heading", name="导入完成").wait_for()
    assert re.search(r"2\s*新建", desk.page.locator(".counts").inner_text())
    _no_violations(desk)


def test_items__guide_edited__preview_follows__saved(desk: Visit):
    _as_editor(desk, "/editor/items")
    desk.page.locator(".list .item").first.click()
    desk.page.get_by_role("textbox", name="事项说明").wait_for()

    # when: the summary changes and a material is added, required only for proxies
    desk.page.get_by_role("textbox", name="事项说明").fill("浏览器测试：修改后的事项说明。")
    desk.page.get_by_role("button", name="添加材料").click()
    last = desk.page.locator(".material").last
    last.get_by_placeholder("名称").fill("浏览器测试材料")

    # then: the preview shows it as residents will
    preview = desk.page.locator(".preview")
    preview.get_by_text("浏览器测试：修改后的事项说明。").wait_for()
    preview.get_by_text("浏览器测试材料").wait_for()
    _no_violations(desk)
    desk.page.get_by_role("textbox", name="事项说明").scroll_into_view_if_needed()
    desk.page.evaluate("window.scrollTo(0, 0)")
    desk.shot("editor-guide")

    # when: an invalid entry link is saved, the API's message names it; a valid one saves
    desk.page.get_by_label("网上办理入口").fill("http://example.invalid")
    desk.page.get_by_role("button", name="保存").click()
    desk.page.locator(".field-error", has_text="online_url").wait_for()
    desk.page.get_by_label("网上办理入口").fill("https://www.gjzwfw.gov.cn/")
    desk.page.get_by_role("button", name="保存").click()
    desk.page.get_by_text("已保存「").wait_for()


def test_report__resolved_with_an_edit__linked_revision__resident_told(
        phone: Visit, desk: Visit, web_server: WebServer):
    # given: a resident reports wrong hours of another Hangzhou hall from the app
    edges = web_server.graphql("BrowsePlaces", {"regionCode": "330100",
                                                "kinds": ["SERVICE_HALL"], "first": 3})
    place = edges["places"]["edges"][2]["node"]
    phone.go("/")
    phone.sign_in("demo-resident-3", "张大爷（南京）")
    phone.go(f"/places/{place['id']}")
    phone.page.get_by_role("button", name="信息有误").click()
    phone.page.get_by_role("button", name="办公时间有误").click()
    phone.page.get_by_label("补充说明（可选）").fill("周日也开门，请更新")
    phone.page.get_by_role("button", name="提交").click()
    phone.page.get_by_text("已收到您的反馈").wait_for()

    # when: the editor opens it from the queue: the place's form with the report beside it
    _as_editor(desk, "/editor/reports")
    row = desk.page.locator("tr", has_text="周日也开门，请更新")
    row.get_by_role("link", name="处理").click()
    desk.page.wait_for_url(re.compile(rf"/editor/places/{place['id']}\?report=\d+$"))
    panel = desk.page.get_by_role("complementary", name="居民纠错")
    panel.get_by_text("周日也开门，请更新").wait_for()
    resolve = panel.get_by_role("button", name="已按此修改，标记为已解决")
    # not before the fix is saved
    assert resolve.is_disabled()

    # and fixes the hours, saves, and marks the report resolved with a note
    desk.page.get_by_label("营业时间").fill("Mo-Su 09:00-17:00; PH off")
    desk.page.get_by_role("button", name="保存修改").click()
    desk.page.get_by_text("已保存（版本").wait_for()
    panel.get_by_label("处理说明（可选，告知居民）").fill("已更新为每天开放")
    resolve.click()
    panel.get_by_text("已标记为已解决").wait_for()
    _no_violations(desk)

    # then: the report is linked to the version the edit saved, and the place has the fix
    version = re.search(r"已保存（版本 ?(\d+)", desk.page.get_by_text("已保存（版本").inner_text())
    panel.get_by_text(f"已解决（版本 {version.group(1)}）").wait_for()
    saved = web_server.graphql("PlaceDetail", {"id": place["id"]})["place"]
    assert saved["openingHours"] == "Mo-Su 09:00-17:00; PH off"

    # and the resident's inbox says it was taken, with the editor's note
    phone.go("/messages")
    phone.page.get_by_text("纠错已采纳").wait_for()
    phone.page.get_by_text("已更新为每天开放", exact=False).first.wait_for()
