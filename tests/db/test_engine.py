"""The PostgreSQL engine's connections: no parallel query (set in the startup packet, so no
statement is sent for it), and a database URL's own `options` kept beside it; the SQLite
page cache of a server worker's connections."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backend.db import SQLITE_SERVER_CACHE_KIB, bound_sqlite_cache, make_engine


@pytest.mark.postgis
def test_engine__postgresql__no_parallel_workers_and_url_options_kept(database_factory):
    url = database_factory("postgis")
    engines = [make_engine(url), make_engine(url + "?options=-c%20work_mem%3D7MB")]
    try:
        for engine in engines:
            with engine.connect() as connection:
                assert connection.execute(text(
                    "SHOW max_parallel_workers_per_gather")).scalar() == "0"
        with engines[1].connect() as connection:
            assert connection.execute(text("SHOW work_mem")).scalar() == "7MB"
        with engines[0].connect() as connection:
            assert connection.execute(text("SHOW work_mem")).scalar() != "7MB"
    finally:
        for engine in engines:
            engine.dispose()



def test_engine__sqlite__server_workers_bound_the_page_cache(tmp_path):
    # gunicorn.conf.py's post_fork bounds a worker's connections; seeding and imports (the
    # same engine elsewhere) keep SQLite's default cache.
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar() == -2000
        engine.dispose()
        bound_sqlite_cache(engine)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar() == \
                -SQLITE_SERVER_CACHE_KIB
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
