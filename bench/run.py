#!/usr/bin/env python
"""The benchmark suite (issue 6): one entry point for `make bench` and `make bench-quick`.

For each scale (places) and store (sqlite, postgis) it seeds a bench database with
`flask seed bench` (reused when it already holds that scale and seed), then measures:

  api      nearby search through HTTP + GraphQL on the production server (gunicorn wsgi:app,
           2 workers x 4 threads): single keep-alive client p50/p95/p99, then wrk throughput;
           cold start (process start -> first answered query) and server RSS
  raw      the store's own SQL on the same centres and ids (sqlite3 + R*Tree / FTS5 + numpy
           geodesics; psycopg + ST_DWithin/ST_Distance / tsvector) of the nearby query, text +
           geo and one place by id, single client and throughput (2 processes for SQLite,
           pgbench for PostgreSQL)
  peer     PostGraphile 4 (2 cluster workers) over the same PostGIS database, through the SQL
           functions of bench/peer.sql (nearby, text + geo) and its own placeById, same
           centres and ids, same clients
  text     places(near, text: "医保") (FindPlaces), PlaceDetail and mapClusters at zoom 8 and
           12 (when the running server's schema has them: introspected, else "not available")
  booking  bookAppointment under contention: 64 keep-alive clients over 200 fresh slots of a
           bench window through the API (development sign-in: emulator tokens) until every
           place is taken, overbooking and bookkeeping checked in the database afterwards;
           beside it the raw rate of the same writes (pgbench -c64 / sqlite3 processes)

Results: bench/results/<date>-<scale>-<store>.json, bench/results/<date>[-quick].md, and with
--record the tables in bench/RESULTS.md. Run with the project venv: .venv/bin/python bench/run.py

The parts, one module each: plans.py (the plans), workload.py (centres and query parameters),
install.py (tools), machine.py (run facts), databases.py (seed or reuse), servers.py, clients.py,
documents.py (GraphQL bodies, introspection), raw.py (raw SQL baselines), peer.py
(PostGraphile), booking*.py (booking under contention), profiling.py (py-spy), measure.py (one
scale x store) and report.py (the tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import asdict

from install import ensure_postgis, ensure_postgraphile, ensure_python_requirements, ensure_wrk
from machine import commit, machine, tool_versions
from measure import booking_only, clusters_only, measure, profile_only
from paths import RESULTS_DIR, ROOT
from plans import PLANS
from report import markdown, profile_path, publish, report_only, results_path
from shell import log
from workload import centres


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
    parser.add_argument("--clusters-only", action="store_true",
                        help="only mapClusters through the API at each scale and store")
    parser.add_argument("--booking-only", action="store_true",
                        help="only the booking rush (and its raw transaction) at each scale "
                             "and store")
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
    if "postgis" in stores and not (args.no_peer or args.clusters_only or args.booking_only):
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
                path = profile_path(meta["date"], scale, store)
                path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
                log(f"{store} {scale}: profile -> {path.relative_to(ROOT)}")
        return report_only(meta["date"], plan, args.record)
    if args.clusters_only:
        return clusters_report(plan, stores, wrk, points, meta, args.fresh)
    if args.booking_only:
        return booking_report(plan, stores, meta, args.fresh)
    results = []
    for scale in plan.scales:
        for store in stores:
            do_profile = args.profile and scale == plan.scales[-1] and store == stores[-1]
            result = measure(store, scale, plan, wrk, points, do_profile, peer_binary,
                             args.fresh)
            result["meta"] = meta
            path = results_path(meta["date"], plan, scale, store)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
            log(f"{store} {scale}: api p50 {result['api']['single'].get('p50_ms')} ms, "
                f"{result['api']['load'].get('req_per_s')} req/s; raw p50 "
                f"{result['raw']['single'].get('p50_ms')} ms -> {path.relative_to(ROOT)}")
            results.append(result)
    publish(markdown(results, meta), meta["date"], plan, args.record)
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


def clusters_report(plan, stores: list[str], wrk: str, points, meta: dict, fresh: bool) -> int:
    """--clusters-only: mapClusters at every scale and store of the plan, one after the other
    (compare scales within one run); JSON per scale x store and a table on stdout, never
    RESULTS.md."""
    rows = []
    for scale in plan.scales:
        for store in stores:
            result = clusters_only(store, scale, plan, wrk, points, fresh)
            result["meta"] = meta
            path = RESULTS_DIR / f"{meta['date']}-clusters-{scale}-{store}.json"
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
            for zoom in ("z8", "z12"):
                single = result.get(f"clusters_{zoom}", {}).get("single", {})
                load = result.get(f"clusters_{zoom}", {}).get("load", {})
                rows.append(f"| {scale} | {store} | {zoom} | {single.get('p50_ms')} | "
                            f"{single.get('p95_ms')} | {single.get('p99_ms')} | "
                            f"{load.get('req_per_s')} | {single.get('failed_responses')} | "
                            f"{result['loadavg_before'][0]} → {result['loadavg_after'][0]} |")
            log(f"{store} {scale}: mapClusters -> {path.relative_to(ROOT)}")
    print("| scale | store | zoom | p50 ms | p95 | p99 | wrk req/s | failed | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


def booking_report(plan, stores: list[str], meta: dict, fresh: bool) -> int:
    """--booking-only: the booking rush at every scale and store of the plan; JSON per scale x
    store and a table on stdout, never RESULTS.md."""
    rows = []
    for scale in plan.scales:
        for store in stores:
            result = booking_only(store, scale, plan, fresh)
            result["meta"] = meta
            path = RESULTS_DIR / f"{meta['date']}-booking-{scale}-{store}.json"
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
            booking = result["booking"]
            load, checks = booking.get("load", {}), booking.get("checks", {})
            raw = booking.get("raw", {}).get("transaction", {}).get("tx_per_s")
            rows.append(f"| {scale} | {store} | {load.get('bookings_per_s')} | "
                        f"{raw if raw is None else round(raw, 1)} | "
                        f"{booking.get('api_over_raw')} | {load.get('p50_ms')} | "
                        f"{load.get('p99_ms')} | {load.get('other_errors')} | "
                        f"{'ok' if checks.get('ok') else 'FAILED'} | "
                        f"{result['loadavg_before'][0]} → {result['loadavg_after'][0]} |")
            log(f"{store} {scale}: booking -> {path.relative_to(ROOT)}")
    print("| scale | store | bookings/s | raw tx/s | API / raw | p50 ms | p99 ms | other errors "
          "| checks | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
