"""The city-cluster packs measured: seeding time and database size per pack on both stores, and
the region index (all of China against the YRD's four provinces only): its build time and the
memory (PSS) of gunicorn's master + 2 workers after the same requests.

`.venv/bin/python bench/clusters.py [--skip-seed] [--skip-memory]` (PostgreSQL on 127.0.0.1:5432
for the PostGIS half). Writes nothing but its own databases under bench/.data/clusters/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / ".data" / "clusters"
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PACKS = ("yrd", "chengyu", "hubaoeyuwu")
PORT = 8319
REQUESTS = 400  # per variant, spread over China and the YRD


def flask(url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run([*FLASK, *args], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DATABASE_URL": url})
    return time.perf_counter() - started, out.stdout


def fresh_database(store: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    if store == "sqlite":
        path = DATA / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def size_mb(store: str, url: str) -> float:
    from sqlalchemy import create_engine, text

    if store == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        engine = create_engine(url)
        with engine.connect() as connection:  # fold the WAL into the file first
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()
        return path.stat().st_size / 1e6
    engine = create_engine(url)
    with engine.connect() as connection:
        size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return size / 1e6


def measure_seeding() -> None:
    print("| store | pack | `seed regions` s | size after regions MB | `seed demo --clusters` s "
          "| places | size after MB | pack's share MB |\n|---|---|---|---|---|---|---|---|")
    for store in ("sqlite", "postgis"):
        for pack in PACKS:
            url = fresh_database(store, f"clusters_{pack}")
            flask(url, "db", "upgrade")
            regions_s, _ = flask(url, "seed", "regions")
            regions_mb = size_mb(store, url)
            demo_s, out = flask(url, "seed", "demo", "--clusters", pack)
            places = re.search(rf"{pack} generated places: (\d+) created", out)[1]
            after = size_mb(store, url)
            print(f"| {store} | {pack} | {regions_s:.1f} | {regions_mb:.1f} | {demo_s:.1f} | "
                  f"{places} | {after:.1f} | {after - regions_mb:.1f} |", flush=True)


def pss_mb(pids: list[int]) -> tuple[float, list[float]]:
    each = [int(re.search(r"^Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text(),
                          re.MULTILINE)[1]) / 1024 for pid in pids]
    return sum(each), each


def post(query: str, variables: dict) -> None:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert "errors" not in json.loads(response.read())


def serve_and_measure(url: str) -> tuple[float, list[float]]:
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind",
                               f"127.0.0.1:{PORT}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(8)
        rng = random.Random(7)
        where = "query($p: GeoPointInput!) { regionAt(point: $p) { code name clusters { code } } }"
        near = ("query($p: GeoPointInput!) { places(near: $p, radiusMeters: 5000, first: 20) "
                "{ edges { distanceMeters node { name region { name } } } } }")
        jobs = [(where, {"p": {"lat": rng.uniform(22, 45), "lon": rng.uniform(100, 125)}})
                for _ in range(REQUESTS // 2)]
        jobs += [(near, {"p": {"lat": rng.uniform(29.5, 32.5), "lon": rng.uniform(118, 122)}})
                 for _ in range(REQUESTS // 2)]

        def worker(part: list) -> None:
            for query, variables in part:
                post(query, variables)

        threads = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(1)
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                  text=True, check=False).stdout.split()
        return pss_mb([server.pid, *map(int, children)])
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure_memory() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from backend.places.regions import RegionIndex, _records

    print("| regions in the database | index build s | summed PSS MB (master + 2 workers) "
          "| per process MB |\n|---|---|---|---|")
    for label, keep_yrd_only in (("the YRD's 4 provinces", True), ("all of China", False)):
        url = fresh_database("sqlite", "clusters_memory")
        flask(url, "db", "upgrade")
        flask(url, "seed", "demo", "--clusters", "yrd")
        engine = create_engine(url)
        with Session(engine) as session:
            if keep_yrd_only:  # what the server held before: the YRD's regions only
                session.execute(text("DELETE FROM region WHERE substr(code, 1, 2)"
                                     " NOT IN ('31', '32', '33', '34')"))
                session.commit()
            count = session.execute(text("SELECT count(*) FROM region")).scalar()
            started = time.perf_counter()
            RegionIndex(_records(session))
            build_s = time.perf_counter() - started
        engine.dispose()
        total, each = serve_and_measure(url)
        print(f"| {label} ({count} regions) | {build_s:.2f} | {total:.0f} | "
              f"{' / '.join(f'{m:.0f}' for m in each)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    if not args.skip_seed:
        measure_seeding()
    if not args.skip_memory:
        measure_memory()


if __name__ == "__main__":
    main()
