"""The consoles' frame (/staff, /editor, /admin) in chromium: who may open which, and that a
resident's phone never downloads console code."""

from __future__ import annotations

import re
import urllib.request

import pytest

from backend.fixtures.demo_accounts import DEMO_WORKERS
from tests.web.conftest import Visit, WebServer

WORKER = {worker["role"]: worker for worker in DEMO_WORKERS}
CONSOLES = [("staff", "窗口工作台"), ("editor", "内容编辑台"), ("admin", "管理后台")]


def test_resident__home_and_offline_shell__no_console_code(phone: Visit, web_server: WebServer):
    # when: a resident opens the app
    phone.go("/")
    phone.page.locator(".place-card").first.wait_for()

    # then: no console chunk was downloaded, and the service worker's shell names none
    assets = [url for url in phone.requests if "/assets/" in url]
    assert assets, phone.requests
    assert [url for url in assets if "Console" in url] == []
    with urllib.request.urlopen(web_server.base + "/sw.js", timeout=10) as response:
        shell = response.read().decode()
    assert re.search(r"/assets/Place-[\w-]+\.js", shell)
    assert "Console" not in shell


@pytest.mark.parametrize(("role", "title"), CONSOLES)
def test_console__worker_with_the_role__opens_it(desk: Visit, role: str, title: str):
    # given: the demo worker with the console's role, signed in through 开发登录
    desk.go("/signin")
    desk.page.get_by_role("button", name=WORKER[role]["name"]).click()
    desk.page.wait_for_url(re.compile(r"/me$"))

    # when
    desk.go(f"/{role}")

    # then: the console's frame, without the resident's tab bar, and no refusal
    desk.page.locator(".console-name", has_text=title).wait_for()
    desk.page.locator(".console-main h1").first.wait_for()
    assert desk.page.locator(".van-tabbar").count() == 0
    assert desk.page.get_by_text("的权限").count() == 0
    assert any("Console" in url for url in desk.requests if "/assets/" in url)


@pytest.mark.parametrize(("role", "title"), CONSOLES)
def test_console__resident__told_no_permission(desk: Visit, role: str, title: str):
    desk.go("/")
    desk.sign_in("demo-resident-2", "李先生（杭州）")

    desk.go(f"/{role}")

    desk.page.get_by_role("heading", name=f"没有{title}的权限").wait_for()


def test_console__signed_out__sent_to_sign_in_and_back(desk: Visit):
    desk.go("/editor")

    desk.page.wait_for_url(re.compile(r"/signin\?next=(%2F|/)editor$"))
    desk.page.get_by_role("button", name=WORKER["editor"]["name"]).click()
    desk.page.wait_for_url(re.compile(r"/editor$"))
    desk.page.locator(".console-name", has_text="内容编辑台").wait_for()
