"""Fixtures: every app-level test runs against a real SQLite file and a real PostGIS database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from backend.app import create_app
from backend.config import Settings
from backend.db import session_scope, upgrade
from backend.places.models import Place
from tests.helpers import SHARED_DIR, amap_file

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGIS = os.environ.get("REQUIRE_POSTGIS") == "1"

STORES = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(scope="session", autouse=True)
def _no_inherited_auth_emulator() -> Iterator[None]:
    """firebase-admin reads FIREBASE_AUTH_EMULATOR_HOST from the process environment: a
    developer's shell setting must not turn signature checks off (or on) for the suite."""
    inherited = os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    yield
    if inherited is not None:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = inherited


def _postgis_unavailable() -> str | None:
    """Why PostGIS tests cannot run here, or None when they can."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            available = connection.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar()
        engine.dispose()
    except OperationalError as exc:
        return f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc.orig}"
    if not available:
        return "PostgreSQL has no postgis extension (apt-get install postgresql-15-postgis-3)"
    return None


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Makes an empty database of a store kind and returns its URL; drops them at the end."""
    created: list[str] = []
    admin = None

    def make(store: str) -> str:
        nonlocal admin
        if store == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'servicemap.sqlite3'}"
        reason = _postgis_unavailable()
        if reason is not None:
            if REQUIRE_POSTGIS:
                pytest.fail(f"REQUIRE_POSTGIS=1 but {reason}")
            pytest.skip(reason)
        admin = admin or create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"servicemap_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False
        )

    yield make
    if admin is not None:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_test_app(database_url: str) -> Flask:
    app = create_app(Settings(database_url=database_url, app_env="test"))
    app.config["TESTING"] = True
    upgrade(app.extensions["servicemap"].engine)
    return app


@pytest.fixture(scope="session", params=STORES)
def store_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def demo_app(store_name: str, database_factory: Callable[[str], str]) -> Iterator[Flask]:
    """The demo data set, loaded through the CLI exactly as `make run` does. Read-only."""
    app = make_test_app(database_factory(store_name))
    result = app.test_cli_runner().invoke(args=["seed", "demo", "--amap-file", str(amap_file())])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["servicemap"].engine.dispose()


@pytest.fixture
def demo_client(demo_app: Flask):
    return demo_app.test_client()


@pytest.fixture(scope="session")
def _scratch_app(store_name: str, database_factory: Callable[[str], str]) -> Iterator[Flask]:
    app = make_test_app(database_factory(store_name))
    result = app.test_cli_runner().invoke(args=["seed", "regions"])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["servicemap"].engine.dispose()


@pytest.fixture
def scratch_app(_scratch_app: Flask) -> Flask:
    """Regions loaded, no places: each test brings its own."""
    with session_scope(_scratch_app.extensions["servicemap"].session_factory) as session:
        session.execute(delete(Place))
    return _scratch_app


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"reference data folder not found: {SHARED_DIR} (set SHARED_DIR)")
    return SHARED_DIR
