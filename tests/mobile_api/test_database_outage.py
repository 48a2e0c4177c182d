"""A database that is away (restarted, failing over) or a bug before execution: every answer
is a GraphQL JSON body with a code and nothing about the internals (graphql-server alone
answers 400 with the exception's text), and the pool replaces dead connections by itself, so
the requests after a PostgreSQL restart need no server restart (bench/soak.py restarts it; so
does test_postgres_restart.py, on a cluster of its own)."""

from __future__ import annotations

import json
import re
import sqlite3

import psycopg
import pytest
from flask import Flask
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError

import mobile_api.graphql.rate_limits
from backend.accounts.dev_token import emulator_token
from backend.app import create_app
from backend.config import Settings
from backend.db import database_unavailable
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import error_codes, gql, operation

CJK = re.compile(r"[\u4e00-\u9fff]")
NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/servicemap"  # port 1 refuses at once
PROJECT = "demo-servicemap"
LEAKS = ("nobody", "psycopg", "OperationalError", "127.0.0.1", "secret")


@pytest.fixture
def outage_app() -> Flask:
    app = create_app(Settings(database_url=NOWHERE, app_env="development",
                              firebase_project_id=PROJECT,
                              firebase_auth_emulator_host="127.0.0.1:9099",
                              rate_limits_enabled=True))  # they read the signed-in account
    yield app
    app.extensions["servicemap"].engine.dispose()


def _post(app: Flask, query: str, uid: str | None = None):  # noqa: ANN202
    headers = {"Authorization": f"Bearer {emulator_token(uid, PROJECT)}"} if uid else {}
    return app.test_client().post("/graphql", data=json.dumps({"query": query}),
                                  content_type="application/json", headers=headers)


def _assert_clean(response, status: int, code: str) -> None:
    text_ = response.get_data(as_text=True)
    assert response.status_code == status, text_
    body = response.get_json()
    assert error_codes(body) == [code]
    assert CJK.search(body["errors"][0]["message"])
    for leak in LEAKS:
        assert leak not in text_


def test_outage__signed_in_before_execution__503_service_unavailable(outage_app: Flask):
    response = _post(outage_app, "{ me { uid } }", uid="resident-1")

    _assert_clean(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["Retry-After"] == "1"


def test_outage__anonymous_in_a_resolver__service_unavailable_error(outage_app: Flask):
    response = _post(outage_app, "{ serviceItems(first: 1) { edges { node { id } } } }")

    _assert_clean(response, 200, "SERVICE_UNAVAILABLE")


def test_bug_before_execution__500_internal_error_without_internals(outage_app: Flask,
                                                                    monkeypatch):
    def broken(self, context, root_fields):  # noqa: ANN001
        raise RuntimeError("secret detail")

    monkeypatch.setattr(mobile_api.graphql.rate_limits.RateLimits, "after_identifying", broken)

    response = _post(outage_app, "{ regions(level: PROVINCE) { code } }")

    _assert_clean(response, 500, "INTERNAL_SERVER_ERROR")


@pytest.mark.parametrize(("error", "unavailable"), [
    (psycopg.OperationalError("connection refused"), True),  # no server answered
    (psycopg.errors.AdminShutdown("terminating connection"), True),  # 57P01
    (psycopg.errors.CannotConnectNow("the database system is starting up"), True),  # 57P03
    (psycopg.errors.SerializationFailure("could not serialize"), False),  # 40001: a retry
    (sqlite3.OperationalError("no such table: place"), False),  # a bug
])
def test_database_unavailable__by_the_driver_error(error: Exception, unavailable: bool):
    assert database_unavailable(OperationalError("SELECT 1", {}, error)) is unavailable


def test_database_unavailable__not_a_database_error():
    assert database_unavailable(RuntimeError("boom")) is False


def _terminate_connections(app: Flask) -> int:
    """The server drops every connection to the app's database, as a restart does."""
    database = make_url(app.extensions["servicemap"].settings.database_url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        terminated = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database}).scalar()
    admin.dispose()
    return terminated


def test_postgres_connections_terminated__next_requests_answer(demo_app: Flask,
                                                               store_name: str):
    if store_name != "postgis":
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    # given: the pool holds connections, then the server drops them (as a restart does)
    client = demo_app.test_client()
    assert "errors" not in gql(client, operation("Regions"), {"level": "PROVINCE"})
    assert _terminate_connections(demo_app) >= 1

    # when / then: a read on a dropped connection runs again on a new one; no request fails
    for _ in range(5):
        body = gql(client, operation("Regions"), {"level": "PROVINCE"})
        assert "errors" not in body, body


def test_postgres_connections_terminated__the_whole_pool_replaced_at_once(demo_app: Flask,
                                                                         store_name: str):
    if store_name != "postgis":
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    services = demo_app.extensions["servicemap"]
    # given: three connections in the pool, then the server drops them
    sessions = [services.read_session_factory() for _ in range(3)]
    for session in sessions:
        session.execute(text("SELECT 1"))
    for session in sessions:
        session.close()
    assert _terminate_connections(demo_app) >= 3
    disconnects: list[bool] = []

    def count(context) -> None:  # noqa: ANN001
        disconnects.append(context.is_disconnect)

    event.listen(services.engine, "handle_error", count)
    try:
        # when: reads one after another, each on a connection out of the pool
        client = demo_app.test_client()
        for _ in range(4):
            assert "errors" not in gql(client, operation("Regions"), {"level": "PROVINCE"})
    finally:
        event.remove(services.engine, "handle_error", count)

    # then: the first dropped connection invalidated the pool: the others were replaced on
    # their checkout, without failing a statement each
    assert disconnects == [True]
