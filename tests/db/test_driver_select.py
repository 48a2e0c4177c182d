"""DriverSelect: a read session's SELECT sent through psycopg itself gives SQLAlchemy's rows
(IN lists, constants and the caller's values bound as SQLAlchemy binds them), and a connection
dropped under it is answered on a new one; every other session takes SQLAlchemy's path."""

from __future__ import annotations

import pytest
from sqlalchemy import Float, Integer, bindparam, func, select, text

from backend.db import DriverSelect, make_engine, make_read_session_factory, make_session_factory
from backend.places.models import Place
from backend.places.store import PAGE_COLUMNS, place_of_row
from tests.helpers import counting_statements

STATEMENT = (select(*PAGE_COLUMNS)
             .where(Place.kind.in_(["CLINIC", "ELDERLY_CARE"]), Place.archived.is_(False),
                    Place.lat > bindparam("south", type_=Float))
             .order_by(Place.id).limit(bindparam("limit", type_=Integer)))


def _sqlalchemys(session, parameters):  # noqa: ANN001, ANN202
    return [tuple(row) for row in session.execute(STATEMENT, parameters)]


def test_driver_select__read_session__same_rows_as_sqlalchemy(demo_app) -> None:  # noqa: ANN001
    # On SQLite the rows come through SQLAlchemy (its values need result processing there).
    services = demo_app.extensions["servicemap"]
    driver_select = DriverSelect(STATEMENT)
    with services.read_session_factory() as session:
        for south, limit in [(0.0, 50), (30.5, 7), (31.2, 1), (89.0, 5)]:
            parameters = {"south": south, "limit": limit}
            rows = driver_select.rows(session, parameters)
            assert [tuple(row) for row in rows] == _sqlalchemys(session, parameters)
        rows = driver_select.rows(session, {"south": 0.0, "limit": 3})
        assert len(rows) == 3
        # The detached places read what the ORM's entities read.
        for row in rows:
            place, loaded = place_of_row(row), session.get(Place, row[0])
            for column in PAGE_COLUMNS:
                key = Place.__mapper__.get_property_by_column(column).key
                assert getattr(place, key) == getattr(loaded, key), key


@pytest.mark.postgis
def test_driver_select__connection_dropped__answered_on_a_new_one(database_factory) -> None:  # noqa: ANN001
    url = database_factory("postgis")
    engine, admin = make_engine(url), make_engine(url)
    series = DriverSelect(select(func.generate_series(1, bindparam("n", type_=Integer))))
    try:
        with make_read_session_factory(engine)() as session:
            assert [row[0] for row in series.rows(session, {"n": 3})] == [1, 2, 3]
            backend_pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar()
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
            assert [row[0] for row in series.rows(session, {"n": 4})] == [1, 2, 3, 4]
            assert session.connection().execute(
                text("SELECT pg_backend_pid()")).scalar() != backend_pid
    finally:
        engine.dispose()
        admin.dispose()


def test_driver_select__unit_of_work__sqlalchemys_path(demo_app, monkeypatch) -> None:  # noqa: ANN001
    services = demo_app.extensions["servicemap"]
    driver_select = DriverSelect(STATEMENT)
    parameters = {"south": 30.0, "limit": 10}
    monkeypatch.setattr(DriverSelect, "_compile", lambda *a: pytest.fail("driver path taken"))
    with make_session_factory(services.engine)() as session:
        assert [tuple(row) for row in driver_select.rows(session, parameters)] == (
            _sqlalchemys(session, parameters))


def test_driver_select__statements_listened_to__sqlalchemys_path(demo_app, monkeypatch) -> None:  # noqa: ANN001
    # Tracing and the tests' statement counts see every statement.
    services = demo_app.extensions["servicemap"]
    driver_select = DriverSelect(STATEMENT)
    parameters = {"south": 30.0, "limit": 10}
    monkeypatch.setattr(DriverSelect, "_compile", lambda *a: pytest.fail("driver path taken"))
    with counting_statements(demo_app) as seen, services.read_session_factory() as session:
        assert [tuple(row) for row in driver_select.rows(session, parameters)] == (
            _sqlalchemys(session, parameters))
    assert len(seen) == 2
