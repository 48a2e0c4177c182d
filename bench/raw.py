"""The raw SQL baselines of the nearby query: each store's own spatial SQL on the same centres,
no HTTP, no GraphQL, no ORM (sqlite3 + R*Tree + numpy geodesics; psycopg + ST_DWithin /
ST_Distance), single client and throughput (Python processes for SQLite, pgbench for
PostgreSQL)."""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import time
from pathlib import Path

import numpy as np

from clients import stats_ms
from databases import PG_HOST, PG_PORT, PG_USER, pg_connect, pg_database, sqlite_connect
from paths import DATA
from plans import Plan
from shell import run
from workload import FIRST, KINDS, RADIUS_M

SQLITE_NEARBY = (
    "SELECT place.id, place.lat, place.lon FROM place "
    "WHERE place.id IN (SELECT id FROM place_rtree WHERE "
    "(min_lat <= ? AND max_lat >= ? AND min_lon <= ? AND max_lon >= ?)) "
    f"AND place.kind IN ({', '.join('?' for _ in KINDS)})"
)


# The query shape of PostgisNearest.first_radius: the KNN (`<->`, GiST-ordered) distance of the
# 21st candidate picks a circle (1 % wider: sphere vs spheroid), the exact spheroid distance
# ranks what lies inside it; capped at the asked radius. One statement, as the store's.
POSTGIS_NEARBY = (
    "WITH guess AS (SELECT ST_Distance(place.geog, "
    "geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)), false) AS d FROM place "
    "WHERE place.kind IN ('SERVICE_HALL', 'CLINIC', 'ELDERLY_CARE') "
    "ORDER BY place.geog <-> geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) "
    "OFFSET 20 LIMIT 1) "
    "SELECT candidates.distance_m, candidates.id, candidates.lat, candidates.lon FROM ("
    "SELECT place.id, place.lat, place.lon, ST_Distance(place.geog, "
    "geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))) AS distance_m "
    "FROM place WHERE place.kind IN ('SERVICE_HALL', 'CLINIC', 'ELDERLY_CARE') "
    "AND ST_DWithin(place.geog, geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)), "
    "LEAST(%(prefilter)s, COALESCE((SELECT d FROM guess) * 1.01 + 1.0, %(prefilter)s)), false)"
    ") AS candidates "
    "WHERE candidates.distance_m <= %(radius)s "
    "ORDER BY candidates.distance_m, candidates.id LIMIT 21"
)


# SqliteNearest's first circle; it widens ×4 up to the asked radius while the page is not full.
SQLITE_FIRST_RADIUS_M = 500.0


def sqlite_nearby(db, lat: float, lon: float) -> list[tuple[float, int]]:
    """SqliteNearest.within without SQLAlchemy: R*Tree box, exact distances, sort, limit 21 —
    in a small circle first, widened ×4 up to the radius while fewer than 21 lie inside."""
    from geodata.geodesic import bbox_around, distances_m

    radius = min(SQLITE_FIRST_RADIUS_M, RADIUS_M)
    while True:
        box = bbox_around(lat, lon, radius)
        rows = db.execute(SQLITE_NEARBY,
                          (box.north, box.south, box.east, box.west, *KINDS)).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        lats = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
        lons = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
        distances = distances_m(lat, lon, lats, lons) if rows else np.empty(0)
        keep = distances <= radius
        if keep.sum() > FIRST or radius >= RADIUS_M:
            break
        radius = min(radius * 4.0, RADIUS_M)
    ids, distances = ids[keep], distances[keep]
    order = np.lexsort((ids, distances))[:FIRST + 1]
    return [(float(distances[i]), int(ids[i])) for i in order]


def postgis_params(lat: float, lon: float) -> dict:
    return {"lat": lat, "lon": lon, "radius": RADIUS_M, "prefilter": RADIUS_M * 1.01 + 1.0}


def raw_answers(store: str, scale: int, points) -> list[list[tuple[float, int]]]:
    if store == "sqlite":
        with contextlib.closing(sqlite_connect(scale)) as db:
            return [sqlite_nearby(db, lat, lon) for lat, lon in points]
    with pg_connect(scale) as db:
        return [[(float(d), int(i)) for d, i, _, _ in
                 db.execute(POSTGIS_NEARBY, postgis_params(lat, lon), prepare=True).fetchall()]
                for lat, lon in points]


def candidate_counts(store: str, scale: int, points) -> dict:
    """How many rows the prefilter hands to the exact distance per centre: the work that grows
    with density (a radius search must rank every place in its circle to cut the page)."""
    from geodata.geodesic import bbox_around

    counts = []
    if store == "sqlite":
        query = ("SELECT count(*) FROM place_rtree WHERE min_lat <= ? AND max_lat >= ? "
                 "AND min_lon <= ? AND max_lon >= ?")
        with contextlib.closing(sqlite_connect(scale)) as db:
            for lat, lon in points:
                box = bbox_around(lat, lon, RADIUS_M)
                counts.append(db.execute(query, (box.north, box.south, box.east,
                                                 box.west)).fetchone()[0])
    else:
        query = ("SELECT count(*) FROM place WHERE ST_DWithin(geog, geography(ST_SetSRID("
                 "ST_MakePoint(%(lon)s, %(lat)s), 4326)), %(prefilter)s, false)")
        with pg_connect(scale) as db:
            counts = [db.execute(query, postgis_params(lat, lon)).fetchone()[0]
                      for lat, lon in points]
    a = np.asarray(counts)
    return {"mean": round(float(a.mean()), 1), "p50": int(np.percentile(a, 50)),
            "p95": int(np.percentile(a, 95)), "max": int(a.max())}


def raw_single(store: str, scale: int, points, n: int) -> dict:
    samples = []
    if store == "sqlite":
        with contextlib.closing(sqlite_connect(scale)) as db:
            for i in range(n):
                lat, lon = points[i % len(points)]
                started = time.perf_counter()
                sqlite_nearby(db, lat, lon)
                samples.append(time.perf_counter() - started)
    else:
        with pg_connect(scale) as db:
            for i in range(n):
                lat, lon = points[i % len(points)]
                started = time.perf_counter()
                db.execute(POSTGIS_NEARBY, postgis_params(lat, lon), prepare=True).fetchall()
                samples.append(time.perf_counter() - started)
    result = stats_ms(samples)
    result["req_per_s"] = round(n / sum(samples), 1)
    return result


def _sqlite_worker(args) -> int:
    scale, points, offset, seconds = args
    count = 0
    with contextlib.closing(sqlite_connect(scale)) as db:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            lat, lon = points[(offset + count) % len(points)]
            sqlite_nearby(db, lat, lon)
            count += 1
    return count


def raw_load_sqlite(scale: int, points, seconds: float, processes: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        started = time.perf_counter()
        counts = pool.map(_sqlite_worker,
                          [(scale, points, i * 37, seconds) for i in range(processes)])
        elapsed = time.perf_counter() - started
    return {"tool": f"{processes} Python processes (sqlite3 + numpy), one per core",
            "processes": processes, "seconds": round(elapsed, 1),
            "req_per_s": round(sum(counts) / seconds, 1)}


def raw_load_pgbench(scale: int, points, plan: Plan, seconds: float) -> dict:
    lines = [f"\\set i random(0, {len(points) - 1})"]
    for i, (lat, lon) in enumerate(points):
        keyword = "\\if" if i == 0 else "\\elif"
        lines += [f"{keyword} :i = {i}", f"\\set lat {lat!r}", f"\\set lon {lon!r}"]
    lines.append("\\endif")
    query = (POSTGIS_NEARBY.replace("%(lat)s", ":lat").replace("%(lon)s", ":lon")
             .replace("%(prefilter)s", repr(RADIUS_M * 1.01 + 1.0))
             .replace("%(radius)s", repr(RADIUS_M)))
    lines.append(query + ";")
    script = DATA / "pgbench_nearby.sql"
    script.write_text("\n".join(lines) + "\n")
    out = pgbench(scale, script, plan.connections, plan.load_threads, int(seconds),
                  timeout=seconds + 120)
    if "error" in out:
        return out
    return {"tool": "pgbench -M prepared", "connections": plan.connections,
            "threads": plan.load_threads, "seconds": int(seconds),
            "req_per_s": out["tps"], "latency_mean_ms": out["latency_mean_ms"],
            "failed": out["failed"]}


def pgbench(scale: int, script: Path, clients: int, threads: int, seconds: int,
            timeout: float) -> dict:
    """`pgbench -M prepared` with `script` on the bench database of `scale` for `seconds`: its
    figures (tps without connection time), or {"error": its output} when it gave none."""
    cmd = ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-n", "-M", "prepared",
           "-c", str(clients), "-j", str(threads), "-T", str(seconds),
           "-f", str(script), pg_database(scale)]
    out = run(cmd, check=False, timeout=timeout)
    tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if not tps:
        return {"error": (out.stdout + out.stderr)[-1500:]}
    return {"tps": float(tps.group(1)),
            "transactions": int(processed.group(1)) if processed else None,
            "latency_mean_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0,
            "stderr": out.stderr.strip()[-300:] or None}


def same_answers(api_data: list[dict], expected: list[list[tuple[float, int]]]) -> dict:
    """API (or peer) ids and distances against the raw SQL's, per centre."""
    mismatches, compared = [], 0
    for i, (got, want) in enumerate(zip(api_data, expected, strict=True)):
        want = want[:FIRST]
        compared += 1
        ids = [place_id for _, place_id in got]
        if ids != [place_id for _, place_id in want] or any(
            abs(a - b) > 0.01 for (a, _), (b, _) in zip(got, want, strict=False)
        ):
            mismatches.append(i)
    return {"centres": compared, "mismatches": len(mismatches), "first": mismatches[:5]}
