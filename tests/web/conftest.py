"""The resident app in a real browser: Debian's chromium driven by Playwright for Python, a phone
viewport, against a real server process (gunicorn, development settings with the Auth-emulator
sign-in) on a seeded SQLite database. One server and one browser for the whole session.

Without chromium (or without a build of the app) the tests skip with the reason, unless CI=true
or REQUIRE_BROWSER=1: then they fail."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backend.accounts.dev_token import emulator_token
from tests.conftest import make_test_app
from tests.helpers import OPERATIONS_DIR, ROOT, amap_file

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
REQUIRE_BROWSER = os.environ.get("CI") == "true" or os.environ.get("REQUIRE_BROWSER") == "1"
DIST = ROOT / "mobile_api" / "web" / "dist"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
HANGZHOU = {"latitude": 30.2741, "longitude": 120.1551}  # WGS-84, as a phone's GPS gives it
PROJECT = "demo-servicemap"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (CI=true or REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _free_port() -> int:
    """A free port in 8160–8199 (the range this project's servers use) or in WEB_TEST_PORTS
    ("18400-18499": a range of one's own when several people test on one machine), else
    any."""
    low, _, high = os.environ.get("WEB_TEST_PORTS", "8160-8199").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class WebServer:
    base: str
    database_url: str

    def graphql(self, name: str, variables: dict, uid: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if uid:
            headers["Authorization"] = f"Bearer {emulator_token(uid, PROJECT)}"
        request = urllib.request.Request(
            self.base + "/graphql", headers=headers,
            data=json.dumps({"query": (OPERATIONS_DIR / f"{name}.graphql").read_text("utf-8"),
                             "variables": variables}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    if not (DIST / "index.html").is_file():
        _unavailable(f"the app is not built ({DIST}): `make test` builds it (Node 20 + npm)")
    # given: the demo data, seeded through the CLI as `make run` does
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'servicemap.sqlite3'}"
    app = make_test_app(url)
    result = app.test_cli_runner().invoke(args=["seed", "demo", "--amap-file", str(amap_file())])
    assert result.exit_code == 0, result.output
    app.extensions["servicemap"].engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development",
           "FIREBASE_PROJECT_ID": PROJECT, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
           "WEB_CONCURRENCY": "1", "RATE_LIMITS_ENABLED": "0"}  # one client, many requests
    # A file, not a pipe: nobody reads the server's log (a JSON line per request) while the
    # tests run, and a full pipe would block the server's next write.
    server_log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed after the server stops)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--threads", "8",
         "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=server_log,
        text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                server_log.seek(0)
                pytest.fail(f"the app server did not start: {server_log.read()[-2000:]}")
            time.sleep(0.2)
    yield WebServer(base, url)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    server_log.close()


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make install-dev)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Visit:
    """One phone: a browser context, its page, and what it sent."""

    server: WebServer
    context: object
    page: object
    requests: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    # What the browser refused under our Content-Security-Policy (mobile_api/http_policy.py).
    refused_by_csp: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.server.base + path)

    def sign_in(self, uid: str = "demo-resident-1", name: str = "王阿姨（上海）") -> None:
        """As the 开发登录 screen does: a token in the device's session store."""
        token = emulator_token(uid, PROJECT)
        self.page.evaluate(
            "([uid, name, token]) => localStorage.setItem('servicemap.session', JSON.stringify("
            "{uid, name, token, method: 'dev', expiresAt: Date.now() + 3600e3}))",
            [uid, name, token])

    def elder(self, on: bool = True) -> None:
        self.page.evaluate(
            "on => localStorage.setItem('servicemap.settings', JSON.stringify({elder: on}))", on)

    def shot(self, name: str) -> None:
        """docs/screenshots/<name>.png when SCREENSHOTS=1 (the README shows them)."""
        if os.environ.get("SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _visit(browser, web_server: WebServer, **context_options) -> Iterator[Visit]:
    """A browser context on the app server whose requests are all recorded and checked: only
    127.0.0.1, only trusted documents, nothing refused by the Content-Security-Policy."""
    sw = context_options.get("service_workers") == "allow"
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  device_scale_factor=1, **context_options)
    visit = Visit(web_server, context, None)
    trusted = {path.read_text("utf-8") for path in OPERATIONS_DIR.glob("*.graphql")}

    def seen(req) -> None:
        visit.requests.append(req.url)
        # (a service worker's own fetch of the same request carries no readable body)
        if req.url.startswith(web_server.base + "/graphql") and req.method == "POST" \
                and req.post_data:
            visit.documents.append(json.loads(req.post_data)["query"])

    def only_local(route) -> None:
        if route.request.url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    context.on("request", seen)
    if not sw:  # routing hides a service worker's own requests, so it is used without one
        context.route("**/*", only_local)
    visit.page = context.new_page()
    visit.page.set_default_timeout(15_000)
    visit.page.on("console", lambda message: visit.refused_by_csp.append(message.text)
                  if "Content Security Policy" in message.text else None)
    yield visit
    context.close()
    assert visit.refused_by_csp == []
    # then: everything went to our server on 127.0.0.1, and only trusted documents were sent
    outside = [url for url in visit.requests
               if not url.startswith(("http://127.0.0.1:", "data:", "blob:"))]
    assert outside == []
    assert all(document in trusted for document in visit.documents)


@pytest.fixture
def phone(browser, web_server, request) -> Iterator[Visit]:
    """A phone at Hangzhou with location permission (marker `no_geolocation`: refused), service
    workers blocked unless the test is marked `service_worker`."""
    refused = request.node.get_closest_marker("no_geolocation") is not None
    sw = request.node.get_closest_marker("service_worker") is not None
    yield from _visit(browser, web_server, viewport=PHONE, is_mobile=True, has_touch=True,
                      geolocation=None if refused else HANGZHOU,
                      permissions=[] if refused else ["geolocation"],
                      service_workers="allow" if sw else "block")


@pytest.fixture
def desk(browser, web_server) -> Iterator[Visit]:
    """A desktop browser (1280×800) at a counter or an editor's desk: the consoles."""
    yield from _visit(browser, web_server, viewport=DESKTOP, service_workers="block")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_geolocation: the phone refuses the location permission")
    config.addinivalue_line("markers", "service_worker: the page's service worker is allowed")
