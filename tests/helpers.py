"""Shared test helpers: GraphQL calls over the Flask test client, operations, data paths."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import event

from backend.accounts import grants
from backend.app import EVENT_HANDLERS, SCOPE_CHECKS
from backend.core.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
OPERATIONS_DIR = ROOT / "graphql" / "operations"


def amap_file() -> Path:
    path = SHARED_DIR / "data" / "hangzhou_amap_poi.geojson"
    if not path.is_file():
        pytest.fail(f"Amap test data not found: {path} (set SHARED_DIR)")
    return path


def operation(name: str) -> str:
    """A document the apps send, from graphql/operations/<name>.graphql."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text(encoding="utf-8")


def gql(client, query: str, variables: dict | None = None, status: int = 200) -> dict:
    """POST a GraphQL request as a phone does; returns the decoded JSON body."""
    response = client.post(
        "/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def gql_data(client, query: str, variables: dict | None = None) -> dict:
    """Like gql, but the request must succeed without errors."""
    body = gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


class Upload(NamedTuple):
    """A file variable: `gql` and World.gql send a request holding one by the GraphQL
    multipart request spec (operations, map, the file part), as the console does."""

    name: str
    data: bytes


def post_graphql(client, query: str, variables: dict, headers: dict | None = None):  # noqa: ANN001, ANN201
    """POST /graphql: JSON, or multipart/form-data when a variable is an Upload."""
    files = {key: value for key, value in variables.items() if isinstance(value, Upload)}
    if not files:
        return client.post("/graphql", data=json.dumps({"query": query, "variables": variables}),
                           content_type="application/json", headers=headers or {})
    operations = {"query": query, "variables": {k: None if k in files else v
                                                for k, v in variables.items()}}
    form = {"operations": json.dumps(operations),
            "map": json.dumps({str(i): [f"variables.{key}"] for i, key in enumerate(files)})}
    for i, upload in enumerate(files.values()):
        form[str(i)] = (io.BytesIO(upload.data), upload.name)
    return client.post("/graphql", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def error_codes(body: dict) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


class _BorrowedUnitOfWork(UnitOfWork):
    """A unit of work over a session the test already holds (in its own session_scope): the
    use case's commit runs the event handlers and flushes; the test's scope commits."""

    def __init__(self, session) -> None:  # noqa: ANN001
        super().__init__(lambda: session, EVENT_HANDLERS)
        self._session = session

    def __enter__(self) -> UnitOfWork:
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:  # noqa: ANN001
        self._depth -= 1

    def commit(self) -> None:
        self.publish()
        self.session.flush()


def uow_of(session) -> UnitOfWork:  # noqa: ANN001
    return _BorrowedUnitOfWork(session)


def grant_role(session, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """grant_role in a test's session, with the app's scope checks."""
    return grants.grant_role(uow_of(session), *args, scope_checks=SCOPE_CHECKS, **kwargs)


def revoke_role(session, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    return grants.revoke_role(uow_of(session), *args, **kwargs)


@contextmanager
def counting_statements(app) -> Iterator[list[str]]:  # noqa: ANN001
    """The SQL statements the app's engine runs inside the block."""
    engine = app.extensions["servicemap"].engine
    statements: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
