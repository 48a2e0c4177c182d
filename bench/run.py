#!/usr/bin/env python
"""The benchmark suite (issue 6): one entry point for `make bench` and `make bench-quick`.

For each scale (places) and store (sqlite, postgis) it seeds a bench database with
`flask seed bench` (reused when it already holds that scale and seed), then measures:

  api      nearby search through HTTP + GraphQL on the production server (gunicorn wsgi:app,
           2 workers x 4 threads): single keep-alive client p50/p95/p99, then wrk throughput;
           cold start (process start -> first answered query) and server RSS
  raw      the store's own spatial SQL on the same centres (sqlite3 + R*Tree + numpy
           geodesics; psycopg + ST_DWithin/ST_Distance), single client and throughput
           (2 processes for SQLite, pgbench for PostgreSQL)
  peer     PostGraphile 4 (2 cluster workers) over the same PostGIS database, through the SQL
           function of bench/peer.sql, same centres, same clients
  text     places(near, text: "医保") and mapClusters at zoom 8 and 12, when the running
           server's schema has them (introspected), else "not available"
  booking  bookAppointment under contention: 64 keep-alive clients over 200 fresh slots of a
           bench window through the API (development sign-in: emulator tokens) until every
           place is taken, overbooking and bookkeeping checked in the database afterwards;
           beside it the raw rate of the same writes (pgbench -c64 / sqlite3 processes)

Results: bench/results/<date>-<scale>-<store>.json, bench/results/<date>[-quick].md, and with
--record the tables in bench/RESULTS.md. Run with the project venv: .venv/bin/python bench/run.py
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

BENCH = ROOT / "bench"
DATA = BENCH / ".data"
LOGS = DATA / "logs"
PEER_DIR = BENCH / ".peer"
RESULTS_DIR = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
VENV_BIN = Path(sys.executable).parent
POSTGRAPHILE_VERSION = "4.14.1"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
API_PORT, PEER_PORT = 18080, 18081
GUNICORN_ARGS = ["--workers", "2", "--threads", "4", "--preload"]  # = gunicorn.conf.py (make run)
DATA_SEED = 0
CENTRE_SEED = 20_260_601
N_CENTRES = 200
RADIUS_M = 3000.0
FIRST = 20
KINDS = ["SERVICE_HALL", "CLINIC", "ELDERLY_CARE"]  # all three: PostGraphile returns the same rows
TEXT = "医保"
ZOOMS = (8, 12)
FIREBASE_PROJECT = "demo-servicemap"  # the development project of `make run`
MARK_BEGIN, MARK_END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


@dataclass(frozen=True)
class Plan:
    name: str
    scales: tuple[int, ...]
    stores: tuple[str, ...]
    single_requests: int  # per single-client series
    load_seconds: float  # wrk / pgbench / raw throughput duration
    extra_requests: int  # text + clusters single-client series
    extra_seconds: float
    connections: int = 8  # wrk -c and pgbench -c: as many as the server has threads
    load_threads: int = 2  # wrk -t and pgbench -j
    warmup: int = N_CENTRES  # requests before the single-client series (both workers warm)
    checked_centres: int = N_CENTRES  # centres whose answers are compared with raw SQL
    booking_capacity: int = 5  # places per slot: 200 slots x 5 = 1000 bookings to make
    booking_seconds: float = 60.0  # cap on the API booking run (it ends when all are taken)
    booking_raw_seconds: float = 10.0  # each pgbench / sqlite3 raw booking run


PLANS = {
    "full": Plan("full", (10_000, 100_000, 1_000_000), ("sqlite", "postgis"), 1000, 12.0, 300, 6.0),
    "quick": Plan("quick", (10_000,), ("sqlite", "postgis"), 200, 2.0, 40, 1.0,
                  warmup=60, checked_centres=40, booking_capacity=2, booking_seconds=30.0,
                  booking_raw_seconds=2.0),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], *, env: dict | None = None, check: bool = True, timeout: float = 3600,
        capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=check, timeout=timeout, text=True,
                          capture_output=capture, cwd=ROOT)


# ---------------------------------------------------------------- tools the bench installs


def ensure_python_requirements() -> None:
    from importlib.metadata import PackageNotFoundError, version

    wanted = []
    for line in (BENCH / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            wanted.append(line)
    missing = []
    for pin in wanted:
        name, _, pinned = pin.partition("==")
        try:
            if version(name) != pinned:
                missing.append(pin)
        except PackageNotFoundError:
            missing.append(pin)
    if missing:
        log(f"installing {' '.join(missing)} into the venv")
        run([str(VENV_BIN / "pip"), "install", "-q", "-r", str(BENCH / "requirements.txt")])


def apt_install(package: str) -> None:
    log(f"apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if run(["apt-get", "install", "-y", "-q", package], env=env, check=False).returncode:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", package], env=env)


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        apt_install("wrk")
    return shutil.which("wrk") or "wrk"


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


def ensure_postgis() -> str | None:
    """None when PostgreSQL + PostGIS can be used, else the reason."""
    if not pg_reachable():
        return f"no PostgreSQL on {PG_HOST}:{PG_PORT}"
    with pg_admin() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    if not found:
        apt_install("postgresql-15-postgis-3")
    return None


def ensure_postgraphile() -> Path:
    binary = PEER_DIR / "node_modules" / ".bin" / "postgraphile"
    package = PEER_DIR / "node_modules" / "postgraphile" / "package.json"
    installed = json.loads(package.read_text())["version"] if package.exists() else None
    if installed != POSTGRAPHILE_VERSION or not binary.exists():
        log(f"npm install --prefix bench/.peer postgraphile@{POSTGRAPHILE_VERSION}")
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund",
             "--save-exact", f"postgraphile@{POSTGRAPHILE_VERSION}"], timeout=900)
    return binary


# ---------------------------------------------------------------- machine and run facts


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def commit() -> dict:
    head = run(["git", "rev-parse", "HEAD"], check=False).stdout.strip()
    status = run(["git", "status", "--short"], check=False).stdout.splitlines()
    return {"head": head, "uncommitted_files": len(status)}


def tool_versions(wrk: str | None) -> dict:
    versions = {}
    for name, cmd in (("postgres", ["psql", "--version"]), ("pgbench", ["pgbench", "--version"]),
                      ("node", ["node", "--version"])):
        with contextlib.suppress(OSError):
            versions[name] = run(cmd, check=False).stdout.strip()
    if wrk:
        out = run([wrk, "--version"], check=False)
        versions["wrk"] = (out.stdout + out.stderr).strip().splitlines()[0]
    versions["postgraphile"] = POSTGRAPHILE_VERSION
    return versions


# ---------------------------------------------------------------- data


def generator_fingerprint() -> int:
    from backend.places.bench_data import GENERATOR_VERSION

    return GENERATOR_VERSION


def database_url(store: str, scale: int) -> str:
    if store == "sqlite":
        return f"sqlite:///{DATA / f'bench_{scale}.sqlite3'}"
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/bench_{scale}"


def app_env(url: str) -> dict:
    """The production server's environment: production refuses the development sign-in aids
    and wants a Firebase project (no token is verified by the anonymous queries measured)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FIREBASE_AUTH_EMULATOR", "FIREBASE_CERTS_URL"))}
    env.update({"DATABASE_URL": url, "APP_ENV": "production", "PYTHONUNBUFFERED": "1",
                "FIREBASE_PROJECT_ID": os.environ.get("FIREBASE_PROJECT_ID") or FIREBASE_PROJECT})
    return env


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

            with contextlib.closing(sqlite3.connect(DATA / f"bench_{scale}.sqlite3")) as db:
                return db.execute(query).fetchone()[0]
        import psycopg

        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                             dbname=f"bench_{scale}") as db:
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
                                  (f"bench_{scale}",)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "bench_{scale}"')
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


def centres() -> list[tuple[float, float]]:
    """N_CENTRES query centres drawn like the data (where people are), fixed for every run."""
    from backend.places.bench_data import sample_points

    lat, lon, _ = sample_points(N_CENTRES, CENTRE_SEED)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


# ---------------------------------------------------------------- servers and clients


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Server:
    """A server process in its own process group (so RSS and stopping cover its workers)."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int) -> None:
        if not port_free(port):
            raise RuntimeError(f"port {port} is in use")
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name, self.port = name, port
        self.log_path = LOGS / f"{name}.log"
        self.log_file = self.log_path.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == self.proc.pid:  # process group id
                pids.append(int(entry.name))
        return sorted(pids)

    def rss_mb(self) -> dict:
        """Summed RSS of the server's processes, and their summed PSS (proportional set size:
        a page shared by the preloaded workers counts once overall, not once per process)."""
        per, pss = {}, {}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                if match:
                    per[pid] = int(match.group(1)) / 1024
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
                if match:
                    pss[pid] = int(match.group(1)) / 1024
        return {"total_mb": round(sum(per.values()), 1), "processes": len(per),
                "per_process_mb": [round(v, 1) for _, v in sorted(per.items())],
                "pss_total_mb": round(sum(pss.values()), 1)}

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 60.0) -> float:
        """Wait until the server has worked off requests a load generator left queued."""
        started = time.perf_counter()
        last = self.cpu_seconds()
        while time.perf_counter() - started < timeout:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.05:  # under 10 % of one core
                break
            last = now
        return time.perf_counter() - started

    def wait_first_answer(self, path: str, body: bytes, timeout: float = 120) -> float:
        """Seconds from process start to the first successful answer to `body`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                conn.close()
                if response.status == 200 and b'"errors"' not in data:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s: see {self.log_path}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log_file.close()


class Client:
    """One keep-alive HTTP/1.1 connection, as a phone app's HTTP stack keeps."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, body: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def stats_ms(samples_s: list[float]) -> dict:
    a = np.asarray(samples_s) * 1000.0
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "mean_ms": round(float(a.mean()), 3),
        "max_ms": round(float(a.max()), 3),
    }


def single_client(port: int, path: str, bodies: list[bytes], n: int) -> dict:
    client = Client(port, path)
    samples, failures, first_error = [], 0, None
    try:
        for i in range(n):
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            status, data = client.post(body)
            samples.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in data:
                failures += 1
                first_error = first_error or data[:300].decode("utf-8", "replace")
    finally:
        client.close()
    result = stats_ms(samples)
    result["failed_responses"] = failures
    if first_error:
        result["first_error"] = first_error
    result["req_per_s"] = round(n / sum(samples), 1) if samples else 0.0
    return result


def wrk_load(wrk: str, port: int, path: str, bodies: list[bytes], plan: Plan, seconds: float,
             name: str, server: Server | None = None) -> dict:
    body_file = DATA / f"bodies-{name}.jsonl"
    body_file.write_bytes(b"\n".join(bodies) + b"\n")
    env = {**os.environ, "WRK_BODIES": str(body_file)}
    cmd = [wrk, f"-t{plan.load_threads}", f"-c{plan.connections}",
           f"-d{max(1, round(seconds))}s",
           "--timeout", "10s", "-s", str(BENCH / "wrk_bodies.lua"),
           f"http://127.0.0.1:{port}{path}"]
    out = run(cmd, env=env, check=False, timeout=seconds + 120)
    drained = server.wait_idle() if server is not None else None
    match = re.search(r"WRK_JSON (\{.*\})", out.stdout)
    if not match:
        return {"error": (out.stdout + out.stderr)[-1000:]}
    raw = json.loads(match.group(1))
    duration = raw["duration_us"] / 1e6
    return {
        "drain_after_s": round(drained, 1) if drained is not None else None,
        "connections": plan.connections,
        "threads": plan.load_threads,
        "seconds": round(duration, 1),
        "requests": raw["requests"],
        "req_per_s": round(raw["requests"] / duration, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["latency_max_us"] / 1000,
        "failed_responses": raw["failed_responses"],
        "socket_errors": raw["socket_errors"],
        "timeouts": raw["timeouts"],
    }


# ---------------------------------------------------------------- GraphQL documents


def operation(name: str) -> str | None:
    path = ROOT / "graphql" / "operations" / f"{name}.graphql"
    return path.read_text(encoding="utf-8") if path.exists() else None


NEARBY_FALLBACK = """query NearbyPlaces($near: GeoPointInput!, $radiusMeters: Float,
  $kinds: [PlaceKind!], $first: Int = 20) {
  places(near: $near, radiusMeters: $radiusMeters, kinds: $kinds, first: $first) {
    edges { cursor distanceMeters
      node { id name kind address phone location { lat lon } region { code name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

PEER_QUERY = """query NearbyPlaces($lat: Float!, $lon: Float!, $radius: Float!) {
  nearbyPlaces(lat: $lat, lon: $lon, radius: $radius, first: 20) {
    edges { cursor node { id kind name address phone lat lon regionCode regionName
                          distanceMeters } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def nearby_bodies(points) -> list[bytes]:
    document = operation("NearbyPlaces") or NEARBY_FALLBACK
    return [json.dumps({
        "query": document,
        "operationName": "NearbyPlaces",
        "variables": {"near": {"lat": lat, "lon": lon}, "radiusMeters": RADIUS_M,
                      "kinds": KINDS, "first": FIRST},
    }, ensure_ascii=False).encode() for lat, lon in points]


def peer_bodies(points) -> list[bytes]:
    return [json.dumps({"query": PEER_QUERY, "operationName": "NearbyPlaces",
                        "variables": {"lat": lat, "lon": lon, "radius": RADIUS_M}}).encode()
            for lat, lon in points]


TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"


def gql(port: int, query: str, variables: dict | None = None) -> dict:
    client = Client(port, "/graphql")
    try:
        status, data = client.post(json.dumps({"query": query,
                                               "variables": variables or {}}).encode())
    finally:
        client.close()
    return json.loads(data)


def type_string(ref: dict) -> str:
    if ref["kind"] == "NON_NULL":
        return type_string(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_string(ref["ofType"]) + "]"
    return ref["name"]


def named(ref: dict) -> dict:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref


def selection(port: int, type_name: str, depth: int = 2) -> str:
    """Every field without required arguments, objects down to `depth` levels."""
    info = gql(port, f'{{ __type(name: "{type_name}") {{ fields {{ name '
                     f'args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }}')
    parts = []
    for f in (info["data"]["__type"] or {}).get("fields") or []:
        if any(a["type"]["kind"] == "NON_NULL" for a in f["args"]):
            continue
        target = named(f["type"])
        if target["kind"] in ("SCALAR", "ENUM"):
            parts.append(f["name"])
        elif target["kind"] == "OBJECT" and depth > 1:
            inner = selection(port, target["name"], depth - 1)
            if inner:
                parts.append(f"{f['name']} {{ {inner} }}")
    return " ".join(parts)


def introspect_features(port: int) -> dict:
    """What the running server offers beyond nearby search: text on places, mapClusters."""
    info = gql(port, f'{{ __type(name: "Query") {{ fields {{ name '
                     f'args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }}')
    fields = {f["name"]: f for f in info["data"]["__type"]["fields"]}
    places_args = {a["name"] for a in fields.get("places", {}).get("args", [])}
    mutation = gql(port, '{ __type(name: "Mutation") { fields { name } } }')
    mutation_fields = [f["name"] for f in ((mutation.get("data") or {}).get("__type") or {})
                       .get("fields") or []]
    return {
        "query_fields": sorted(fields),
        "places_args": sorted(places_args),
        "text": "text" in places_args,
        "map_clusters": fields.get("mapClusters"),
        "booking": [name for name in mutation_fields if "book" in name.lower()
                    or "appointment" in name.lower()],
    }


def text_bodies(points) -> list[bytes]:
    document = operation("FindPlaces")
    name = "FindPlaces"
    if document is None or "$text" not in document or "$near" not in document:
        name = "TextNear"
        document = """query TextNear($near: GeoPointInput!, $text: String!, $first: Int) {
  places(near: $near, text: $text, first: $first) {
    edges { cursor distanceMeters node { id name kind address phone location { lat lon } } }
    pageInfo { hasNextPage endCursor } } }"""
    return [json.dumps({"query": document, "operationName": name,
                        "variables": {"near": {"lat": lat, "lon": lon}, "text": TEXT,
                                      "first": FIRST}}, ensure_ascii=False).encode()
            for lat, lon in points]


def cluster_bodies(port: int, clusters: dict, points, zoom: int
                   ) -> tuple[list[bytes] | None, str]:
    args = {a["name"]: a for a in clusters["args"]}
    if "bbox" not in args or "zoom" not in args:
        return None, f"mapClusters has arguments {sorted(args)}: no bbox/zoom to drive"
    inner = selection(port, named(clusters["type"])["name"])
    document = (f"query MapClusters($bbox: {type_string(args['bbox']['type'])}, "
                f"$zoom: {type_string(args['zoom']['type'])}) "
                f"{{ mapClusters(bbox: $bbox, zoom: $zoom) {{ {inner} }} }}")
    bodies = []
    for lat, lon in points:
        # A phone screen of 400 x 800 CSS px of 256-px tiles at this zoom.
        width = 360.0 * 400 / (256 * 2 ** zoom)
        height = width * 2 * np.cos(np.radians(lat))
        bbox = {"south": lat - height / 2, "north": lat + height / 2,
                "west": lon - width / 2, "east": lon + width / 2}
        bodies.append(json.dumps({"query": document, "operationName": "MapClusters",
                                  "variables": {"bbox": bbox, "zoom": zoom}}).encode())
    return bodies, document


# ---------------------------------------------------------------- raw SQL


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


def sqlite_connect(scale: int):
    import sqlite3

    path = DATA / f"bench_{scale}.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def pg_connect(scale: int):
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=f"bench_{scale}")


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
    cmd = ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-n", "-M", "prepared",
           "-c", str(plan.connections), "-j", str(plan.load_threads), "-T", f"{int(seconds)}",
           "-f", str(script), f"bench_{scale}"]
    out = run(cmd, check=False, timeout=seconds + 120)
    tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if not tps:
        return {"error": (out.stdout + out.stderr)[-1500:]}
    return {"tool": "pgbench -M prepared", "connections": plan.connections,
            "threads": plan.load_threads, "seconds": int(seconds),
            "req_per_s": float(tps.group(1)),
            "latency_mean_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0}


# ---------------------------------------------------------------- profile


def profile(server: Server, wrk: str, bodies: list[bytes], plan: Plan, seconds: float) -> dict:
    """py-spy over the gunicorn master and workers while wrk drives the nearby query."""
    out_path = DATA / "profile-raw.txt"
    server.wait_idle()
    spy = subprocess.Popen(
        [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.proc.pid), "--subprocesses",
         "--duration", f"{int(seconds)}", "--rate", "200", "--format", "raw", "--nolineno",
         "--output", str(out_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    time.sleep(1.0)
    load = wrk_load(wrk, server.port, "/graphql", bodies, plan, seconds - 2, "profile")
    spy_out, _ = spy.communicate(timeout=seconds + 60)
    if not out_path.exists():
        return {"error": spy_out[-1000:]}
    return {"load": load, **summarize_profile(out_path)}


def _frame_label(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py)"; shorten the path.
    match = re.match(r"(.*) \((.*)\)$", frame)
    if not match:
        return frame
    function, path = match.groups()
    path = re.sub(r".*/site-packages/", "", path)
    path = path.replace(str(ROOT) + "/", "")
    path = re.sub(r".*/lib/python3\.\d+/", "", path)
    return f"{function} ({path})"


# Leaf frames of threads that wait for work (gthread's pool and poller, the arbiter): py-spy's
# idle detection does not see them as idle here, so they are dropped from the shares.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)", "EpollSelector.select (selectors.py)",
               "Arbiter.wait_for_signals (gunicorn/arbiter.py)", "Arbiter.sleep (gunicorn/",
               "wait (threading.py)", "sleep (gunicorn/")


def summarize_profile(path: Path, top: int = 25) -> dict:
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_label(f) for f in stack.split(";")
                  if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            idle += count
            continue
        total += count
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count

    def ranked(table: dict[str, int]) -> list[dict]:
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [{"frame": frame, "samples": n, "share": round(n / total, 3)} for frame, n in rows]

    ours = {frame: n for frame, n in inclusive.items()
            if re.search(r"\((backend|mobile_api|geodata|wsgi)", frame)}
    return {"samples": total, "idle_samples_dropped": idle, "self": ranked(self_time),
            "inclusive": ranked(inclusive), "inclusive_ours": ranked(ours)}


# ---------------------------------------------------------------- one scale x store


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


def api_answers(port: int, bodies: list[bytes]) -> list[list[tuple[float, int]]]:
    client = Client(port, "/graphql")
    answers = []
    try:
        for body in bodies:
            _, data = client.post(body)
            edges = json.loads(data)["data"]["places"]["edges"]
            answers.append([(e["distanceMeters"], int(e["node"]["id"])) for e in edges])
    finally:
        client.close()
    return answers


def peer_answers(port: int, bodies: list[bytes]) -> list[list[tuple[float, int]]]:
    client = Client(port, "/graphql")
    answers = []
    try:
        for body in bodies:
            _, data = client.post(body)
            edges = json.loads(data)["data"]["nearbyPlaces"]["edges"]
            answers.append([(e["node"]["distanceMeters"], int(e["node"]["id"])) for e in edges])
    finally:
        client.close()
    return answers


def measure_extra(server: Server, wrk: str, features: dict, points, plan: Plan) -> dict:
    port = server.port
    out: dict = {}
    if features["text"]:
        bodies = text_bodies(points)
        single = single_client(port, "/graphql", bodies, plan.extra_requests)
        load = wrk_load(wrk, port, "/graphql", bodies, plan, plan.extra_seconds, "text", server)
        out["text_geo"] = {"query": f'places(near, text: "{TEXT}", first: {FIRST})',
                           "single": single, "load": load}
    else:
        out["text_geo"] = {"status": "not available: Query.places has no `text` argument"}
    clusters = features["map_clusters"]
    for zoom in ZOOMS:
        key = f"clusters_z{zoom}"
        if clusters is None:
            out[key] = {"status": "not available: Query has no `mapClusters` field"}
            continue
        bodies, document = cluster_bodies(port, clusters, points, zoom)
        if bodies is None:
            out[key] = {"status": f"not measured: {document}"}
            continue
        single = single_client(port, "/graphql", bodies, plan.extra_requests)
        load = wrk_load(wrk, port, "/graphql", bodies, plan, plan.extra_seconds, key, server)
        out[key] = {"query": f"mapClusters(bbox: <phone screen>, zoom: {zoom})",
                    "single": single, "load": load}
    return out


# ---------------------------------------------------------------- booking under contention
#
# Setup (in the bench database of the scale x store): one window "bench-window" at the first
# bench service hall, handling the first service item (by code); BOOKING_SLOTS fresh slots
# (`is_manual`, so `slots generate` leaves them alone) on the first ordinary working day at
# least two days ahead (both reminders are then always queued: 3 notifications per booking,
# whatever the hour of the run), plus one warm-up slot. Every earlier bench slot, appointment,
# notification and account (uids "bench-…") is deleted first, and again after the run.

BOOKING_WINDOW = "bench-window"
BOOKING_UID = "bench-"  # every account the booking bench makes starts so
BOOKING_CLIENTS = 64
BOOKING_SLOTS = 200
BOOKING_SLOT_MINUTES = 2  # 200 distinct start times from 08:00 (Beijing time)
BOOKING_SEED = 20_260_605
BOOKING_RAW_CAPACITY = 1_000_000  # the raw runs measure updates, not refusals
EMULATOR_HOST = "127.0.0.1:9099"  # never contacted: firebase-admin then accepts unsigned tokens


def booking_server_env(url: str) -> dict:
    """Development sign-in, as `make run`: unsigned emulator tokens of any uid are accepted."""
    env = app_env(url)
    env.update({"APP_ENV": "development", "FIREBASE_PROJECT_ID": FIREBASE_PROJECT,
                "FIREBASE_AUTH_EMULATOR_HOST": EMULATOR_HOST})
    return env


def _booking_cleanup(session, window_ids: list[int]) -> dict:
    from sqlalchemy import delete, or_, select

    from backend.accounts.models import Account
    from backend.booking.models import Appointment, Slot
    from backend.notify.models import Notification

    bench_uid = f"{BOOKING_UID}%"
    appointments = select(Appointment.id).where(or_(Appointment.uid.like(bench_uid),
                                                    Appointment.window_id.in_(window_ids)))
    deleted = {
        "notifications": session.execute(delete(Notification).where(or_(
            Notification.uid.like(bench_uid), Notification.appointment_id.in_(appointments)))
        ).rowcount,
        "appointments": session.execute(delete(Appointment).where(
            Appointment.id.in_(appointments))).rowcount,
        "slots": session.execute(delete(Slot).where(Slot.window_id.in_(window_ids))).rowcount,
        "accounts": session.execute(delete(Account).where(Account.uid.like(bench_uid))).rowcount,
    }
    return deleted


def booking_cleanup(url: str) -> dict:
    """Delete the rows of the run, then vacuum and checkpoint, so that the tens of thousands of
    rows the raw runs wrote and deleted leave no work behind for the next measurements."""
    from sqlalchemy import select, text

    from backend.booking.models import ServiceWindow
    from backend.db import make_engine, make_session_factory, session_scope

    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            windows = list(session.scalars(select(ServiceWindow.id).where(
                ServiceWindow.name == BOOKING_WINDOW)))
            deleted = _booking_cleanup(session, windows)
        with engine.connect() as db:
            db = db.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "sqlite":
                db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            else:
                db.execute(text("VACUUM ANALYZE account, slot, appointment, notification"))
                db.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()
    return deleted


def booking_day(session, today: dt.date, horizon_days: int) -> dt.date:
    """The first ordinary working day (Mon–Fri not a statutory holiday, or a make-up working
    day) at least two days ahead, within the booking horizon."""
    from sqlalchemy import select

    from backend.places.models import HolidayDay

    kinds = dict(session.execute(select(HolidayDay.day, HolidayDay.kind).where(
        HolidayDay.day.between(today, today + dt.timedelta(days=horizon_days)))).all())
    for ahead in range(2, horizon_days + 1):
        day = today + dt.timedelta(days=ahead)
        kind = kinds.get(day)
        if kind == "workday" or (day.isoweekday() <= 5 and kind != "holiday"):
            return day
    raise RuntimeError(f"no working day within {horizon_days} days of {today}")


def prepare_booking(url: str, capacity: int, warm_capacity: int) -> dict:
    """The window, item and fresh slots of one booking run (see the section comment)."""
    from sqlalchemy import delete, func, select

    from backend.booking.models import ServiceWindow, Slot, WindowServiceItem
    from backend.booking.rules import BookingRules, business_date
    from backend.config import Settings
    from backend.db import make_engine, make_session_factory, session_scope
    from backend.guidance.models import ServiceItem
    from backend.places.hours import BUSINESS_TZ
    from backend.places.models import HolidayDay, Place, utcnow

    started = time.perf_counter()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seeded = []
    with session_scope(factory) as session:
        items = session.scalar(select(func.count()).select_from(ServiceItem))
        holidays = session.scalar(select(func.count()).select_from(HolidayDay))
    if not items:  # `seed bench` loads places only
        seeded.append(flask(["seed", "items"], url).strip())
    if not holidays:
        seeded.append(flask(["calendar", "seed"], url).strip())
    rules = BookingRules.from_settings(Settings.from_env(booking_server_env(url)))
    try:
        with session_scope(factory) as session:
            item_id = session.scalar(select(ServiceItem.id).order_by(ServiceItem.code).limit(1))
            window = session.scalar(select(ServiceWindow).where(
                ServiceWindow.name == BOOKING_WINDOW).order_by(ServiceWindow.id).limit(1))
            if window is None:
                hall = session.scalar(select(Place.id).where(
                    Place.kind == "SERVICE_HALL", Place.source == "bench")
                    .order_by(Place.id).limit(1))
                window = ServiceWindow(place_id=hall, name=BOOKING_WINDOW, is_active=True)
                session.add(window)
                session.flush()
            window.is_active = True
            deleted = _booking_cleanup(session, [window.id])
            session.execute(delete(WindowServiceItem).where(
                WindowServiceItem.window_id == window.id))
            session.add(WindowServiceItem(window_id=window.id, service_item_id=item_id))
            now = utcnow()
            day = booking_day(session, business_date(now), rules.horizon_days)
            first = dt.datetime.combine(day, dt.time(8, 0), tzinfo=BUSINESS_TZ).astimezone(dt.UTC)
            step = dt.timedelta(minutes=BOOKING_SLOT_MINUTES)
            rows = [Slot(window_id=window.id, day=day, starts_at=first + i * step,
                         ends_at=first + (i + 1) * step, capacity=capacity, booked=0,
                         status="open", is_manual=True) for i in range(BOOKING_SLOTS)]
            session.add_all(rows)
            session.flush()
            warm = Slot(window_id=window.id, day=day, starts_at=first - 30 * step,
                        ends_at=first - 29 * step, capacity=warm_capacity, booked=0,
                        status="open", is_manual=True)
            session.add(warm)
            session.flush()
            slot_ids = sorted(slot.id for slot in rows)
            setup = {"place_id": window.place_id, "window_id": window.id,
                     "service_item_id": item_id, "day": day.isoformat(),
                     "first_start_utc": first.isoformat(), "slot_minutes": BOOKING_SLOT_MINUTES,
                     "slot_ids": [slot_ids[0], slot_ids[-1]], "warmup_slot_id": warm.id,
                     "capacity": capacity, "deleted_before": deleted}
        if slot_ids[-1] - slot_ids[0] + 1 != BOOKING_SLOTS:
            raise RuntimeError(f"bench slot ids are not contiguous: {slot_ids[:3]}…")
    finally:
        engine.dispose()
    setup["seeded_now"] = seeded
    setup["seconds"] = round(time.perf_counter() - started, 2)
    return setup


class AsyncClient:
    """One keep-alive HTTP/1.1 connection over asyncio streams (a phone's HTTP stack): the
    64 booking clients share one thread, so the load generator costs little CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None
        self.reconnects = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes, token: str) -> tuple[int, bytes]:
        import asyncio

        head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        for attempt in range(2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                                             self.port)
                self.writer.write(head + body)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionError("connection closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length)
                if close:
                    self.close()
                return status, data
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                # Resent with the same uid and key: a booking the server made before the
                # connection broke comes back as the same appointment (idempotency).
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")


def booking_document() -> str:
    document = operation("BookAppointment")
    if document is None:
        raise RuntimeError("graphql/operations/BookAppointment.graphql is missing")
    return document


async def _book_clients(port: int, slots: list[int], capacity: int, item_id: int,
                        uid_prefix: str, clients: int, seconds: float,
                        max_attempts: int | None) -> dict:
    """`clients` keep-alive clients book until every place is taken (or `seconds` pass, or
    `max_attempts` are made). Each attempt is a new resident (uid) with a new idempotency key
    and a slot drawn uniformly among those still open as far as the clients know: a slot
    leaves the choice once its places are all answered, or on its first SLOT_FULL (as
    availableSlots would stop showing it); SLOT_FULL answers are the races for the last
    places of a slot."""
    import asyncio
    import random

    from backend.accounts.dev_token import emulator_token

    document = booking_document()
    rng = random.Random(BOOKING_SEED)
    open_slots = list(slots)
    booked = dict.fromkeys(slots, 0)
    state = {"attempts": 0, "last_success": None}
    latencies: dict[str, list[float]] = {"booked": [], "slot_full": [], "other": []}
    other_errors: dict[str, int] = {}
    appointment_ids: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds

    def close_slot(slot: int) -> None:
        if slot in open_slots:
            open_slots.remove(slot)

    async def one_client(client: AsyncClient) -> None:
        while open_slots and time.perf_counter() < deadline and (
                max_attempts is None or state["attempts"] < max_attempts):
            slot = rng.choice(open_slots)
            n = state["attempts"]
            state["attempts"] += 1
            body = json.dumps({"query": document, "operationName": "BookAppointment",
                               "variables": {"slotId": str(slot), "serviceItemId": str(item_id),
                                             "idempotencyKey": f"bench-key-{n}"}}).encode()
            token = emulator_token(f"{uid_prefix}{n}", FIREBASE_PROJECT)
            sent = time.perf_counter()
            try:
                status, data = await asyncio.wait_for(client.post(body, token), 60)
            except Exception as error:  # noqa: BLE001 - counted and reported
                kind = f"transport: {type(error).__name__}"
                other_errors[kind] = other_errors.get(kind, 0) + 1
                latencies["other"].append(time.perf_counter() - sent)
                continue
            elapsed = time.perf_counter() - sent
            try:
                answer = json.loads(data)
                payload = answer["data"]["bookAppointment"] if status == 200 else None
            except (ValueError, KeyError, TypeError):
                answer, payload = {}, None
            if payload is not None and payload.get("appointment") and not answer.get("errors"):
                appointment_ids.append(int(payload["appointment"]["id"]))
                booked[slot] += 1
                latencies["booked"].append(elapsed)
                state["last_success"] = time.perf_counter()
                if booked[slot] >= capacity:
                    close_slot(slot)
                continue
            codes = [e.get("code") for e in (payload or {}).get("errors") or []]
            if codes == ["SLOT_FULL"] and not answer.get("errors"):
                latencies["slot_full"].append(elapsed)
                close_slot(slot)
                continue
            kind = (f"HTTP {status}" if status != 200 else
                    "GraphQL errors" if answer.get("errors") else
                    "payload " + ",".join(str(c) for c in codes) if codes else "unreadable")
            other_errors[kind] = other_errors.get(kind, 0) + 1
            other_errors.setdefault("first", (data[:300] or b"").decode("utf-8", "replace"))
            latencies["other"].append(elapsed)

    connections = [AsyncClient(port) for _ in range(clients)]
    try:
        await asyncio.gather(*(one_client(c) for c in connections))
    finally:
        for client in connections:
            client.close()
    ended = time.perf_counter()
    every = latencies["booked"] + latencies["slot_full"] + latencies["other"]
    first_error = other_errors.pop("first", None)
    successes = len(latencies["booked"])
    fill = (state["last_success"] - started) if state["last_success"] else None
    result = {
        "clients": clients, "slots": len(slots), "capacity_per_slot": capacity,
        "places": len(slots) * capacity,
        "requests": state["attempts"], "booked": successes,
        "slot_full": len(latencies["slot_full"]),
        "other_errors": sum(other_errors.values()), "other_error_kinds": other_errors,
        "all_places_taken": not open_slots and successes == len(slots) * capacity,
        "seconds": round(ended - started, 3),
        "fill_seconds": round(fill, 3) if fill else None,
        "bookings_per_s": round(successes / fill, 1) if fill else 0.0,
        "req_per_s": round(state["attempts"] / (ended - started), 1),
        "reconnects": sum(c.reconnects for c in connections),
        **{k: v for k, v in stats_ms(every).items() if k != "n"},
        "booked_latency": stats_ms(latencies["booked"]),
        "slot_full_latency": stats_ms(latencies["slot_full"]),
    }
    if first_error:
        result["first_other_error"] = first_error
    result["appointment_ids"] = appointment_ids
    return result


def book_clients(port: int, slots: list[int], capacity: int, item_id: int, uid_prefix: str,
                 clients: int, seconds: float, max_attempts: int | None = None) -> dict:
    import asyncio

    return asyncio.run(_book_clients(port, slots, capacity, item_id, uid_prefix, clients,
                                     seconds, max_attempts))


def booking_checks(url: str, setup: dict, run: dict, uid_prefix: str) -> dict:
    """Correctness read from the database after the run: no slot over its capacity, every
    slot's `booked` equal to its active appointments, one appointment per successful answer
    (the same ids), no duplicate (uid, idempotency key), 3 notifications per booking."""
    from sqlalchemy import func, select

    from backend.booking.models import ACTIVE_STATUSES, Appointment, Slot
    from backend.db import make_engine
    from backend.notify.models import Notification

    lo, hi = setup["slot_ids"]
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            active = (select(func.count()).select_from(Appointment)
                      .where(Appointment.slot_id == Slot.id,
                             Appointment.status.in_(ACTIVE_STATUSES))
                      .correlate(Slot).scalar_subquery())
            slots = db.execute(select(Slot.id, Slot.capacity, Slot.booked, active)
                               .where(Slot.id.between(lo, hi))).all()
            ours = Appointment.uid.like(f"{uid_prefix}%")
            ids = set(db.scalars(select(Appointment.id).where(ours)))
            duplicates = db.scalar(select(func.count()).select_from(
                select(Appointment.uid, Appointment.idempotency_key).where(ours)
                .group_by(Appointment.uid, Appointment.idempotency_key)
                .having(func.count() > 1).subquery()))
            notifications = db.scalar(select(func.count()).select_from(Notification).where(
                Notification.appointment_id.in_(select(Appointment.id).where(ours))))
    finally:
        engine.dispose()
    over = sum(booked > capacity for _, capacity, booked, _ in slots)
    mismatched = sum(booked != count for _, _, booked, count in slots)
    answered = run["appointment_ids"]
    checks = {
        "slots_checked": len(slots),
        "slots_over_capacity": over,
        "slots_booked_ne_active_appointments": mismatched,
        "places_taken": sum(booked for _, _, booked, _ in slots),
        "appointments": len(ids),
        "successful_answers": len(answered),
        "answers_eq_appointments": len(answered) == len(ids) == len(set(answered))
                                   and set(answered) == ids,
        "duplicate_uid_key": duplicates,
        "notifications": notifications,
        "notifications_per_appointment": round(notifications / len(ids), 2) if ids else None,
    }
    checks["ok"] = (over == 0 and mismatched == 0 and checks["answers_eq_appointments"]
                    and duplicates == 0 and run["other_errors"] == 0
                    and checks["places_taken"] == len(ids))
    return checks


def reset_booking_slots(url: str, setup: dict, capacity: int) -> None:
    """Empty the bench slots (appointments, their notifications and accounts deleted first)
    and give them `capacity`."""
    from sqlalchemy import update

    from backend.booking.models import Slot
    from backend.db import make_engine, make_session_factory, session_scope

    lo, hi = setup["slot_ids"]
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _booking_cleanup(session, [])
            session.execute(update(Slot).where(Slot.id.between(lo, hi))
                            .values(booked=0, capacity=capacity))
    finally:
        engine.dispose()


# The writes of one booking transaction, as backend.booking.appointments.book makes them:
# the resident's lock (account upsert + touch), the conditional UPDATE that takes a place,
# the appointment and its 3 notifications (confirmation, 24 h and 1 h reminders). Not the
# reads the API adds (idempotency lookup, slot/window/item, resident limits, code check).
PG_BOOKING_TX = """\\set slot random({lo}, {hi})
\\set r random(1, 1000000000000)
BEGIN;
INSERT INTO account (uid, created_at, last_seen_at)
  VALUES ('{uid}' || :client_id || '-' || :r, now(), now()) ON CONFLICT (uid) DO NOTHING;
UPDATE account SET last_seen_at = now() WHERE uid = '{uid}' || :client_id || '-' || :r;
WITH taken AS (
  UPDATE slot SET booked = booked + 1
  WHERE id = :slot AND status = 'open' AND booked < capacity
  RETURNING id, window_id, day
), made AS (
  INSERT INTO appointment (uid, slot_id, window_id, service_item_id, day, status, code,
                           revision, idempotency_key, created_at, updated_at)
  SELECT '{uid}' || :client_id || '-' || :r, id, window_id, {item}, day, 'booked',
         upper(substr(md5(random()::text), 1, 16)), 0, 'raw-key', now(), now() FROM taken
  RETURNING id, uid
)
INSERT INTO notification (uid, kind, dedupe_key, title, body, data, appointment_id,
                          is_urgent, due_at, next_attempt_at, status, attempts, created_at)
SELECT made.uid, k.kind, k.kind || ':' || made.id, '{title}', '{body}',
       json_build_object('kind', k.kind), made.id, false, now(), now(), 'pending', 0, now()
FROM made CROSS JOIN (VALUES ('booking_confirmed'), ('reminder_24h'), ('reminder_1h')) AS k(kind);
COMMIT;
"""
PG_BOOKING_UPDATE = """\\set slot random({lo}, {hi})
UPDATE slot SET booked = booked + 1 WHERE id = :slot AND status = 'open' AND booked < capacity;
"""
RAW_TITLE = "预约成功"
RAW_BODY = "12月3日 09:30 在某某政务服务中心（bench-window）办理「某事项」，核验码 ABCDEFGH。"


def _pgbench(scale: int, script: str, name: str, clients: int, threads: int,
             seconds: float) -> dict:
    path = DATA / f"pgbench_booking_{name}.sql"
    path.write_text(script)
    cmd = ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-n", "-M", "prepared",
           "-c", str(clients), "-j", str(threads), "-T", f"{max(1, round(seconds))}",
           "-f", str(path), f"bench_{scale}"]
    out = run(cmd, check=False, timeout=seconds + 120)
    tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if not tps:
        return {"error": (out.stdout + out.stderr)[-1500:]}
    return {"tool": f"pgbench -M prepared -c {clients} -j {threads} -T {round(seconds)}",
            "script": str(path.relative_to(ROOT)), "tx_per_s": float(tps.group(1)),
            "transactions": int(processed.group(1)) if processed else None,
            "latency_mean_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0,
            "stderr": out.stderr.strip()[-300:] or None}


def raw_booking_pgbench(scale: int, setup: dict, plan: Plan) -> dict:
    lo, hi = setup["slot_ids"]
    fields = {"lo": lo, "hi": hi, "uid": f"{BOOKING_UID}raw-", "item": setup["service_item_id"],
              "title": RAW_TITLE, "body": RAW_BODY}
    threads = plan.load_threads
    return {
        "transaction": _pgbench(scale, PG_BOOKING_TX.format(**fields), "tx", BOOKING_CLIENTS,
                                threads, plan.booking_raw_seconds),
        "update_only": _pgbench(scale, PG_BOOKING_UPDATE.format(**fields), "update",
                                BOOKING_CLIENTS, threads, plan.booking_raw_seconds),
    }


SQLITE_BOOKING_STATEMENTS = (
    "INSERT INTO account (uid, created_at, last_seen_at) VALUES (?, ?, ?) "
    "ON CONFLICT (uid) DO NOTHING",
    "UPDATE account SET last_seen_at = ? WHERE uid = ?",
    "UPDATE slot SET booked = booked + 1 WHERE id = ? AND status = 'open' AND booked < capacity",
    "INSERT INTO appointment (uid, slot_id, window_id, service_item_id, day, status, code, "
    "revision, idempotency_key, created_at, updated_at) SELECT ?, id, window_id, ?, day, "
    "'booked', ?, 0, 'raw-key', ?, ? FROM slot WHERE id = ?",
    "INSERT INTO notification (uid, kind, dedupe_key, title, body, data, appointment_id, "
    "is_urgent, due_at, next_attempt_at, status, attempts, created_at) VALUES (?, ?, ?, ?, ?, "
    "?, ?, 0, ?, ?, 'pending', 0, ?)",
)


def _sqlite_booking_worker(args) -> dict:
    """One process: BEGIN IMMEDIATE + the booking writes + COMMIT (or the UPDATE alone, in
    autocommit), as fast as it can for `seconds`; the app's pragmas (WAL, busy_timeout)."""
    import random
    import sqlite3

    path, lo, hi, item, seconds, variant, worker = args
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL",
                   "busy_timeout=30000"):
        db.execute(f"PRAGMA {pragma}")
    account, touch, take, appoint, notify = SQLITE_BOOKING_STATEMENTS
    rng = random.Random(BOOKING_SEED + worker)
    done = refused = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        slot = rng.randint(lo, hi)
        try:
            if variant == "update":
                taken = db.execute(take, (slot,)).rowcount
            else:
                uid = f"{BOOKING_UID}raw-{worker}-{done + refused + errors}"
                now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                db.execute("BEGIN IMMEDIATE")
                db.execute(account, (uid, now, now))
                db.execute(touch, (now, uid))
                taken = db.execute(take, (slot,)).rowcount
                if taken:
                    code = f"{rng.getrandbits(64):016X}"
                    appointment = db.execute(appoint, (uid, item, code, now, now, slot)).lastrowid
                    db.executemany(notify, [
                        (uid, kind, f"{kind}:{appointment}", RAW_TITLE, RAW_BODY,
                         json.dumps({"kind": kind}), appointment, now, now, now)
                        for kind in ("booking_confirmed", "reminder_24h", "reminder_1h")])
                db.execute("COMMIT")
        except sqlite3.Error:
            errors += 1
            if db.in_transaction:
                db.execute("ROLLBACK")
            continue
        done += 1
        refused += not taken
    db.close()
    return {"done": done, "refused": refused, "errors": errors}


def raw_booking_sqlite(scale: int, setup: dict, plan: Plan) -> dict:
    lo, hi = setup["slot_ids"]
    path = str(DATA / f"bench_{scale}.sqlite3")
    processes = os.cpu_count() or 2
    ctx = multiprocessing.get_context("fork")
    out = {}
    for variant, key in (("tx", "transaction"), ("update", "update_only")):
        seconds = plan.booking_raw_seconds
        with ctx.Pool(processes) as pool:
            counts = pool.map(_sqlite_booking_worker,
                              [(path, lo, hi, setup["service_item_id"], seconds, variant, i)
                               for i in range(processes)])
        done = sum(c["done"] for c in counts)
        out[key] = {"tool": f"{processes} Python processes (sqlite3, WAL, busy_timeout 30 s)"
                            + (", BEGIN IMMEDIATE … COMMIT" if variant == "tx" else
                               ", autocommit"),
                    "seconds": seconds, "tx_per_s": round(done / seconds, 1),
                    "transactions": done, "refused": sum(c["refused"] for c in counts),
                    "failed": sum(c["errors"] for c in counts)}
    return out


def measure_booking(store: str, scale: int, plan: Plan, features: dict) -> dict:
    """Booking under contention: BOOKING_CLIENTS clients over BOOKING_SLOTS slots through the
    API until every place is taken, the database checked afterwards, then the raw rate of
    the same writes on the same database (pgbench / sqlite3 processes)."""
    if "bookAppointment" not in features["booking"]:
        return {"status": "not available: Mutation has no bookAppointment"}
    url = database_url(store, scale)
    log(f"{store} {scale}: booking")
    warm_requests = BOOKING_CLIENTS
    setup = prepare_booking(url, plan.booking_capacity, warm_requests)
    lo, hi = setup["slot_ids"]
    slots = list(range(lo, hi + 1))
    out: dict = {"query": f"bookAppointment ({BOOKING_CLIENTS} clients, {BOOKING_SLOTS} slots)",
                 "setup": setup}
    server = Server(f"booking-{store}-{scale}",
                    [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{API_PORT}",
                     *GUNICORN_ARGS, "--access-logfile", "-", "wsgi:app"],
                    booking_server_env(url), API_PORT)
    try:
        out["server"] = ("gunicorn wsgi:app " + " ".join(GUNICORN_ARGS)
                         + ", APP_ENV=development, emulator tokens")
        out["cold_start_s"] = round(server.wait_first_answer(
            "/graphql", b'{"query": "{ __typename }"}'), 3)
        # Both workers, their token verifier and their connection pools warm: bookings in a
        # slot of their own (not one of the measured ones), by other residents.
        warm = book_clients(API_PORT, [setup["warmup_slot_id"]], warm_requests,
                            setup["service_item_id"], f"{BOOKING_UID}warm-", BOOKING_CLIENTS,
                            30.0, max_attempts=warm_requests)
        out["warmup"] = {k: warm[k] for k in ("requests", "booked", "other_errors", "seconds")}
        result = book_clients(API_PORT, slots, plan.booking_capacity,
                              setup["service_item_id"], f"{BOOKING_UID}api-", BOOKING_CLIENTS,
                              plan.booking_seconds)
        out["rss"] = server.rss_mb()
    finally:
        server.stop()
    out["checks"] = booking_checks(url, setup, result, f"{BOOKING_UID}api-")
    result.pop("appointment_ids")
    out["load"] = result
    log(f"{store} {scale}: booking {result['booked']} places in {result['fill_seconds']} s "
        f"({result['bookings_per_s']}/s, {result['req_per_s']} req/s, {result['slot_full']} "
        f"SLOT_FULL, {result['other_errors']} other errors), checks "
        f"{'ok' if out['checks']['ok'] else 'FAILED'}")

    reset_booking_slots(url, setup, BOOKING_RAW_CAPACITY)
    raw = (raw_booking_pgbench(scale, setup, plan) if store == "postgis"
           else raw_booking_sqlite(scale, setup, plan))
    out["raw"] = raw
    out["cleanup_after"] = booking_cleanup(url)
    api_rate, raw_rate = result["bookings_per_s"], raw["transaction"].get("tx_per_s")
    out["api_over_raw"] = round(api_rate / raw_rate, 4) if api_rate and raw_rate else None
    out["status"] = ("measured" if out["checks"]["ok"] else "measured: CORRECTNESS CHECK FAILED")
    log(f"{store} {scale}: booking raw {raw['transaction'].get('tx_per_s')} tx/s, "
        f"UPDATE alone {raw['update_only'].get('tx_per_s')} /s")
    return out


def measure(store: str, scale: int, plan: Plan, wrk: str, points, do_profile: bool,
            peer_binary: Path | None, fresh: bool) -> dict:
    result: dict = {"scale": scale, "store": store, "plan": plan.name,
                    "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "loadavg_before": loadavg()}
    result["data"] = prepare_database(store, scale, fresh)
    url = database_url(store, scale)
    api_bodies = nearby_bodies(points)
    expected = raw_answers(store, scale, points[:plan.checked_centres])
    result["data"]["candidates_per_query"] = {
        "mean_results": round(float(np.mean([len(e) for e in expected])), 1),
        "full_pages": sum(len(e) > FIRST for e in expected),
        "prefilter_rows": candidate_counts(store, scale, points),
    }

    # -- our API
    log(f"{store} {scale}: api")
    server = Server(f"api-{store}-{scale}",
                    [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{API_PORT}",
                     *GUNICORN_ARGS, "--access-logfile", "-", "wsgi:app"],
                    app_env(url), API_PORT)
    try:
        api: dict = {"server": "gunicorn wsgi:app " + " ".join(GUNICORN_ARGS)}
        api["cold_start_s"] = round(server.wait_first_answer("/graphql", api_bodies[0]), 3)
        features = introspect_features(API_PORT)
        api["correctness"] = same_answers(
            api_answers(API_PORT, api_bodies[:plan.checked_centres]), expected)
        single_client(API_PORT, "/graphql", api_bodies, plan.warmup)  # both workers warm
        api["single"] = single_client(API_PORT, "/graphql", api_bodies, plan.single_requests)
        api["load"] = wrk_load(wrk, API_PORT, "/graphql", api_bodies, plan, plan.load_seconds,
                               f"api-{store}", server)
        api["rss_after_nearby"] = server.rss_mb()
        result.update(measure_extra(server, wrk, features, points, plan))
        api["rss"] = server.rss_mb()
        result["features"] = {k: v for k, v in features.items() if k != "map_clusters"}
        if do_profile:
            log(f"{store} {scale}: profile")
            result["profile"] = profile(server, wrk, api_bodies, plan, 12.0)
    finally:
        server.stop()
    result["api"] = api

    # -- the store's raw SQL
    log(f"{store} {scale}: raw SQL")
    raw = {"single": raw_single(store, scale, points, plan.single_requests)}
    if store == "sqlite":
        raw["load"] = raw_load_sqlite(scale, points, plan.load_seconds, os.cpu_count() or 2)
    else:
        raw["load"] = raw_load_pgbench(scale, points, plan, plan.load_seconds)
    result["raw"] = raw

    # -- the peer
    if store == "postgis" and peer_binary is not None:
        log(f"{store} {scale}: postgraphile")
        run(["psql", "-h", PG_HOST, "-U", PG_USER, "-d", f"bench_{scale}", "-q",
             "-v", "ON_ERROR_STOP=1", "-f", str(BENCH / "peer.sql")])
        bodies = peer_bodies(points)
        peer_server = Server(
            f"postgraphile-{scale}",
            ["node", str(peer_binary), "--connection",
             f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/bench_{scale}", "--schema", "public",
             "--host", "127.0.0.1", "--port", str(PEER_PORT), "--cluster-workers", "2",
             "--disable-query-log", "--disable-default-mutations"],
            {**os.environ, "NODE_ENV": "production"}, PEER_PORT)
        try:
            peer: dict = {"server": f"postgraphile@{POSTGRAPHILE_VERSION} --cluster-workers 2"}
            peer["cold_start_s"] = round(peer_server.wait_first_answer("/graphql", bodies[0]), 3)
            peer["correctness"] = same_answers(
                peer_answers(PEER_PORT, bodies[:plan.checked_centres]), expected)
            single_client(PEER_PORT, "/graphql", bodies, plan.warmup)
            peer["single"] = single_client(PEER_PORT, "/graphql", bodies, plan.single_requests)
            peer["load"] = wrk_load(wrk, PEER_PORT, "/graphql", bodies, plan,
                                    plan.load_seconds, "peer", peer_server)
            peer["rss"] = peer_server.rss_mb()
        finally:
            peer_server.stop()
        result["peer"] = peer
    elif store == "postgis":
        result["peer"] = {"status": "not measured (--no-peer)"}
    else:
        result["peer"] = {"status": "PostGraphile serves PostgreSQL only"}

    # -- booking under contention: last, its writes cannot disturb the reads measured above
    try:
        result["booking"] = measure_booking(store, scale, plan, features)
    except Exception as error:  # noqa: BLE001 - recorded: the other measurements still run
        log(f"{store} {scale}: booking failed: {error!r}")
        result["booking"] = {"status": f"error: {error!r}"[:300]}
    result["loadavg_after"] = loadavg()
    return result


# ---------------------------------------------------------------- report


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def scale_label(scale: int) -> str:
    return f"{scale // 1_000_000}M" if scale >= 1_000_000 else f"{scale // 1000}k"


def markdown(results: list[dict], meta: dict, profiles: list[dict] | None = None) -> str:
    lines = [
        f"Date: {meta['date']} · commit `{meta['commit']['head'][:12]}`"
        f" ({meta['commit']['uncommitted_files']} files uncommitted in the work tree) · plan "
        f"`{meta['plan']}`",
        f"Machine: {meta['machine']['cores']} cores ({meta['machine']['cpu']}), "
        f"{meta['machine']['ram_gib']} GiB RAM, Linux {meta['machine']['kernel']}, "
        f"Python {meta['machine']['python']}; load average before/after each run in the JSON.",
        f"Command: `{meta['command']}`",
        f"Tools: {', '.join(f'{k} {v}' for k, v in meta['tools'].items())}",
        "",
        f"Nearby query: radius {RADIUS_M:.0f} m, kinds {'/'.join(KINDS)}, first {FIRST}, "
        f"{N_CENTRES} fixed centres; single = one keep-alive client "
        f"(ms); load = wrk -t2 -c8 (HTTP) or pgbench -c8 -j2 / one process per core (raw).",
        "",
        "| scale | store | what | p50 | p95 | p99 | single req/s | load req/s | load p50 | "
        "load p99 | RSS MB | PSS MB | cold start s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = [("our API", r.get("api", {}))]
        rows.append(("raw SQL", r.get("raw", {})))
        if "single" in r.get("peer", {}):
            rows.append(("PostGraphile", r["peer"]))
        for what, m in rows:
            single, load = m.get("single", {}), m.get("load", {})
            lines.append(
                f"| {scale_label(r['scale'])} | {r['store']} | {what} | "
                f"{fmt(single.get('p50_ms'), 2)} | {fmt(single.get('p95_ms'), 2)} | "
                f"{fmt(single.get('p99_ms'), 2)} | {fmt(single.get('req_per_s'), 0)} | "
                f"{fmt(load.get('req_per_s'), 0)} | {fmt(load.get('p50_ms'), 2)} | "
                f"{fmt(load.get('p99_ms'), 2)} | {fmt(m.get('rss', {}).get('total_mb'), 0)} | "
                f"{fmt(m.get('rss', {}).get('pss_total_mb'), 0)} | "
                f"{fmt(m.get('cold_start_s'), 2)} |"
            )
    lines += ["", "Ratios and checks:", "",
              "| scale | store | API p50 / raw p50 | API req/s / raw req/s | API p50 / "
              "PostGraphile p50 | API req/s / PostGraphile req/s | results = raw SQL (API, "
              "PostGraphile) |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        api, raw, peer = r.get("api", {}), r.get("raw", {}), r.get("peer", {})

        def ratio(a: dict, b: dict, part: str, key: str) -> str:
            x, y = a.get(part, {}).get(key), b.get(part, {}).get(key)
            return f"{x / y:.2f}×" if x and y else "–"

        checks = f"{api.get('correctness', {}).get('mismatches', '–')} mismatches"
        if "correctness" in peer:
            checks += f", {peer['correctness']['mismatches']} mismatches"
        lines.append(
            f"| {scale_label(r['scale'])} | {r['store']} | "
            f"{ratio(api, raw, 'single', 'p50_ms')} | {ratio(api, raw, 'load', 'req_per_s')} | "
            f"{ratio(api, peer, 'single', 'p50_ms')} | {ratio(api, peer, 'load', 'req_per_s')} | "
            f"{checks} |"
        )
    lines += ["", "Text + geo, map clusters, booking:", "",
              "| scale | store | query | p50 | p95 | p99 | load req/s | status |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for key in ("text_geo", "clusters_z8", "clusters_z12", "booking"):
            m = r.get(key, {})
            single, load = m.get("single", {}), m.get("load", {})
            status = m.get("status", "measured")
            if single.get("failed_responses"):
                status = f"{single['failed_responses']} failed responses"
            if key == "booking" and load:
                single = load  # no single-client series: latencies under the 64 clients
                status += f" (latency under {load['clients']} clients; see below)"
            lines.append(
                f"| {scale_label(r['scale'])} | {r['store']} | {m.get('query', key)} | "
                f"{fmt(single.get('p50_ms'), 2)} | {fmt(single.get('p95_ms'), 2)} | "
                f"{fmt(single.get('p99_ms'), 2)} | {fmt(load.get('req_per_s'), 0)} | {status} |"
            )
    lines += booking_markdown(results)
    lines += ["", "Data:", "", "| scale | store | seeded | seed s | page rows per centre (mean) "
              "| prefilter rows per centre: mean / p50 / p95 / max |", "|---|---|---|---|---|---|"]
    for r in results:
        d = r.get("data", {})
        c = d.get("candidates_per_query", {})
        pre = c.get("prefilter_rows", {})
        lines.append(f"| {scale_label(r['scale'])} | {r['store']} | "
                     f"{'now' if d.get('seeded') else 'reused'} | {fmt(d.get('seconds'))} | "
                     f"{c.get('mean_results', '–')} | {pre.get('mean', '–')} / "
                     f"{pre.get('p50', '–')} / {pre.get('p95', '–')} / {pre.get('max', '–')} |")
    for r in [*results, *(profiles or [])]:
        prof = r.get("profile")
        if not prof or "self" not in prof:
            continue
        when = f" at {r['date'][11:16]}" if r.get("date") else ""
        lines += ["", f"Profile (py-spy at 200 Hz over the gunicorn workers while wrk -c8 drives "
                      f"the nearby query, {scale_label(r['scale'])} {r['store']}{when}: "
                      f"{prof['samples']} busy samples, {prof.get('idle_samples_dropped', 0)} "
                      "samples of waiting pool threads left out); top frames by own time "
                      "(psycopg's `Connection.wait` = waiting for PostgreSQL):",
                  "", "| share | frame |", "|---|---|"]
        lines += [f"| {p['share'] * 100:.1f} % | `{p['frame']}` |" for p in prof["self"][:15]]
        lines += ["", "Our code, inclusive:", "", "| share | frame |", "|---|---|"]
        lines += [f"| {p['share'] * 100:.1f} % | `{p['frame']}` |"
                  for p in prof["inclusive_ours"][:15]]
    return "\n".join(lines) + "\n"


def booking_markdown(results: list[dict]) -> list[str]:
    rows = [r for r in results if r.get("booking", {}).get("load")]
    if not rows:
        return []
    lines = ["", f"Booking under contention: {BOOKING_CLIENTS} keep-alive clients (new resident "
                 f"and idempotency key per request) over {BOOKING_SLOTS} slots of one window "
                 "until every place is taken; raw = the same writes (account lock, conditional "
                 "UPDATE, appointment, 3 notifications) in one transaction by pgbench -c64 -j2 "
                 "-M prepared (PostgreSQL) or one sqlite3 process per core (SQLite), and the "
                 "conditional UPDATE alone; correctness read from the database afterwards.",
             "", "| scale | store | booked / places | bookings/s | req/s | SLOT_FULL | other "
                 "errors | raw booking tx/s | API / raw | raw UPDATE alone /s | correctness |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r["booking"]
        load, raw, checks = b["load"], b.get("raw", {}), b.get("checks", {})
        tx, update = raw.get("transaction", {}), raw.get("update_only", {})
        if checks.get("ok"):
            verdict = (f"ok: 0 over capacity, booked = active appointments in all "
                       f"{checks['slots_checked']} slots, {checks['appointments']} rows = "
                       f"{checks['successful_answers']} answers, 0 duplicate keys")
        else:
            verdict = "FAILED: " + ", ".join(f"{k} {v}" for k, v in checks.items()
                                             if k != "ok")
        ratio = b.get("api_over_raw")
        lines.append(
            f"| {scale_label(r['scale'])} | {r['store']} | {load['booked']} / {load['places']} "
            f"| {fmt(load.get('bookings_per_s'), 0)} | {fmt(load.get('req_per_s'), 0)} | "
            f"{load['slot_full']} | {load['other_errors']} | {fmt(tx.get('tx_per_s'), 0)} | "
            f"{f'{ratio:.3f}×' if ratio else '–'} | {fmt(update.get('tx_per_s'), 0)} | "
            f"{verdict} |")
    return lines


def record(markdown_text: str) -> None:
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else (
        "# Benchmark results\n\n" + MARK_BEGIN + "\n" + MARK_END + "\n")
    if MARK_BEGIN not in text:
        text += "\n" + MARK_BEGIN + "\n" + MARK_END + "\n"
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    RESULTS_MD.write_text(head + MARK_BEGIN + "\n" + markdown_text + MARK_END + tail)


def profile_only(store: str, scale: int, plan: Plan, wrk: str, points) -> dict:
    """Only the py-spy profile of the API at one scale and store (the data must be seeded)."""
    url = database_url(store, scale)
    bodies = nearby_bodies(points)
    server = Server(f"profile-{store}-{scale}",
                    [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{API_PORT}",
                     *GUNICORN_ARGS, "--access-logfile", "-", "wsgi:app"],
                    app_env(url), API_PORT)
    try:
        server.wait_first_answer("/graphql", bodies[0])
        single_client(API_PORT, "/graphql", bodies, plan.warmup)
        result = {"scale": scale, "store": store, "loadavg_before": loadavg(),
                  "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                  "profile": profile(server, wrk, bodies, plan, 12.0)}
    finally:
        server.stop()
    return result


def report_only(date: str, plan: Plan, record_it: bool) -> int:
    """Rebuild the tables from the JSON files of a date (all scales and stores of the plan)."""
    results, profiles = [], []
    for scale in plan.scales:
        for store in plan.stores:
            tag = "" if plan.name == "full" else f"{plan.name}-"
            path = RESULTS_DIR / f"{date}-{tag}{scale}-{store}.json"
            result = json.loads(path.read_text()) if path.exists() else None
            path = RESULTS_DIR / f"{date}-profile-{scale}-{store}.json"
            if path.exists():
                profiles.append(json.loads(path.read_text()))
                if result is not None:  # a separate profile run replaces one made in passing
                    result.pop("profile", None)
            if result is not None:
                results.append(result)
    if not results:
        log(f"no results for {date}")
        return 1
    meta = results[-1]["meta"]
    text = markdown(results, meta, profiles)
    suffix = "" if plan.name == "full" else f"-{plan.name}"
    (RESULTS_DIR / f"{date}{suffix}.md").write_text(text)
    if record_it:
        record(text)
    print(text)
    return 0


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(PLANS), default="full")
    parser.add_argument("--scales", help="comma-separated place counts (default: the plan's)")
    parser.add_argument("--stores", help="comma-separated: sqlite,postgis (default: both)")
    parser.add_argument("--no-peer", action="store_true", help="skip PostGraphile")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the API once (at the largest scale, last store)")
    parser.add_argument("--fresh", action="store_true", help="re-seed even when reusable")
    parser.add_argument("--record", action="store_true", help="write the tables to RESULTS.md")
    parser.add_argument("--profile-only", action="store_true",
                        help="only profile the API at each scale and store of the plan")
    parser.add_argument("--report-only", metavar="DATE",
                        help="only rebuild the tables from bench/results/DATE-*.json")
    args = parser.parse_args(argv)
    plan = PLANS[args.plan]
    if args.scales:
        plan = PLANS[args.plan].__class__(**{**asdict(plan), "scales": tuple(
            int(s.replace("_", "")) for s in args.scales.split(","))})
    if args.stores:
        plan = plan.__class__(**{**asdict(plan), "stores": tuple(args.stores.split(","))})
    started = time.perf_counter()
    command = " ".join([".venv/bin/python", "bench/run.py", *(argv or sys.argv[1:])])
    if args.report_only:
        return report_only(args.report_only, plan, args.record)

    ensure_python_requirements()
    wrk = ensure_wrk()
    stores = list(plan.stores)
    skipped = {}
    if "postgis" in stores:
        reason = ensure_postgis()
        if reason:
            log(f"skipping postgis: {reason}")
            skipped["postgis"] = reason
            stores.remove("postgis")
    peer_binary = None
    if "postgis" in stores and not args.no_peer:
        peer_binary = ensure_postgraphile()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    points = centres()
    meta = {"date": dt.date.today().isoformat(), "plan": plan.name, "command": command,
            "machine": machine(), "commit": commit(), "tools": tool_versions(wrk),
            "skipped": skipped}
    if args.profile_only:
        for scale in plan.scales:
            for store in stores:
                result = profile_only(store, scale, plan, wrk, points)
                result["meta"] = meta
                path = RESULTS_DIR / f"{meta['date']}-profile-{scale}-{store}.json"
                path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
                log(f"{store} {scale}: profile -> {path.relative_to(ROOT)}")
        return report_only(meta["date"], plan, args.record)
    results = []
    for scale in plan.scales:
        for store in stores:
            do_profile = args.profile and scale == plan.scales[-1] and store == stores[-1]
            result = measure(store, scale, plan, wrk, points, do_profile, peer_binary,
                             args.fresh)
            result["meta"] = meta
            tag = "" if plan.name == "full" else f"{plan.name}-"
            path = RESULTS_DIR / f"{meta['date']}-{tag}{scale}-{store}.json"
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
            log(f"{store} {scale}: api p50 {result['api']['single'].get('p50_ms')} ms, "
                f"{result['api']['load'].get('req_per_s')} req/s; raw p50 "
                f"{result['raw']['single'].get('p50_ms')} ms -> {path.relative_to(ROOT)}")
            results.append(result)
    text = markdown(results, meta)
    suffix = "" if plan.name == "full" else f"-{plan.name}"
    (RESULTS_DIR / f"{meta['date']}{suffix}.md").write_text(text)
    if args.record:
        record(text)
    print(text)
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
