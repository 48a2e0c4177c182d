"""The resident's journeys through the app in chromium (phone viewport, real server): find →
place → navigation links; guide → checklist; sign in → book → my appointments → cancel;
reschedule; messages; the map down to one place; elderly mode; refused geolocation; offline reload;
axe on every screen in both modes.
The fixtures check that every request went to 127.0.0.1 and only trusted documents were sent."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Visit, WebServer

SERIOUS = {"serious", "critical"}


def meters(text: str) -> float:
    number = float(re.search(r"[\d.]+", text).group())
    return number * 1000 if "公里" in text else number


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


@pytest.fixture(scope="session")
def hall(web_server: WebServer) -> dict:
    """The nearest service hall to the phone that takes bookings."""
    edges = web_server.graphql("FindPlaces", {
        "near": {"lat": 30.2741, "lon": 120.1551}, "kinds": ["SERVICE_HALL"], "first": 10,
    })["places"]["edges"]
    for edge in edges:
        place = web_server.graphql("PlaceSheet", {"id": edge["node"]["id"]})["place"]
        if place["windows"]:
            return place
    pytest.fail("no bookable hall near Hangzhou in the demo data")


def slots_of(server: WebServer, hall: dict, item_id: str, uid: str) -> list[dict]:
    today = date.today()
    return server.graphql("AvailableSlots", {
        "placeId": hall["id"], "serviceItemId": item_id, "from": today.isoformat(),
        "to": (today + timedelta(days=13)).isoformat()}, uid=uid)["availableSlots"]


def appointments(server: WebServer, uid: str) -> list[dict]:
    return server.graphql("MyAppointments", {}, uid=uid)["me"]["appointments"]


# --- find → place → navigate ------------------------------------------------------------------


def test_find__nearest_first__place_with_navigation_links(phone: Visit, web_server: WebServer):
    page = phone.page
    # when: the resident opens the app near West Lake
    phone.go("/")
    cards = page.locator(".place-card")
    expect(cards.first).to_be_visible()
    # then: nearest first, with distance and opening state in words
    distances = [meters(t) for t in page.locator(".place-card__distance").all_inner_texts()]
    assert len(distances) >= 10 and distances == sorted(distances)
    expect(cards.first.locator(".open-state")).to_contain_text(re.compile("营业中|休息中"))
    phone.shot("home")
    # more on scrolling (by cursor)
    for _ in range(6):
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(250)
    expect(cards.nth(25)).to_be_attached()
    # when: only 通办窗口
    page.get_by_role("button", name="通办窗口").click()
    expect(page.get_by_role("button", name="通办窗口")).to_have_attribute("aria-pressed", "true")
    expect(cards.first.locator(".tag")).to_have_text("通办窗口")
    name = cards.first.locator("h2").inner_text()
    cards.first.click()
    # then: the place, with the API's navigation links, each in its datum
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    place_id = page.url.rstrip("/").rsplit("/", 1)[1]
    sheet = web_server.graphql("PlaceSheet", {"id": place_id})["place"]
    navigation = sheet["navigation"]
    for label, app in (("高德地图", "amap"), ("百度地图", "baidu"), ("Apple 地图", "apple")):
        link = page.get_by_role("link", name=label, exact=True)
        assert link.get_attribute("href") == navigation[app]["webUrl"]
    phones = page.locator("a[href^='tel:']")
    assert phones.count() == (1 if sheet["phone"] else 0)
    if sheet["phone"]:
        assert phones.get_attribute("href") == f"tel:{sheet['phone']}"
    expect(page.get_by_text(re.compile("周一至周五"))).to_be_visible()
    phone.shot("place")


def test_find__filters__every_result_fits(phone: Visit):
    page = phone.page
    phone.go("/")
    page.get_by_role("button", name="养老机构").click()
    page.get_by_role("button", name=re.compile("^筛选")).click()
    page.get_by_text("养老机构：有空余床位").click()
    page.get_by_text("养老机构：接收异地老人").click()
    page.keyboard.press("Escape")
    page.locator(".van-popup__close-icon").click()
    cards = page.locator(".place-card")
    expect(cards.first).to_contain_text("接收异地老人")
    for text in cards.all_inner_texts()[:10]:
        assert "养老机构" in text and "接收异地老人" in text
        assert int(re.search(r"空余床位 (\d+)", text).group(1)) >= 1


# --- guide → checklist -----------------------------------------------------------------------


def test_guide__answers__personal_checklist(phone: Visit, web_server: WebServer):
    page = phone.page
    items = web_server.graphql("SearchServiceItems", {"first": 50})["serviceItems"]["edges"]
    # (a demo guide: the editor console's tests may have saved one as real content)
    item = next(guide for guide in (
        web_server.graphql("ServiceItemGuide", {"id": edge["node"]["id"]})["serviceItem"]
        for edge in items) if guide["guide"]["questions"] and guide["guide"]["isDemoContent"])
    question = item["guide"]["questions"][0]
    # when: the resident finds the item by its name and opens it
    phone.go("/items")
    page.get_by_role("searchbox").fill(item["name"])
    page.get_by_role("searchbox").press("Enter")
    page.get_by_role("link", name=re.compile(re.escape(item["name"]))).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(item["name"])
    expect(page.get_by_role("note")).to_contain_text("演示")
    # and answers the first question "是"
    page.get_by_role("group", name=question["text"]).get_by_role("button", name="是").click()
    # then: the list is the API's checklist for that answer
    expected = web_server.graphql("ServiceItemGuide", {
        "id": item["id"], "answers": [{"questionId": question["id"], "answer": True}],
    })["serviceItem"]["checklist"]["materials"]
    heading = page.get_by_role("heading", name=re.compile("您需要准备的材料"))
    expect(heading).to_have_text(f"您需要准备的材料（{len(expected)} 项）")
    names = page.locator(".checklist li strong").all_inner_texts()
    assert names == [material["name"] for material in expected]
    # where to go: the nearest places that handle it
    expect(page.locator(".place-card").first).to_be_visible()
    phone.shot("guide")


# --- sign in → book → my appointments → cancel ---------------------------------------------------


def test_book__sign_in_book_once_then_cancel(phone: Visit, web_server: WebServer, hall: dict):
    page = phone.page
    uid = "demo-resident-2"
    # given: the resident opens the hall and taps 预约办理 without being signed in
    phone.go(f"/places/{hall['id']}")
    page.get_by_role("link", name="预约办理").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("开发登录")
    page.get_by_role("button", name="李先生（杭州）").click()
    # then: back at the booking, signed in
    expect(page.get_by_role("heading", level=1)).to_have_text("预约办理")
    page.get_by_role("group", name="1. 选择办理事项").get_by_role("button").first.click()
    slot = page.locator(".slot").first
    expect(slot).to_contain_text("余")
    slot.click()
    phone.shot("book")
    # when: the token has gone stale mid-session, and the network drops the first answer
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('servicemap.session'));
        s.token = 'expired.' + s.token.split('.')[1] + '.';
        localStorage.setItem('servicemap.session', JSON.stringify(s)); location.reload() }""")
    expect(page.locator(".slot[aria-pressed=true]")).to_be_visible()  # the draft survived
    keys: list[str] = []

    def flaky(route) -> None:
        body = route.request.post_data_json
        if body.get("operationName") == "BookAppointment":
            keys.append(body["variables"]["idempotencyKey"])
            if len(keys) == 1:
                route.fetch()  # the server books…
                route.abort()  # …but the phone never hears back
                return
        route.continue_()

    page.route("**/graphql", flaky)
    page.get_by_role("button", name="确认预约").dblclick()  # a double tap
    expect(page.get_by_role("alert")).to_contain_text("网络")
    page.reload()  # the resident gives up and reloads, then tries again
    page.get_by_role("button", name="确认预约").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预约成功")
    code = page.get_by_test_id("check-in-code").inner_text()
    expect(page.get_by_role("img", name=re.compile("核验码二维码"))).to_be_visible()
    calendar = page.get_by_role("link", name="添加到日历")
    expect(calendar).to_have_attribute("href", re.compile("^blob:"))
    phone.shot("booked")
    # then: one appointment, whatever happened on the way (one key, sent twice)
    assert len(keys) == 2 and keys[0] == keys[1]
    booked = [a for a in appointments(web_server, uid) if a["status"] == "BOOKED"]
    assert [a["code"] for a in booked] == [code]
    # when: my appointments → cancel with a reason
    page.get_by_role("link", name="查看我的预约").click()
    expect(page.get_by_text(code)).to_be_visible()
    phone.shot("me")
    page.get_by_role("button", name="取消预约").click()
    page.get_by_label("取消原因").fill("时间冲突")
    page.get_by_role("button", name="确认取消").click()
    page.get_by_role("tab", name=re.compile("历史")).click()
    expect(page.get_by_text("取消原因：时间冲突")).to_be_visible()
    assert [a["status"] for a in appointments(web_server, uid)] == ["CANCELLED"]


def test_reschedule__another_slot__same_code(phone: Visit, web_server: WebServer, hall: dict):
    page = phone.page
    uid = "demo-resident-3"
    item = hall["windows"][0]["serviceItems"][1]
    first, second = slots_of(web_server, hall, item["id"], uid)[:2]
    booked = web_server.graphql("BookAppointment", {
        "slotId": first["id"], "serviceItemId": item["id"], "idempotencyKey": "web-reschedule",
    }, uid=uid)["bookAppointment"]["appointment"]
    phone.go("/")
    phone.sign_in(uid, "张大爷（南京）")
    phone.go("/me")
    page.get_by_role("button", name="改约").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("选择新的时段")
    page.locator(".slot").nth(1).click()
    page.get_by_role("button", name="确认改约").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("改约成功")
    [moved] = [a for a in appointments(web_server, uid) if a["status"] == "BOOKED"]
    assert moved["id"] == booked["id"] and moved["code"] == booked["code"]
    assert moved["slot"]["id"] == second["id"]


def test_messages__booking_notice__unread_badge_then_read(phone: Visit, web_server: WebServer,
                                                         hall: dict):
    page = phone.page
    uid = "demo-resident-4"
    item = hall["windows"][0]["serviceItems"][0]
    [slot] = slots_of(web_server, hall, item["id"], uid)[:1]
    web_server.graphql("BookAppointment", {
        "slotId": slot["id"], "serviceItemId": item["id"], "idempotencyKey": "web-messages",
    }, uid=uid)
    inbox = web_server.graphql("MyNotifications", {"first": 20}, uid=uid)["me"]["notifications"]
    assert inbox["unreadCount"] >= 1
    # given: the resident opens the app, signed in
    phone.go("/")
    phone.sign_in(uid, "赵女士（合肥）")
    phone.go("/")
    # then: the tab bar says how many are unread, in words too
    tab = page.get_by_role("tab", name=f"消息，{inbox['unreadCount']} 条未读")
    expect(tab).to_be_visible()
    tab.click()
    expect(page.get_by_text(f"{inbox['unreadCount']} 条未读")).to_be_visible()
    newest = inbox["edges"][0]["node"]
    message = page.get_by_role("button", name=f"未读，{newest['title']}")
    expect(message).to_contain_text(newest["body"][:10])
    # when: the resident opens the newest one
    message.click()
    # then: it is read, on the server too, and the count goes down
    expect(page.get_by_role("button", name=newest["title"], exact=True)).to_be_visible()
    after = web_server.graphql("MyNotifications", {"first": 20}, uid=uid)["me"]["notifications"]
    assert after["unreadCount"] == inbox["unreadCount"] - 1
    read = {edge["node"]["id"]: edge["node"]["isRead"] for edge in after["edges"]}
    assert read[newest["id"]] is True


def test_map__clusters__zoom_in_to_one_place_and_its_card(phone: Visit, web_server: WebServer):
    page = phone.page
    phone.go("/map")
    expect(page.locator(".cluster").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    # then: clusters, not thousands of markers; the count in words is what they add up to
    status = page.get_by_role("status").filter(has_text="可见范围内")
    shown = int(re.search(r"(\d+) 个场所", status.inner_text()).group(1))
    assert shown > page.locator(".cluster").count() > 0
    assert page.locator(".cluster").count() <= 200
    # when: the resident taps the biggest cluster until a single place is left under the finger
    for _ in range(12):
        if page.locator(".cluster--one").count():
            break
        page.locator(".cluster:not(.cluster--one)").first.click()
        page.wait_for_load_state("networkidle")
    single = page.locator(".cluster--one").first
    expect(single).to_be_visible()
    single.click()
    # then: its card, with the way to the place screen and an Amap link in the API's datum
    card = page.get_by_role("complementary", name="场所卡片")
    expect(card.get_by_role("heading", level=2)).not_to_be_empty()
    name = card.get_by_role("heading", level=2).inner_text()
    expect(card.get_by_role("link", name="去这里（高德）")).to_have_attribute(
        "href", re.compile(r"^https://uri\.amap\.com/"))
    card.get_by_role("link", name="查看详情").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


# --- elderly mode, refused geolocation, offline -----------------------------------------------


def test_elderly_mode__one_switch__large_type_big_targets_remembered(phone: Visit):
    page = phone.page
    phone.go("/")
    page.get_by_role("switch", name="长辈模式").click()
    # then: ≥ 22 px body, line spacing ≥ 1.3, touch targets ≥ 48 px, big buttons for the main tasks
    expect(page.locator("html")).to_have_class(re.compile("elder"))
    size, line = page.evaluate("""() => { const s = getComputedStyle(document.body);
        return [parseFloat(s.fontSize), parseFloat(s.lineHeight) / parseFloat(s.fontSize)] }""")
    assert size >= 22 and line >= 1.3
    expect(page.locator(".big-action")).to_have_count(3)
    expect(page.locator(".place-card").first).to_be_visible()
    small = page.evaluate("""() => [...document.querySelectorAll(
        'button, .nav-button, .big-action, .chip, .van-tabbar-item, .place-card, [role=switch]')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.textContent.trim().slice(0, 12), e.getBoundingClientRect()])
        .filter(([, r]) => r.height < 48 || r.width < 48)
        .map(([t, r]) => `${t} ${r.width}x${r.height}`)""")
    assert small == []
    phone.shot("elder-home")
    # remembered on the device
    page.reload()
    expect(page.locator("html")).to_have_class(re.compile("elder"))
    # fewer steps: one tap to the guides
    page.get_by_role("link", name="查办事指南（要带什么）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("办事指南")


@pytest.mark.no_geolocation
def test_geolocation_refused__choose_cluster_and_city__results_there(phone: Visit):
    page = phone.page
    phone.go("/")
    expect(page.get_by_role("heading", name="选择所在城市群")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="未获得定位权限")).to_be_visible()
    page.get_by_role("button", name="长三角").click()
    page.get_by_role("button", name="杭州市").click()
    expect(page.get_by_text("已选地区：长三角 · 杭州市")).to_be_visible()
    expect(page.locator(".place-card").first).to_contain_text("杭州")
    phone.shot("region-fallback")


@pytest.mark.no_geolocation
def test_geolocation_refused__city_of_chengyu__list_there_and_map_on_the_cluster(phone: Visit):
    page = phone.page
    phone.go("/")
    page.get_by_role("button", name="成渝").click()
    expect(page.get_by_role("heading", name="选择成渝的城市")).to_be_visible()
    page.get_by_role("button", name="重庆市").click()
    expect(page.get_by_text("已选地区：成渝 · 重庆市")).to_be_visible()
    expect(page.locator(".place-card").first).to_contain_text("重庆")
    # the map opens on the cluster (its centre, WGS-84 here: no tile layer is configured)
    phone.go("/map")
    view = page.evaluate("JSON.parse(localStorage.getItem('servicemap.cluster'))")
    assert view["code"] == "chengyu" and view["zoom"] == 7
    expect(page.locator(".leaflet-container")).to_be_visible()


@pytest.mark.service_worker
def test_offline__reload__shell_and_last_viewed_place(phone: Visit, hall: dict):
    page = phone.page
    phone.go("/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.go(f"/places/{hall['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(hall["name"])
    phone.sign_in()
    # when: the network goes away and the resident reloads
    phone.context.set_offline(True)
    page.reload()
    # then: the shell and the place last viewed, marked as such
    expect(page.get_by_role("heading", level=1)).to_have_text(hall["name"])
    expect(page.get_by_text("离线显示")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="当前离线")).to_be_visible()
    phone.shot("offline")
    # and no stale booking data shown as current
    page.locator(".van-tabbar-item", has_text="我的预约").click()
    expect(page.get_by_role("alert")).to_contain_text("离线")
    expect(page.locator(".appointment")).to_have_count(0)
    phone.context.set_offline(False)


# --- axe on every screen, both modes ------------------------------------------------------------

SCREENS = {
    "home": ("/", ".place-card"),
    "map": ("/map", ".cluster"),
    "place": ("/places/{hall}", ".nav-button"),
    "items": ("/items", ".place-card"),
    "guide": ("/items/1", ".checklist"),
    "signin": ("/signin", ".big-action"),
    "book": ("/book/{hall}", ".chip"),
    "me": ("/me", ".van-tabs"),
    "messages": ("/messages", ".push"),
}


@pytest.mark.parametrize("mode", ["standard", "elder"])
def test_axe__every_screen__no_serious_violations(phone: Visit, hall: dict, mode: str):
    page = phone.page
    phone.go("/signin")
    phone.elder(mode == "elder")
    phone.sign_in("demo-resident-1")
    found = {}
    for name, (path, ready) in SCREENS.items():
        phone.go(path.format(hall=hall["id"]))
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")  # the screen has settled (map markers, lists)
        if name == "signin":
            phone.shot(f"signin-{mode}") if mode == "elder" else None
        if name == "map" and mode == "standard":
            phone.shot("map")
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    assert found == {}
