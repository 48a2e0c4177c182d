"""The bench databases of each scale and store: where they are, how they are migrated and
seeded (or reused), and plain connections to them."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

from paths import DATA, ROOT, VENV_BIN
from servers import app_env
from shell import log, run

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# Bench databases are <prefix>_<scale>; another prefix keeps a second run on the same server
# (a helper's, beside the recorded one) off the recorded databases.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench")
DATA_SEED = 0


def pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def pg_admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                           autocommit=True)


def generator_fingerprint() -> int:
    from backend.fixtures.bench_places import GENERATOR_VERSION

    return GENERATOR_VERSION


def sqlite_path(scale: int) -> Path:
    return DATA / f"bench_{scale}.sqlite3"


def pg_database(scale: int) -> str:
    return f"{PG_PREFIX}_{scale}"


def database_url(store: str, scale: int) -> str:
    if store == "sqlite":
        return f"sqlite:///{sqlite_path(scale)}"
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{pg_database(scale)}"


def flask(args: list[str], url: str, timeout: float = 3600) -> str:
    out = run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], env=app_env(url),
              check=False, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    return out.stdout


def migrate(url: str) -> tuple[str | None, str | None]:
    """`flask db upgrade`, in this process (a CLI start costs seconds): (before, after)."""
    from backend.db import make_engine, migration_status, upgrade

    engine = make_engine(url)
    try:
        before, _ = migration_status(engine)
        upgrade(engine)
        after, _ = migration_status(engine)
    finally:
        engine.dispose()
    return before, after


def bench_rows(store: str, scale: int) -> int:
    query = "SELECT count(*) FROM place WHERE source = 'bench'"
    try:
        if store == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(sqlite_path(scale))) as db:
                return db.execute(query).fetchone()[0]
        with pg_connect(scale) as db:
            return db.execute(query).fetchone()[0]
    except Exception:  # noqa: BLE001 - no table yet
        return -1


def prepare_database(store: str, scale: int, fresh: bool) -> dict:
    """Migrate and seed (or reuse) the bench database of a scale; returns what was done."""
    url = database_url(store, scale)
    DATA.mkdir(parents=True, exist_ok=True)
    if store == "postgis":
        with pg_admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (pg_database(scale),)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{pg_database(scale)}"')
    before, after = migrate(url)
    stamp_path = DATA / f"stamp-{store}-{scale}.json"
    stamp = {"scale": scale, "seed": DATA_SEED, "generator": generator_fingerprint()}
    old = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    # A migration since the seed (before != after) migrated the bench rows with the rest.
    reuse = (not fresh and {k: old.get(k) for k in stamp} == stamp
             and bench_rows(store, scale) == scale)
    if reuse:
        log(f"{store} {scale}: reusing the seeded database (revision {after})")
        # A database seeded before the map grid existed (or written since) has a stale grid:
        # mapClusters would measure the fallback scan. Rebuilding a fresh one is cheap.
        log(flask(["places", "rebuild-grid"], url).strip())
        return {"seeded": False, "reused": True, "revision": after,
                "migrated_now": before != after, "url": url.replace(str(ROOT) + "/", "")}
    stamp["revision"] = after
    log(f"{store} {scale}: seeding {scale} places")
    started = time.perf_counter()
    output = flask(["seed", "bench", "--places", str(scale), "--seed", str(DATA_SEED),
                    "--replace"], url)
    seconds = time.perf_counter() - started
    stamp_path.write_text(json.dumps(stamp))
    log(f"{store} {scale}: seeded in {seconds:.1f} s")
    return {"seeded": True, "reused": False, "seconds": round(seconds, 1), "revision": after,
            "output": output.strip().splitlines()[-3:], "url": url.replace(str(ROOT) + "/", "")}


def sqlite_connect(scale: int):
    import sqlite3

    return sqlite3.connect(f"file:{sqlite_path(scale)}?mode=ro", uri=True, check_same_thread=False)


def pg_connect(scale: int):
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=pg_database(scale))
