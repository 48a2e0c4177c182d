"""The HTTP surface around GraphQL: health checks, GraphiQL, GET queries, encoding, masking."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from alembic.script import ScriptDirectory
from flask import Flask

import backend.schema.places.loaders
from backend.app import create_app
from backend.config import Settings
from mobile_api.graphql import MAX_REQUEST_BYTES
from mobile_api.graphql.documents import document_id
from tests.helpers import ROOT, error_codes, gql, operation

CJK = re.compile(r"[\u4e00-\u9fff]")
MIGRATIONS_DIR = ROOT / "backend" / "migrations"
PROVINCES_QUERY = "{ regions(level: PROVINCE) { code name } }"


@pytest.fixture
def app_factory(tmp_path) -> Iterator[Callable[..., Flask]]:
    """Builds apps on new, empty (un-migrated) SQLite files; disposes their engines."""
    apps: list[Flask] = []

    def make(app_env: str = "test", database_url: str | None = None) -> Flask:
        url = database_url or f"sqlite:///{tmp_path / f'{app_env}-{len(apps)}.sqlite3'}"
        app = create_app(Settings(database_url=url, app_env=app_env,
                                  firebase_project_id="servicemap-test",
                                  rate_limits_enabled=False))  # test_rate_limits.py
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["servicemap"].engine.dispose()


def test_healthz__process_up__200(demo_client):
    response = demo_client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz__migrated_database__200_with_head_revision(demo_client):
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()

    response = demo_client.get("/readyz")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["revision"] == head
    assert head is not None


def test_readyz__fresh_unmigrated_sqlite_database__503(app_factory):
    app = app_factory()

    response = app.test_client().get("/readyz")

    assert response.status_code == 503, response.get_data(as_text=True)
    assert "revision" not in response.get_json()


@pytest.mark.postgis
def test_readyz__fresh_unmigrated_postgis_database__503(app_factory, database_factory):
    app = app_factory(database_url=database_factory("postgis"))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503, response.get_data(as_text=True)


def test_readyz__database_unreachable__503(app_factory):
    # given: a PostgreSQL URL where nothing listens (port 1 refuses at once)
    app = app_factory(database_url="postgresql+psycopg://nobody@127.0.0.1:1/servicemap")

    # when
    response = app.test_client().get("/readyz")

    # then
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "nobody" not in response.get_data(as_text=True)


def test_graphql__browser_get_in_test__graphiql_html(demo_client):
    response = demo_client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "graphiql" in response.get_data(as_text=True).lower()


def test_graphql__browser_get_in_development__graphiql_html(app_factory):
    app = app_factory("development")

    response = app.test_client().get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "graphiql" in response.get_data(as_text=True).lower()


def test_graphql__browser_get_in_production__no_graphiql(app_factory):
    app = app_factory("production")

    response = app.test_client().get("/graphql", headers={"Accept": "text/html"})

    body = response.get_data(as_text=True).lower()
    assert response.status_code == 400
    assert "graphiql" not in body
    assert "<html" not in body and "<script" not in body


def test_graphql__query_via_get__answers_json(demo_client):
    response = demo_client.get("/graphql", query_string={"query": PROVINCES_QUERY})

    assert response.status_code == 200, response.get_data(as_text=True)
    provinces = [p["code"] for p in response.get_json()["data"]["regions"]]
    assert len(provinces) == 34 and provinces == sorted(provinces)
    assert {"310000", "320000", "330000", "340000", "500000", "510000"} <= set(provinces)


def test_graphql__operation_with_variables_via_get__answers_json(demo_client):
    response = demo_client.get("/graphql", query_string={
        "query": operation("Regions"),
        "variables": json.dumps({"parentCode": "310100"}),
    })

    assert response.status_code == 200, response.get_data(as_text=True)
    districts = response.get_json()["data"]["regions"]
    assert len(districts) == 16
    assert {d["parent"]["code"] for d in districts} == {"310100"}


def test_graphql__query_via_get_in_production__answers_json(app_factory, demo_app):
    # given: a production app on the demo database (GraphiQL off must not switch GET off)
    url = demo_app.extensions["servicemap"].settings.database_url
    app = app_factory("production", database_url=url)

    response = app.test_client().get("/graphql", query_string={
        "documentId": document_id(operation("Regions")),
        "variables": json.dumps({"level": "PROVINCE"})})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["data"]["regions"]) == 34  # every province of China


def test_graphql__response__utf8_json_with_chinese_unescaped(demo_client):
    response = demo_client.post("/graphql", data=json.dumps({"query": PROVINCES_QUERY}),
                                content_type="application/json")

    raw = response.get_data()
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.mimetype_params.get("charset", "utf-8").lower() == "utf-8"
    assert "上海市".encode() in raw and "江苏省".encode() in raw
    assert b"\\u" not in raw
    assert json.loads(raw.decode("utf-8")) == response.get_json()


def test_graphql__error_message__utf8_chinese_unescaped(demo_client):
    response = demo_client.post(
        "/graphql", data=json.dumps({"query": '{ regions(parentCode: "999999") { code } }'}),
        content_type="application/json",
    )

    raw = response.get_data()
    assert CJK.search(raw.decode("utf-8"))
    assert b"\\u" not in raw


def test_graphql__unexpected_exception_in_resolver__masked_internal_error(
    demo_client, monkeypatch
):
    # given: a bug deep inside the domain code
    def broken_read_place(session, place_id, **asked):
        raise RuntimeError("secret detail: password=hunter2 at /srv/app/backend/places/search.py")

    monkeypatch.setattr(backend.schema.places.loaders, "read_place", broken_read_place)

    # when
    response = demo_client.post(
        "/graphql", data=json.dumps({"query": operation("PlaceDetail"), "variables": {"id": "1"}}),
        content_type="application/json",
    )

    # then: a stable code and a Chinese message; nothing about the internals
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    body = response.get_json()
    assert error_codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert CJK.search(body["errors"][0]["message"])
    for leak in ("secret", "hunter2", "RuntimeError", "Traceback", "search.py", "/srv"):
        assert leak not in text
    assert body["data"] == {"place": None}


def test_graphql__internal_error__other_requests_unaffected(demo_client, monkeypatch):
    # given: one failing request
    monkeypatch.setattr(backend.schema.places.loaders, "read_place",
                        lambda session, place_id, **asked: 1 / 0)
    failed = gql(demo_client, operation("PlaceDetail"), {"id": "1"})
    assert error_codes(failed) == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()

    # when: the next request on the same app
    body = gql(demo_client, operation("PlaceDetail"), {"id": "1"})

    # then
    assert "errors" not in body
    assert body["data"]["place"]["id"] == "1"


def test_graphql__oversized_body__413(demo_client):
    padding = " " * MAX_REQUEST_BYTES
    body = json.dumps({"query": "{ regions(level: PROVINCE) { code } }" + padding})
    response = demo_client.post("/graphql", data=body, content_type="application/json")
    assert response.status_code == 413
