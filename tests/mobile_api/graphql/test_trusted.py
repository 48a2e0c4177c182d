"""Trusted documents: the manifest of graphql/operations/, `documentId` and Apollo's
persisted-query hash, and production running nothing else (introspection, suggestions and
GraphiQL off), on both stores."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from backend.app import create_app
from backend.places.models import Region
from mobile_api.graphql.trusted import MANIFEST, manifest
from tests.helpers import OPERATIONS_DIR, counting_statements, error_codes, operation

REGIONS_ID = "sha256:" + hashlib.sha256(operation("Regions").encode()).hexdigest()
PROVINCES = {"level": "PROVINCE"}


@pytest.fixture(scope="module")
def production_app(demo_app: Flask) -> Iterator[Flask]:
    """The demo database served with APP_ENV=production."""
    settings = dataclasses.replace(demo_app.extensions["servicemap"].settings,
                                   app_env="production", firebase_project_id="servicemap-test",
                                   rate_limits_enabled=False)  # test_rate_limits.py
    app = create_app(settings)
    yield app
    app.extensions["servicemap"].engine.dispose()


def post(client, body: dict, status: int = 200) -> dict:
    response = client.post("/graphql", data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def province_codes(app: Flask) -> list[str]:
    """The oracle: the province rows of the app's database, read directly."""
    with app.extensions["servicemap"].session_factory() as session:
        codes = list(session.scalars(
            select(Region.code).where(Region.level == "PROVINCE").order_by(Region.code)))
    assert "310000" in codes
    return codes


def provinces(body: dict) -> list[str]:
    assert "errors" not in body, body
    return [region["code"] for region in body["data"]["regions"]]


def refused_as_untrusted(client, app: Flask, body: dict, words: str) -> None:
    with counting_statements(app) as statements:
        answer = post(client, body, status=400)
    assert statements == []
    assert error_codes(answer) == ["TRUSTED_DOCUMENT_REQUIRED"], answer
    assert words in answer["errors"][0]["message"]


def test_trusted__manifest_is_generated_from_the_documents() -> None:
    assert MANIFEST.read_text(encoding="utf-8") == manifest(), "run `make manifest`"
    documents = json.loads(MANIFEST.read_text(encoding="utf-8"))["documents"]
    assert set(documents) == {path.stem for path in OPERATIONS_DIR.glob("*.graphql")}
    for name, document_id in documents.items():
        text = (OPERATIONS_DIR / f"{name}.graphql").read_bytes()
        assert document_id == "sha256:" + hashlib.sha256(text).hexdigest()


@pytest.mark.parametrize("env", ["development", "production"])
def test_trusted__a_trusted_document_runs_by_id_hash_or_text(env, demo_app, production_app
                                                             ) -> None:
    app = production_app if env == "production" else demo_app
    client = app.test_client()
    expected = province_codes(app)
    assert provinces(post(client, {"documentId": REGIONS_ID, "variables": PROVINCES})
                     ) == expected
    apollo = {"persistedQuery": {"version": 1, "sha256Hash": REGIONS_ID.removeprefix("sha256:")}}
    assert provinces(post(client, {"extensions": apollo, "variables": PROVINCES})
                     ) == expected
    # The resident app sends the documents' text: it hashes to a trusted id.
    assert provinces(post(client, {"query": operation("Regions"), "variables": PROVINCES})
                     ) == expected
    response = client.get("/graphql", query_string={
        "documentId": REGIONS_ID, "variables": json.dumps(PROVINCES)})
    assert provinces(response.get_json()) == expected


@pytest.mark.parametrize(("body", "words"), [
    ({"query": "{ regions(level: PROVINCE) { code } }"}, "只执行受信文档"),
    ({"query": "{ __schema { types { name } } }"}, "只执行受信文档"),
    ({"query": operation("Regions") + " "}, "只执行受信文档"),  # not the same text
    ({"documentId": "sha256:" + "0" * 64}, "未知的受信文档"),
    ({"documentId": "md5:abc"}, "格式"),
    ({"documentId": REGIONS_ID, "query": "{ regions { code } }"}, "不一致"),
    ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "f" * 64}}}, "未知"),
], ids=["free-text", "introspection", "changed-text", "unknown-id", "bad-id", "mismatch",
        "unknown-apollo-hash"])
def test_trusted__production_refuses_everything_else(production_app, body: dict, words: str
                                                     ) -> None:
    refused_as_untrusted(production_app.test_client(), production_app, body, words)


def test_trusted__development_refuses_unknown_ids_too(demo_app) -> None:
    refused_as_untrusted(demo_app.test_client(), demo_app,
                         {"documentId": "sha256:" + "1" * 64}, "未知的受信文档")


def test_trusted__production_caches_only_trusted_documents(production_app) -> None:
    client = production_app.test_client()
    cache = production_app.extensions["graphql_view"].documents
    post(client, {"query": operation("Regions"), "variables": PROVINCES})
    kept = len(cache)
    for i in range(20):
        post(client, {"query": f"{{ a{i}: regions {{ code }} }}"}, status=400)
    assert len(cache) == kept


def test_trusted__production_gives_no_suggestions(production_app, demo_app) -> None:
    bad_level = {"documentId": REGIONS_ID, "variables": {"level": "PROVINC"}}
    development = post(demo_app.test_client(), bad_level)
    assert "Did you mean" in development["errors"][0]["message"]
    production = post(production_app.test_client(), bad_level)
    assert error_codes(production) == ["BAD_USER_INPUT"]
    assert "Did you mean" not in production["errors"][0]["message"]
    assert "PROVINCE'" not in production["errors"][0]["message"]


def test_trusted__production_may_run_any_document_when_told_so(demo_app) -> None:
    # The benchmarks' servers: APP_ENV=production with TRUSTED_DOCUMENTS_ONLY=0.
    settings = dataclasses.replace(demo_app.extensions["servicemap"].settings,
                                   app_env="production", firebase_project_id="servicemap-test",
                                   trusted_documents_only=False, rate_limits_enabled=False)
    client = create_app(settings).test_client()
    assert provinces(post(client, {"query": "{ regions(level: PROVINCE) { code } }"})
                     ) == province_codes(demo_app)
    assert "__schema" in post(client, {"query": "{ __schema { queryType { name } } }"})["data"]
