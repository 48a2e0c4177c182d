"""Server memory: summed RSS and PSS of gunicorn's master and two workers after the same load,
on the bench's 10k databases (SQLite and PostgreSQL), with and without preloading.

Run `make bench-quick` first (it seeds bench/.data/bench_10000.sqlite3 and the PostgreSQL database
bench_10000, writes the request bodies and installs wrk), then:

  .venv/bin/python bench/memory.py [--stores sqlite,postgis] [--variants conf] [--port 8131]
                                   [--scale 10000] [--database-url URL]

--scale reads bench/.data/bench_<scale>.sqlite3 and the PostgreSQL database bench_<scale> (seeded
by `bench/run.py --scales <scale>`); the server only reads them.

Each server first answers the resident app's common queries once per body (NearbyPlaces, its
places' PlaceDetail, WhereAmI at the same centres: lazy imports and caches of both workers
happen), then serves wrk loads (nearby, text + geo, mapClusters z8 and z12, 5 s each); then
its processes are read.

RSS counts a page shared by the forked workers once per process; PSS (proportional set size)
divides it among them, so the sum of PSS is the physical memory the server holds."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time

from paths import DATA, ROOT, VENV_BIN
from servers import Server, app_env

PORT = 8131
LOADS = ("api-{store}", "text", "clusters_z8", "clusters_z12")
DOCUMENTS = ROOT / "graphql" / "operations"
VARIANTS = {
    "none": ("2 workers × 4 threads, no preload",
             ["-c", "/dev/null", "--workers", "2", "--threads", "4"]),
    "preload": ("preloaded (--preload)",
                ["-c", "/dev/null", "--workers", "2", "--threads", "4", "--preload"]),
    "conf": ("gunicorn.conf.py (preloaded, gc.freeze)", []),
}


def database_url(store: str, scale: int) -> str:
    if store == "sqlite":
        return f"sqlite:///{DATA / f'bench_{scale}.sqlite3'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_{scale}"


def post(port: int, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/graphql", json.dumps(body), {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    if answer.get("errors"):
        raise RuntimeError(f"{body.get('operationName')}: {answer['errors']}")
    return answer["data"]


def warm_up(port: int, store: str) -> int:
    """The common queries, one connection each (so both workers get some): nearby, detail of
    the places found, regionAt at the same centre."""
    detail = (DOCUMENTS / "PlaceDetail.graphql").read_text()
    where = (DOCUMENTS / "WhereAmI.graphql").read_text()
    count = 0
    lines = (DATA / f"bodies-api-{store}.jsonl").read_text().splitlines()
    for line in lines[:100]:
        body = json.loads(line)
        data = post(port, body)
        near = body["variables"]["near"]
        post(port, {"query": where, "variables": {"point": near}})
        for edge in data["places"]["edges"][:3]:
            post(port, {"query": detail, "variables": {"id": edge["node"]["id"]}})
            count += 1
        count += 2
    return count


def measure(args: list[str], store: str, port: int, url: str) -> dict:
    env = app_env(url)
    server = Server(f"memory-{store}", [str(VENV_BIN / "gunicorn"), "--bind",
                                        f"127.0.0.1:{port}", *args, "wsgi:app"], env, port)
    try:
        nearby = (DATA / f"bodies-api-{store}.jsonl").read_text().splitlines()[0].encode()
        server.wait_first_answer("/graphql", nearby)
        warm_up(port, store)
        for name in LOADS:
            bodies = DATA / f"bodies-{name.format(store=store)}.jsonl"
            subprocess.run(["wrk", "-t2", "-c8", "-d5s", "-s",
                            str(ROOT / "bench" / "wrk_bodies.lua"),
                            f"http://127.0.0.1:{port}/graphql"], check=True,
                           env={**os.environ, "WRK_BODIES": str(bodies)},
                           stdout=subprocess.DEVNULL)
        server.wait_idle()
        time.sleep(1)
        return server.rss_mb()
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgis")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--scale", type=int, default=10_000, help="places (default: 10000)")
    parser.add_argument("--database-url", help="PostgreSQL database (default: bench_<scale>)")
    args = parser.parse_args()
    stores = args.stores.split(",")
    needed = [DATA / f"bench_{args.scale}.sqlite3"] if "sqlite" in stores else []
    needed += [DATA / f"bodies-{name.format(store=store)}.jsonl"
               for store in stores for name in LOADS]
    missing = [path for path in needed if not path.exists()]
    if missing:
        print(f"run `make bench-quick` first (missing {missing[0]})", file=sys.stderr)
        return 1
    print("| store | server | summed RSS MB | summed PSS MB | RSS per process MB |\n"
          "|---|---|---|---|---|")
    for store in stores:
        url = args.database_url if store == "postgis" and args.database_url else \
            database_url(store, args.scale)
        for key in args.variants.split(","):
            label, gunicorn_args = VARIANTS[key]
            result = measure(gunicorn_args, store, args.port, url)
            per = " / ".join(f"{v:.0f}" for v in result["per_process_mb"])
            print(f"| {store} | {label} | {result['total_mb']:.0f} | "
                  f"{result['pss_total_mb']:.0f} | {per} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
