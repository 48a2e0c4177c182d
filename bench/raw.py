"""The raw SQL baselines: each store's own SQL on the same centres, no HTTP, no GraphQL, no ORM
(sqlite3 + R*Tree (+ FTS5) + numpy geodesics; psycopg + ST_DWithin / ST_Distance (+ tsvector)),
single client and throughput (Python processes for SQLite, pgbench for PostgreSQL), for the
nearby query, text + geo (FindPlaces) and one place by id (PlaceDetail); and the comparison of
answers."""

from __future__ import annotations

import contextlib
import functools
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
from workload import FIRST, KINDS, RADIUS_M, TEXT

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


def exact_distances(rows, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
    """The ids and exact geodesic distances from (lat, lon) of rows (id, lat, lon)."""
    from geodata.geodesic import distances_m

    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    lats = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    lons = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    return ids, distances_m(lat, lon, lats, lons) if rows else np.empty(0)


def first_page(ids: np.ndarray, distances: np.ndarray) -> list[tuple[float, int]]:
    """(distance, id), nearest first: a page and one more (the API's next-page probe)."""
    order = np.lexsort((ids, distances))[:FIRST + 1]
    return [(float(distances[i]), int(ids[i])) for i in order]


def sqlite_nearby(db, lat: float, lon: float) -> list[tuple[float, int]]:
    """SqliteNearest.within without SQLAlchemy: R*Tree box, exact distances, sort, limit 21 —
    in a small circle first, widened ×4 up to the radius while fewer than 21 lie inside."""
    from geodata.geodesic import bbox_around

    radius = min(SQLITE_FIRST_RADIUS_M, RADIUS_M)
    while True:
        box = bbox_around(lat, lon, radius)
        rows = db.execute(SQLITE_NEARBY,
                          (box.north, box.south, box.east, box.west, *KINDS)).fetchall()
        ids, distances = exact_distances(rows, lat, lon)
        keep = distances <= radius
        if keep.sum() > FIRST or radius >= RADIUS_M:
            break
        radius = min(radius * 4.0, RADIUS_M)
    return first_page(ids[keep], distances[keep])


def postgis_params(lat: float, lon: float) -> dict:
    return {"lat": lat, "lon": lon, "radius": RADIUS_M, "prefilter": RADIUS_M * 1.01 + 1.0}


def postgis_nearby(db, lat: float, lon: float) -> list[tuple[float, int]]:
    return [(float(d), int(i)) for d, i, _, _ in
            db.execute(POSTGIS_NEARBY, postgis_params(lat, lon), prepare=True).fetchall()]


# -- text + geo: places(near, text: TEXT, first: FIRST) of FindPlaces, no radius: the text
# matches nearest first, in circles widened until the page is full (search._nearest).

# Half the equatorial circumference: the store's limit when no radius is asked.
MAX_EARTH_DISTANCE_M = 20_040_000.0
SEARCH_RADIUS_GROWTH = 4.0


@functools.cache
def text_query() -> tuple[str, str]:
    """TEXT as the store asks it: (FTS5 MATCH expression, tsquery literal)."""
    from backend.places.text import parse_text_query

    query = parse_text_query(TEXT)
    return query.fts5(), query.tsquery()


@functools.cache
def sqlite_text_statement(parts: int) -> str:
    """SqliteStatements.candidates with the text filter: R*Tree box (one or two parts), not
    archived, the FTS5 match."""
    ranges = " OR ".join("(min_lat <= ? AND max_lat >= ? AND min_lon <= ? AND max_lon >= ?)"
                         for _ in range(parts))
    return ("SELECT place.id, place.lat, place.lon FROM place "
            f"WHERE place.id IN (SELECT id FROM place_rtree WHERE {ranges}) "
            "AND place.archived IS 0 "
            "AND place.id IN (SELECT rowid FROM place_fts WHERE place_fts MATCH ?)")


def sqlite_text_nearby(db, lat: float, lon: float) -> list[tuple[float, int]]:
    """SqliteNearest.within with the text filter: circles from 500 m, ×4 until more than a page
    of matches lies inside (or the whole Earth), exact distances, (distance, id), 21 rows."""
    from geodata.geodesic import bbox_around

    match = text_query()[0]
    radius = SQLITE_FIRST_RADIUS_M
    while True:
        parts = bbox_around(lat, lon, radius).parts()
        bounds = [v for b in parts for v in (b.north, b.south, b.east, b.west)]
        rows = db.execute(sqlite_text_statement(len(parts)), (*bounds, match)).fetchall()
        ids, distances = exact_distances(rows, lat, lon)
        keep = distances <= radius
        if keep.sum() > FIRST or radius >= MAX_EARTH_DISTANCE_M:
            break
        radius = min(radius * SEARCH_RADIUS_GROWTH, MAX_EARTH_DISTANCE_M)
    return first_page(ids[keep], distances[keep])


# PostgisStatements.first with the text filter (the statement the API runs for this query):
# the KNN guess among the matches (the 21st, sphere distance) makes the circle, capped at the
# whole Earth; the exact spheroid distance ranks the matches inside it. One statement.
POSTGIS_TEXT_NEARBY = (
    "WITH circle AS MATERIALIZED (SELECT least(%(cap)s, coalesce(("
    "SELECT ST_Distance(place.geog, geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)),"
    " false) FROM place WHERE place.archived IS false "
    "AND place.search_vector @@ CAST(%(text_query)s AS tsquery) "
    "ORDER BY place.geog <-> geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) "
    "OFFSET 20 LIMIT 1) * 1.01 + 1.0, %(cap)s)) AS search_radius) "
    "SELECT candidates.distance_m, candidates.id, candidates.search_radius FROM ("
    "SELECT place.id, ST_Distance(place.geog, "
    "geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))) AS distance_m, "
    "circle.search_radius FROM circle JOIN place ON true WHERE place.archived IS false "
    "AND place.search_vector @@ CAST(%(text_query)s AS tsquery) "
    "AND ST_DWithin(place.geog, geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)), "
    "circle.search_radius * 1.01 + 1.0, false)) AS candidates "
    "WHERE candidates.distance_m <= candidates.search_radius "
    "ORDER BY candidates.distance_m, candidates.id LIMIT 21"
)

# The store's next rounds when the guessed circle held less than a page (not for this
# bench's centres and text, but the answer must not depend on it).
POSTGIS_TEXT_WITHIN = (
    "SELECT candidates.distance_m, candidates.id FROM ("
    "SELECT place.id, ST_Distance(place.geog, "
    "geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))) AS distance_m "
    "FROM place WHERE place.archived IS false "
    "AND place.search_vector @@ CAST(%(text_query)s AS tsquery)) AS candidates "
    "WHERE candidates.distance_m <= %(radius)s "
    "ORDER BY candidates.distance_m, candidates.id LIMIT 21"
)


def postgis_text_params(lat: float, lon: float) -> dict:
    return {"lat": lat, "lon": lon, "cap": MAX_EARTH_DISTANCE_M, "text_query": text_query()[1]}


def postgis_text_nearby(db, lat: float, lon: float) -> list[tuple[float, int]]:
    params = postgis_text_params(lat, lon)
    rows = db.execute(POSTGIS_TEXT_NEARBY, params, prepare=True).fetchall()
    radius = float(rows[0][2]) if rows else MAX_EARTH_DISTANCE_M
    while len(rows) <= FIRST and radius < MAX_EARTH_DISTANCE_M:
        radius = min(radius * SEARCH_RADIUS_GROWTH, MAX_EARTH_DISTANCE_M)
        rows = db.execute(POSTGIS_TEXT_WITHIN, {**params, "radius": radius},
                          prepare=True).fetchall()
    return [(float(row[0]), int(row[1])) for row in rows]


# The other shape of the same answer: every match (FTS5 / GIN), its exact distance, sorted.
# Cheaper than the circles when the text is rare (at 10k, 199 places match "医保": the KNN
# walk and the R*Tree boxes pass over thousands of places that do not match); more expensive
# when it is common. Measured beside the store's shape.
SQLITE_TEXT_ALL = (
    "SELECT place.id, place.lat, place.lon FROM place "
    "WHERE place.id IN (SELECT rowid FROM place_fts WHERE place_fts MATCH ?) "
    "AND place.archived IS 0"
)
POSTGIS_TEXT_ALL = (
    "SELECT candidates.distance_m, candidates.id FROM ("
    "SELECT place.id, ST_Distance(place.geog, "
    "geography(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))) AS distance_m "
    "FROM place WHERE place.archived IS false "
    "AND place.search_vector @@ CAST(%(text_query)s AS tsquery)) AS candidates "
    "ORDER BY candidates.distance_m, candidates.id LIMIT 21"
)


def sqlite_text_all(db, lat: float, lon: float) -> list[tuple[float, int]]:
    rows = db.execute(SQLITE_TEXT_ALL, (text_query()[0],)).fetchall()
    return first_page(*exact_distances(rows, lat, lon))


def postgis_text_all(db, lat: float, lon: float) -> list[tuple[float, int]]:
    return [(float(d), int(i)) for d, i in
            db.execute(POSTGIS_TEXT_ALL, postgis_text_params(lat, lon), prepare=True).fetchall()]


# -- one place by id, as PlaceDetail shows it: its columns, its region (county, else city,
# else province) with two levels of parents, the service items it handles (by code).

DETAIL_COLUMNS = (
    "p.id, p.name, p.kind, p.address, p.phone, p.source, p.external_id, p.lat, p.lon, "
    "p.clinic_level, p.cross_province_settlement, p.beds, p.available_beds, "
    "p.accepts_non_local, p.care_levels, p.opening_hours, r0.code, r0.name, r0.level, "
    "r1.code, r1.name, r1.level, r2.code, r2.name, r2.level, "
)
DETAIL_JOINS = (
    " FROM place p "
    "LEFT JOIN region r0 ON r0.code = coalesce(p.county_code, p.city_code, p.province_code) "
    "LEFT JOIN region r1 ON r1.code = r0.parent_code "
    "LEFT JOIN region r2 ON r2.code = r1.parent_code "
)
SQLITE_DETAIL = (
    "SELECT " + DETAIL_COLUMNS + "(SELECT json_group_array(json_array(id, code, name, category))"
    " FROM (SELECT s.id, s.code, s.name, s.category FROM place_service_item ps "
    "JOIN service_item s ON s.id = ps.service_item_id WHERE ps.place_id = p.id "
    "ORDER BY s.code))" + DETAIL_JOINS + "WHERE p.id = ?"
)
POSTGIS_DETAIL = (
    "SELECT " + DETAIL_COLUMNS + "(SELECT json_agg(json_build_array(s.id, s.code, s.name, "
    "s.category) ORDER BY s.code) FROM place_service_item ps "
    "JOIN service_item s ON s.id = ps.service_item_id WHERE ps.place_id = p.id)"
    + DETAIL_JOINS + "WHERE p.id = %(id)s"
)

# What the detail answers are compared on: (id, region codes up the chain, ids of the items
# it handles, sorted: PostGraphile lists them by the link table's key, our API by code).
Detail = tuple[int, tuple[str, ...], tuple[int, ...]]


def detail_of(row) -> Detail:
    import json

    items = row[25]
    items = json.loads(items) if isinstance(items, str) else (items or [])
    return (int(row[0]), tuple(code for code in (row[16], row[19], row[22]) if code),
            tuple(sorted(int(item[0]) for item in items)))


def region_codes(region: dict | None, parent: str) -> tuple[str, ...]:
    """The codes of a GraphQL region object and its parents (field `parent`) up the chain."""
    codes = []
    while region:
        codes.append(region["code"])
        region = region.get(parent)
    return tuple(codes)


def sqlite_detail(db, place_id: int) -> Detail:
    return detail_of(db.execute(SQLITE_DETAIL, (place_id,)).fetchone())


def postgis_detail(db, place_id: int) -> Detail:
    return detail_of(db.execute(POSTGIS_DETAIL, {"id": place_id}, prepare=True).fetchone())


# query name -> (SQLite function, PostgreSQL function); each takes a connection and the
# query's arguments (lat, lon) or (place id,).
RAW_QUERIES = {
    "nearby": (sqlite_nearby, postgis_nearby),
    "text": (sqlite_text_nearby, postgis_text_nearby),
    "text_all": (sqlite_text_all, postgis_text_all),
    "detail": (sqlite_detail, postgis_detail),
}


def raw_connect(store: str, scale: int):
    return contextlib.closing(sqlite_connect(scale)) if store == "sqlite" else pg_connect(scale)


def raw_answers(store: str, scale: int, inputs, query: str = "nearby") -> list:
    """The answer of the raw SQL of `query` for each input ((lat, lon) or (place id,))."""
    function = RAW_QUERIES[query][store != "sqlite"]
    with raw_connect(store, scale) as db:
        return [function(db, *args) for args in inputs]


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


def raw_single(store: str, scale: int, inputs, n: int, query: str = "nearby") -> dict:
    function = RAW_QUERIES[query][store != "sqlite"]
    samples = []
    with raw_connect(store, scale) as db:
        for i in range(n):
            args = inputs[i % len(inputs)]
            started = time.perf_counter()
            function(db, *args)
            samples.append(time.perf_counter() - started)
    result = stats_ms(samples)
    result["req_per_s"] = round(n / sum(samples), 1)
    return result


def _sqlite_worker(job) -> int:
    scale, inputs, offset, seconds, query = job
    function = RAW_QUERIES[query][0]
    count = 0
    with contextlib.closing(sqlite_connect(scale)) as db:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            function(db, *inputs[(offset + count) % len(inputs)])
            count += 1
    return count


def raw_load_sqlite(scale: int, inputs, seconds: float, processes: int,
                    query: str = "nearby") -> dict:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        started = time.perf_counter()
        counts = pool.map(_sqlite_worker,
                          [(scale, inputs, i * 37, seconds, query) for i in range(processes)])
        elapsed = time.perf_counter() - started
    return {"tool": f"{processes} Python processes (sqlite3 + numpy), one per core",
            "processes": processes, "seconds": round(elapsed, 1),
            "req_per_s": round(sum(counts) / seconds, 1)}


def pgbench_script(statement: str, variables: list[dict], constants: dict) -> str:
    """A pgbench script running `statement` (psycopg `%(name)s` parameters) with one of the
    `variables` sets drawn at random per transaction, `constants` inlined as literals."""
    lines = [f"\\set i random(0, {len(variables) - 1})"]
    for i, values in enumerate(variables):
        keyword = "\\if" if i == 0 else "\\elif"
        lines.append(f"{keyword} :i = {i}")
        lines += [f"\\set {name} {value!r}" for name, value in values.items()]
    lines.append("\\endif")
    for name in variables[0]:
        statement = statement.replace(f"%({name})s", f":{name}")
    for name, value in constants.items():
        literal = "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)
        statement = statement.replace(f"%({name})s", literal)
    return "\n".join([*lines, statement + ";"]) + "\n"


def raw_load_pgbench(scale: int, inputs, plan: Plan, seconds: float,
                     query: str = "nearby") -> dict:
    if query == "detail":
        script = pgbench_script(POSTGIS_DETAIL, [{"id": i} for (i,) in inputs], {})
    else:
        text = {"cap": MAX_EARTH_DISTANCE_M, "text_query": text_query()[1]}
        statement, constants = {
            "nearby": (POSTGIS_NEARBY, {"prefilter": RADIUS_M * 1.01 + 1.0, "radius": RADIUS_M}),
            "text": (POSTGIS_TEXT_NEARBY, text),
            "text_all": (POSTGIS_TEXT_ALL, {"text_query": text["text_query"]}),
        }[query]
        script = pgbench_script(statement, [{"lat": lat, "lon": lon} for lat, lon in inputs],
                                constants)
    path = DATA / f"pgbench_{query}.sql"
    path.write_text(script)
    out = pgbench(scale, path, plan.connections, plan.load_threads, int(seconds),
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


def same_answers(api_data: list[list[tuple[float, int]]],
                 expected: list[list[tuple[float, int]]]) -> dict:
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


def same_details(got: list[Detail], expected: list[Detail]) -> dict:
    """API (or peer) place, region chain and items against the raw SQL's, per id."""
    mismatches = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    return {"ids": len(expected), "mismatches": len(mismatches), "first": mismatches[:5]}
