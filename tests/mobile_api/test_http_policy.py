"""Security headers on each kind of answer, no-store for signed-in answers, HSTS only in
production, CORS only for the origins of CORS_ORIGINS."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from backend.app import create_app
from backend.config import Settings
from mobile_api.http_policy import DATA_CSP, GRAPHIQL_CSP
from mobile_api.web import DIST_DIR

ALLOWED = "https://partner.example.cn"
REFUSED = "https://evil.example.com"
QUERY = {"query": "{ __typename }"}


def _app(database_factory, store_name: str, **overrides) -> Flask:  # noqa: ANN001, ANN003
    settings = Settings(**{"database_url": database_factory(store_name), "app_env": "test",
                           "cors_origins": (ALLOWED,), **overrides})
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def app(database_factory) -> Flask:  # noqa: ANN001
    # Headers involve no storage: one SQLite app serves these tests.
    return _app(database_factory, "sqlite")


@pytest.fixture(scope="module")
def production_app(database_factory) -> Flask:  # noqa: ANN001
    return _app(database_factory, "sqlite", app_env="production", firebase_project_id="demo-p",
                rate_limits_enabled=False)


def _asset() -> str:
    return next(path.name for path in (DIST_DIR / "assets").glob("*.js"))


def _answers(client) -> dict[str, object]:  # noqa: ANN001
    """One answer of each kind the server gives."""
    return {
        "app page": client.get("/places/1"),
        "asset": client.get(f"/assets/{_asset()}"),
        "service worker": client.get("/sw.js"),
        "graphql": client.post("/graphql", json=QUERY),
        "graphql refusal": client.post("/graphql", data="{", content_type="application/json"),
        "rest": client.get("/m/v1/config"),
        "not found": client.get("/nowhere-at-all"),
        "health": client.get("/healthz"),
    }


def test_headers__every_kind_of_answer__nosniff_referrer_policy_and_a_policy(app: Flask):
    for kind, response in _answers(app.test_client()).items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", kind
        assert "Content-Security-Policy" in response.headers, kind
        assert "Strict-Transport-Security" not in response.headers, kind
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"]), kind


def test_csp__pages__app_without_inline_script_graphiql_its_own_data_none(app: Flask):
    client = app.test_client()
    page = client.get("/")
    policy = dict(part.split(" ", 1) for part in page.headers["Content-Security-Policy"]
                  .split("; "))
    assert policy["script-src"].split()[0] == "'self'"
    assert "unsafe" not in policy["script-src"]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    # The policy holds only because the build has no inline script.
    html = page.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    graphiql = client.get("/graphql", headers={"Accept": "text/html"})
    assert graphiql.mimetype == "text/html"
    assert graphiql.headers["Content-Security-Policy"] == GRAPHIQL_CSP
    # The service worker runs under its script's policy: the app's, which lets it fetch.
    assert client.get("/sw.js").headers["Content-Security-Policy"] == page.headers[
        "Content-Security-Policy"]
    for data in (client.post("/graphql", json=QUERY), client.get("/m/v1/config"),
                 client.get("/healthz")):
        assert data.headers["Content-Security-Policy"] == DATA_CSP


def test_csp__map_tile_url__its_host_may_serve_images(database_factory):  # noqa: ANN001
    app = _app(database_factory, "sqlite",
               map_tile_url="https://{s}.tiles.example.cn/{z}/{x}/{y}.png",
               map_tile_attribution="© 示例")
    policy = app.test_client().get("/").headers["Content-Security-Policy"]
    assert ("img-src 'self' data: blob: https://www.gstatic.com https://*.tiles.example.cn;"
            in policy)


def test_hsts__production_only(app: Flask, production_app: Flask):
    for kind, response in _answers(production_app.test_client()).items():
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", kind
    assert all("Strict-Transport-Security" not in response.headers
               for response in _answers(app.test_client()).values())


@pytest.mark.parametrize("path", ["/graphql", "/m/v1/appointments/1.ics"])
def test_cache_control__signed_in__no_store_anonymous_untouched(app: Flask, path: str):
    client = app.test_client()
    send = client.post if path == "/graphql" else client.get
    kwargs = {"json": QUERY} if path == "/graphql" else {}
    # A refused token is still a signed-in request: its answer is about that token.
    signed = send(path, headers={"Authorization": "Bearer not-a-valid-token"}, **kwargs)
    assert "no-store" in signed.headers["Cache-Control"]
    assert "Authorization" in signed.headers["Vary"]
    anonymous = client.post("/graphql", json=QUERY)
    assert "no-store" not in (anonymous.headers.get("Cache-Control") or "")


def test_cache_control__app_pages_with_authorization__left_to_the_app(app: Flask):
    response = app.test_client().get("/", headers={"Authorization": "Bearer x"})
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/graphql", "/m/v1/config"])
def test_cors__listed_origin__allowed_with_preflight(app: Flask, path: str):
    client = app.test_client()
    preflight = client.options(path, headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    answer = client.post("/graphql", json=QUERY, headers={"Origin": ALLOWED})
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-ID" in answer.headers["Access-Control-Expose-Headers"]
    assert answer.get_json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("path", ["/graphql", "/m/v1/config", "/"])
def test_cors__other_origin__no_cors_headers(app: Flask, path: str):
    client = app.test_client()
    preflight = client.options(path, headers={"Origin": REFUSED,
                                              "Access-Control-Request-Method": "POST"})
    answer = client.get(path, headers={"Origin": REFUSED})
    same_origin = client.get(path)  # no Origin: a same-origin or non-browser caller
    for response in (preflight, answer, same_origin):
        assert not [name for name, _value in response.headers
                    if name.lower().startswith("access-control-")]


def test_cors__no_origins_configured__none_allowed(database_factory):  # noqa: ANN001
    app = create_app(Settings(database_url=database_factory("sqlite"), app_env="test"))
    response = app.test_client().options("/graphql", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers
