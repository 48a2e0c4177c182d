#!/usr/bin/env python
"""mapClusters with the place grid against the scan it replaces, through the Flask test client.

Seeds its own databases (SQLite under bench/.data/grid/, PostgreSQL `grid_bench_<N>`), then for
a phone-screen window over Shanghai/Suzhou at zoom 8 and 12 times ~30 requests each way and
checks that both answer the same. Run: .venv/bin/python bench/grid_clusters.py 10000 100000
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path(__file__).resolve().parent / ".data" / "grid"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
CENTRES = [(31.23, 121.47), (31.30, 120.62), (31.10, 121.20), (31.40, 121.00)]
REQUESTS = 30


def url(store: str, scale: int) -> str:
    if store == "sqlite":
        return f"sqlite:///{DATA / f'grid_bench_{scale}.sqlite3'}"
    return f"{PG}/grid_bench_{scale}"


def seed(store: str, scale: int) -> None:
    if store == "postgis":
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "grid_bench_{scale}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "grid_bench_{scale}"')
    else:
        DATA.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DATA / f'grid_bench_{scale}.sqlite3'}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": url(store, scale)}
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    for args in (["db", "upgrade"], ["seed", "bench", "--places", str(scale), "--replace"]):
        out = subprocess.run([*flask, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                             check=True)
        print(f"  {store} {scale} {' '.join(args[:2])}: "
              + " | ".join(out.stdout.strip().splitlines()[-3:]), flush=True)


def bodies(zoom: int) -> list[dict]:
    out = []
    for lat, lon in CENTRES:
        width = 360.0 * 400 / (256 * 2**zoom)  # a phone screen of 400 x 800 px
        height = width * 2 * __import__("math").cos(__import__("math").radians(lat))
        out.append({"south": lat - height / 2, "north": lat + height / 2,
                    "west": lon - width / 2, "east": lon + width / 2})
    return out


def measure(store: str, scale: int) -> None:
    from backend.app import create_app
    from backend.config import Settings
    from backend.places import clusters
    from tests.helpers import operation

    app = create_app(Settings(database_url=url(store, scale), app_env="test"))
    client = app.test_client()
    query = operation("MapClusters")
    grid_function = clusters._aggregate_from_grid
    for zoom in (8, 12):
        boxes = bodies(zoom)
        answers = {}
        for mode in ("grid", "scan"):
            clusters._aggregate_from_grid = (
                grid_function if mode == "grid" else lambda *args: None)
            times, answers[mode] = [], []
            for i in range(REQUESTS + 3):
                box = boxes[i % len(boxes)]
                started = time.perf_counter()
                body = client.post("/graphql", json={"query": query, "variables": {
                    "bbox": box, "zoom": zoom}}).get_json()
                elapsed = time.perf_counter() - started
                assert "errors" not in body, body
                if i >= 3:  # warm-up
                    times.append(elapsed)
                if i < len(boxes):
                    answers[mode].append(body["data"]["mapClusters"])
            places = sum(c["count"] for c in answers[mode][0])
            print(f"  {store:7} {scale:>7} zoom {zoom:2} {mode}: p50 "
                  f"{statistics.median(times) * 1000:7.1f} ms  (first window: "
                  f"{places} places, {len(answers[mode][0])} clusters)", flush=True)
        clusters._aggregate_from_grid = grid_function
        for got, want in zip(answers["grid"], answers["scan"], strict=True):
            assert [c["count"] for c in got] == [c["count"] for c in want]
            assert [c["placeId"] for c in got] == [c["placeId"] for c in want]
            assert [c["bbox"] for c in got] == [c["bbox"] for c in want]
            for a, b in zip(got, want, strict=True):
                assert abs(a["center"]["lat"] - b["center"]["lat"]) < 1e-9
                assert abs(a["center"]["lon"] - b["center"]["lon"]) < 1e-9
        print(f"  {store:7} {scale:>7} zoom {zoom:2}: grid answers == scan answers", flush=True)
    app.extensions["servicemap"].engine.dispose()


if __name__ == "__main__":
    stores = os.environ.get("STORES", "sqlite,postgis").split(",")
    for scale in [int(a) for a in sys.argv[1:]] or [10_000, 100_000]:
        for store in stores:
            if os.environ.get("NO_SEED") != "1":
                seed(store, scale)
            measure(store, scale)
