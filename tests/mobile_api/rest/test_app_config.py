"""GET /m/v1/config, the development token mint, the region outlines, and the app's serving:
history fallback, cache headers, GraphiQL only in development."""

from __future__ import annotations

import gzip

import pytest

from backend.app import create_app
from backend.config import ConfigError, Settings
from mobile_api import web
from mobile_api.rest.app_config import dev_sign_in_available


def make_app(tmp_path, **overrides):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
                        **{"app_env": "test", "firebase_project_id": "servicemap-test",
                           **overrides})
    return create_app(settings)


def test_config__defaults__no_sign_in_secrets_no_dev_sign_in(tmp_path):
    body = make_app(tmp_path).test_client().get("/m/v1/config").get_json()
    assert body["devSignIn"] is False and body["demoResidents"] == []
    assert body["firebase"] is None
    assert body["map"] == {"tileUrl": None, "tileCrs": "WGS84", "attribution": None}


def test_config__firebase_and_tiles__given_to_the_app(tmp_path):
    app = make_app(tmp_path, firebase_web_api_key="AIza-test", firebase_app_id="1:2:web:3",
                   map_tile_url="https://tiles.example.cn/{z}/{x}/{y}.png",
                   map_tile_crs="GCJ02", map_tile_attribution="© 示例地图")
    body = app.test_client().get("/m/v1/config").get_json()
    assert body["firebase"] == {"apiKey": "AIza-test", "projectId": "servicemap-test",
                                "authDomain": "servicemap-test.firebaseapp.com",
                                "appId": "1:2:web:3", "messagingSenderId": None,
                                "vapidKey": None}
    assert body["map"]["tileCrs"] == "GCJ02" and body["map"]["attribution"] == "© 示例地图"


@pytest.mark.parametrize("overrides", [
    {"map_tile_crs": "EPSG3857"},
    {"map_tile_url": "https://tiles.example.cn/tile.png", "map_tile_attribution": "x"},
    {"map_tile_url": "ftp://tiles/{z}/{x}/{y}", "map_tile_attribution": "x"},
    {"map_tile_url": "https://tiles.example.cn/{z}/{x}/{y}.png"},  # no attribution
])
def test_settings__bad_map_tiles__refused(tmp_path, overrides):
    with pytest.raises(ConfigError):
        Settings(database_url="sqlite:///x", **overrides).validate()


def test_dev_token__without_emulator__not_found(tmp_path):
    response = make_app(tmp_path).test_client().post("/m/v1/dev/token", json={"uid": "a"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"


def test_dev_token__production__never_available():
    settings = Settings(database_url="sqlite:///x", app_env="production",
                        firebase_auth_emulator_host="127.0.0.1:9099")
    assert dev_sign_in_available(settings) is False
    with pytest.raises(ConfigError):
        settings.validate()


def test_dev_token__emulator__token_the_verifier_accepts(tmp_path, monkeypatch):
    # the verifier puts the setting in the process environment: undone after the test
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    app = make_app(tmp_path, app_env="development", firebase_project_id="demo-servicemap",
                   firebase_auth_emulator_host="127.0.0.1:9099")
    client = app.test_client()
    config = client.get("/m/v1/config").get_json()
    assert config["devSignIn"] is True and config["demoResidents"]
    assert client.post("/m/v1/dev/token", json={"uid": ""}).status_code == 400
    response = client.post("/m/v1/dev/token", json={"uid": config["demoResidents"][0]["uid"]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = response.get_json()["token"]
    assert app.extensions["servicemap"].verifier.verify(token) == "demo-resident-1"


@pytest.mark.parametrize("crs", ["WGS84", "GCJ02"])
def test_region_outlines__cities__simplified_geojson(tmp_path, crs):
    response = make_app(tmp_path).test_client().get(f"/m/v1/regions.geojson?crs={crs}")
    assert response.status_code == 200 and "max-age" in response.headers["Cache-Control"]
    body = response.get_json()
    # the member cities of the three cluster packs: 41 of the YRD, 16 of 成渝, 5 of 呼包鄂榆乌
    assert len(body["features"]) == 41 + 16 + 5
    assert {"code", "name"} <= body["features"][0]["properties"].keys()
    assert len(response.data) < 400_000  # simplified: smaller than the source file


def test_region_outlines__bad_level__bad_user_input(tmp_path):
    response = make_app(tmp_path).test_client().get("/m/v1/regions.geojson?level=PLANET")
    assert response.status_code == 400


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A stand-in build folder, so serving is tested without Node."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "graphiql" / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>政务服务地图</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (dist / "manifest.webmanifest").write_text('{"name": "政务服务地图"}')
    (dist / "graphiql" / "graphiql.html").write_text("<title>GraphiQL offline</title>")
    monkeypatch.setattr(web, "DIST_DIR", dist)
    monkeypatch.setattr(web, "GRAPHIQL_DIR", dist / "graphiql")
    return dist


@pytest.mark.parametrize("path", ["/", "/places/12", "/items/4", "/me", "/map", "/book/3"])
def test_web__client_routes__index_not_cached(tmp_path, built, path):
    response = make_app(tmp_path).test_client().get(path)
    assert response.status_code == 200 and "政务服务地图" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-cache"


def test_web__api_routes__not_shadowed(tmp_path, built):
    client = make_app(tmp_path).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/m/v1/config").is_json
    assert client.get("/m/v1/nothing-here").status_code == 404
    assert client.get("/no-such-screen").status_code == 404
    body = client.post("/graphql", json={"query": "{ __typename }"}).get_json()
    assert body == {"data": {"__typename": "Query"}}


def test_web__assets_long_cached_sw_and_manifest_not(tmp_path, built):
    client = make_app(tmp_path).test_client()
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    assert client.get("/assets/missing.js").status_code == 404
    zipped = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.mimetype == "text/javascript"
    assert gzip.decompress(zipped.data) == b"console.log(1)"
    assert "Content-Encoding" not in asset.headers
    sw = client.get("/sw.js")
    assert sw.headers["Cache-Control"] == "no-cache" and sw.mimetype == "text/javascript"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"


def test_web__graphiql__ours_in_development_none_in_production(tmp_path, built):
    html = {"Accept": "text/html"}
    dev = make_app(tmp_path).test_client().get("/graphql", headers=html)
    assert "GraphiQL offline" in dev.get_data(as_text=True)
    production = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}",
                                     app_env="production", firebase_project_id="p",
                                     rate_limits_enabled=False))
    response = production.test_client().get("/graphql", headers=html)
    assert "GraphiQL offline" not in response.get_data(as_text=True)
    assert production.test_client().get("/graphiql-static/assets/x.js").status_code == 404


def test_web__not_built__503_says_how(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "DIST_DIR", tmp_path / "none")
    response = make_app(tmp_path).test_client().get("/")
    assert response.status_code == 503 and "make run" in response.get_data(as_text=True)
