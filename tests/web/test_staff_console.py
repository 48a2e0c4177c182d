"""The staff console (/staff) in chromium: a window clerk's day. The demo clerk opens today's
queue of their window, checks a resident in by the typed code and another by scanning the QR
with the camera (a fake camera stream playing a y4m of the QR), marks a no-show, closes out the
day, closes and reopens a slot in the week view, and previews, saves and deletes a weekly
template. axe on every screen; SCREENSHOTS=1 writes the README's pictures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.accounts.models import Account, RoleGrant
from backend.booking.appointments import materials_of
from backend.booking.models import Appointment, ServiceWindow, Slot, WindowServiceItem
from backend.core.clock import BUSINESS_TZ
from backend.guidance.models import ServiceItem
from backend.guidance.queries import guide_of
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Visit, WebServer
from tests.web.test_resident_app import axe_violations

CLERK = "窗口人员（杭州）"


def _beijing(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=BUSINESS_TZ).astimezone(UTC)


@dataclass
class ClerkDay:
    window_id: int
    hall_id: int
    item_id: int
    typed: dict  # appointment booked through the API with guide answers: checked in by code
    scanned: dict  # booked through the API: checked in by QR
    missed: str  # code of a booked appointment whose slot has ended: marked no-show
    closed_out: str  # another one: the close-out makes it a no-show
    materials: list[str]  # what the typed one's answers make the resident bring


@pytest.fixture(scope="module")
def clerk_day(web_server: WebServer) -> ClerkDay:
    """Today at the demo clerk's window, whatever the hour: two ended slots (00:00–00:01 and
    00:02–00:03) with two booked residents each — one answered the guide's questions — and a
    free slot next Monday at 07:00. Rows written directly: booking refuses a started slot, and
    a slot "later today" does not exist late in the evening (the API's own booking with answers
    is the journey of test_resident__answers_in_the_guide_then_books__window_sees_the_materials)."""
    today = datetime.now(BUSINESS_TZ).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    engine = create_engine(web_server.database_url)
    with Session(engine) as session, session.begin():
        window_id = int(session.scalar(select(RoleGrant.scope).where(
            RoleGrant.uid == "demo-staff-1", RoleGrant.role == "staff")))
        item_id = session.scalar(select(WindowServiceItem.service_item_id).where(
            WindowServiceItem.window_id == window_id).order_by(WindowServiceItem.service_item_id))
        item = session.get(ServiceItem, item_id)
        hall_id = session.get(ServiceWindow, window_id).place_id
        question = guide_of(item).questions[0].id
        answers = {question: True}
        materials = [m.name for m in materials_of(item, answers).materials]
        slots = {}
        for day, clock, minutes in ((today, "00:00", 1), (today, "00:02", 1),
                                    (next_monday, "07:00", 10)):
            slot = Slot(window_id=window_id, day=day, starts_at=_beijing(day, clock),
                        ends_at=_beijing(day, clock) + timedelta(minutes=minutes), capacity=4,
                        booked=0, status="open", is_manual=True)
            session.add(slot)
            session.flush()
            slots[clock] = slot
        # codes of the booking alphabet (CODE_ALPHABET), unlike any the demo hands out
        bookings = [("missed", "00:00", "WEBM1SS0", None),
                    ("closed-out", "00:00", "WEBC10SE", None),
                    ("typed", "00:02", "WEBTYPE0", answers),
                    ("scanned", "00:02", "WEBSCAN0", None)]
        for name, clock, code, given in bookings:
            uid = f"web-resident-{name}"
            session.add(Account(uid=uid))
            session.flush()
            session.add(Appointment(uid=uid, slot_id=slots[clock].id, window_id=window_id,
                                    service_item_id=item_id, day=today, status="booked",
                                    code=code, idempotency_key=f"web-{code}", revision=0,
                                    answers=given))
            slots[clock].booked += 1
    engine.dispose()
    return ClerkDay(window_id, hall_id, item_id, {"code": "WEBTYPE0"}, {"code": "WEBSCAN0"},
                    "WEBM1SS0", "WEBC10SE", materials)


def _sign_in_as_clerk(visit: Visit) -> None:
    visit.go("/signin")
    visit.page.get_by_role("button", name=CLERK).click()
    visit.page.wait_for_url(re.compile(r"/me$"))


def _row(page, code: str):
    return page.locator("tr", has=page.locator("td.code", has_text=code))


def _no_serious_axe(page) -> None:
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []


def _fits_a_tablet(visit: Visit, name: str) -> None:
    """Upright on a tablet at the counter (768×1024): nothing wider than the screen."""
    visit.page.set_viewport_size({"width": 768, "height": 1024})
    visit.page.wait_for_timeout(200)
    width = visit.page.evaluate("document.documentElement.scrollWidth")
    visit.page.set_viewport_size(DESKTOP)
    assert width <= 768, f"{name}: {width} px wide on a 768 px tablet"


def _qr_video(code: str, path: Path) -> Path:
    """A y4m (4:2:0) of the QR of `code`, what chromium's fake camera plays in a loop."""
    import numpy as np
    import segno

    matrix = np.array(list(segno.make_qr(code, error="m").matrix_iter(scale=1, border=4)),
                      dtype=bool)
    scale = 8
    modules = np.kron(matrix, np.ones((scale, scale), dtype=bool))
    width, height = 640, 480
    luma = np.full((height, width), 235, dtype=np.uint8)
    top, left = (height - modules.shape[0]) // 2, (width - modules.shape[1]) // 2
    luma[top:top + modules.shape[0], left:left + modules.shape[1]][modules] = 16
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8).tobytes()
    frame = b"FRAME\n" + luma.tobytes() + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
                     + frame * 10)
    return path


def test_staff__clerks_day__queue_check_in_scan_no_show_close_out(
        desk: Visit, clerk_day: ClerkDay, browser, tmp_path: Path):
    page = desk.page
    _sign_in_as_clerk(desk)

    # when: the clerk opens the console
    desk.go("/staff")

    # then: today's queue by slot, with the resident's materials list
    typed = _row(page, clerk_day.typed["code"])
    typed.wait_for()
    assert "已预约" in typed.inner_text()
    for name in clerk_day.materials[:2]:
        assert name in typed.inner_text()
    assert "未填写导办问答" in _row(page, clerk_day.scanned["code"]).inner_text()
    assert page.get_by_text("00:00–00:01 · 2/4").count() == 1
    desk.shot("staff-queue")
    _no_serious_axe(page)
    _fits_a_tablet(desk, "staff-queue")

    # when: the code typed as a resident reads it out (lower case, a dash)
    code = clerk_day.typed["code"]
    page.get_by_label("核验码").fill(f"{code[:4].lower()}-{code[4:].lower()}")
    page.locator("form.checkin-form").get_by_role("button", name="签到", exact=True).click()

    # then: checked in, with the time
    page.get_by_role("status").filter(has_text=f"已签到：{code}").wait_for()
    expect_status(typed, "已签到")
    assert re.search(r"\d\d:\d\d", typed.locator("td").nth(3).inner_text())

    # when: the other resident's QR is scanned with the camera (a second chromium whose
    # fake camera plays the QR)
    video = _qr_video(clerk_day.scanned["code"], tmp_path / "qr.y4m")
    camera = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        context = camera.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                     viewport=DESKTOP, permissions=["camera"])
        counter = Visit(desk.server, context, context.new_page())
        counter.page.set_default_timeout(20_000)
        _sign_in_as_clerk(counter)
        counter.go("/staff")
        _row(counter.page, clerk_day.scanned["code"]).wait_for()
        counter.page.get_by_role("button", name="扫码签到").click()

        # then: the code is read and the resident checked in
        counter.page.get_by_role("status").filter(
            has_text=f"已签到：{clerk_day.scanned['code']}").wait_for()
        expect_status(_row(counter.page, clerk_day.scanned["code"]), "已签到")
        context.close()
    finally:
        camera.close()

    # when: the resident of the ended slot never came
    page.get_by_role("button", name="刷新").click()
    missed = _row(page, clerk_day.missed)
    missed.get_by_role("button", name="未到场").click()

    # then
    expect_status(missed, "未到场")

    # when: the day is closed out, the count confirmed
    page.get_by_role("button", name="日终处理（1 个未到场）").click()
    page.get_by_text("将把 1 个时段已结束").wait_for()
    _no_serious_axe(page)
    page.get_by_role("button", name="确定标记 1 个").click()

    # then: the last booked one of the ended slot is a no-show; the later ones untouched
    page.get_by_role("status").filter(has_text="1 个预约标记为未到场").wait_for()
    expect_status(_row(page, clerk_day.closed_out), "未到场")
    expect_status(_row(page, clerk_day.typed["code"]), "已签到")

    # and the printed list is the list alone
    page.emulate_media(media="print")
    assert not page.locator(".console-header").is_visible()
    assert not page.get_by_label("核验码").is_visible()
    assert page.locator("table.queue").is_visible()
    page.emulate_media(media="screen")


def expect_status(row, status: str) -> None:
    expect(row.locator("td").nth(2)).to_have_text(status)


def test_staff__week_view__close_and_reopen_a_slot(desk: Visit, clerk_day: ClerkDay):
    page = desk.page
    _sign_in_as_clerk(desk)
    desk.go("/staff/week")
    today = datetime.now(BUSINESS_TZ).date()
    next_monday = (today + timedelta(days=7 - today.weekday())).isoformat()
    page.get_by_role("button", name="下一周").click()
    column = page.locator(f"section.day[aria-label$='{next_monday}']")
    slot = column.get_by_role("button", name=re.compile(r"^07:00"))
    slot.wait_for()
    desk.shot("staff-week")
    _no_serious_axe(page)
    _fits_a_tablet(desk, "staff-week")

    # when: the slot is closed with a reason
    slot.click()
    page.get_by_label("停约原因").fill("设备维护")
    page.get_by_role("button", name="停约此时段").click()

    # then
    page.get_by_role("status").filter(has_text="已停约").wait_for()
    expect(slot).to_contain_text("已停约")
    _no_serious_axe(page)

    # when: reopened
    page.get_by_role("button", name="重新开放此时段").click()

    # then: open again, bookable
    page.get_by_role("status").filter(has_text="已重新开放").wait_for()
    expect(slot).to_contain_text("0/4")


def test_staff__templates__preview_save_delete(desk: Visit, clerk_day: ClerkDay):
    page = desk.page
    _sign_in_as_clerk(desk)
    # given: a window the clerk is not granted, left on the device (or typed into it)
    page.evaluate("id => localStorage.setItem('servicemap.staffWindow', id)",
                  str(clerk_day.window_id + 1))
    desk.go("/staff/templates")
    page.get_by_role("heading", name="将生成的时段").wait_for()

    # then: the console works at the clerk's own window, and nothing was refused
    page.locator(".window-name").wait_for()
    assert page.evaluate("localStorage.getItem('servicemap.staffWindow')") == \
        str(clerk_day.window_id)
    assert page.get_by_text("没有权限").count() == 0

    # when: a Sunday afternoon template is filled in
    page.get_by_label("星期").select_option(label="周日")
    page.get_by_label("开始时间").fill("13:00")
    page.get_by_label("结束时间").fill("14:00")
    page.get_by_label("每段时长（分钟）").fill("20")

    # then: the preview lists 3 slots on each Sunday of the horizon
    preview = page.locator("section.preview")
    preview.get_by_text(re.compile(r"共 \d+ 个时段")).wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('.preview-days li')]"
                           ".some((li) => li.textContent.includes('13:00 13:20 13:40'))")
    desk.shot("staff-templates")
    _no_serious_axe(page)
    _fits_a_tablet(desk, "staff-templates")

    # when: saved, then deleted
    page.get_by_role("button", name="保存并生成号源").click()
    page.get_by_role("status").filter(has_text="已保存").wait_for()
    row = page.locator("tr", has_text="13:00–14:00")
    row.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="删除").click()

    # then
    page.get_by_role("status").filter(has_text="已删除").wait_for()
    expect(page.locator("tr", has_text="13:00–14:00")).to_have_count(0)


def test_resident__answers_in_the_guide_then_books__window_sees_the_materials(
        phone: Visit, web_server: WebServer, clerk_day: ClerkDay):
    page = phone.page
    uid = "web-resident-guided"
    phone.go("/")
    phone.sign_in(uid, "居民（导办）")

    # given: the resident answers the guide's first question 是
    phone.go(f"/items/{clerk_day.item_id}")
    page.locator(".question").first.get_by_role("button", name="是").click()
    expect(page.locator(".question").first.get_by_role("button", name="是")) \
        .to_have_attribute("aria-pressed", "true")

    # when: they book the item at the clerk's window
    phone.go(f"/book/{clerk_day.hall_id}?item={clerk_day.item_id}&window={clerk_day.window_id}")
    page.locator(".slot").first.click()
    page.get_by_role("button", name="确认预约").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预约成功")

    # then: the appointment carries the answers' materials, for the resident and the window
    mine = web_server.graphql("MyAppointments", {}, uid=uid)["me"]["appointments"]
    assert [m["name"] for m in mine[0]["materials"]] == clerk_day.materials
    page.goto(web_server.base + "/me")
    page.get_by_text(f"需携带的材料（{len(clerk_day.materials)} 项）").wait_for()
