#!/usr/bin/env python
"""The soak (issue 15): mixed traffic at ~70 % of the measured capacity for a long time, on
PostgreSQL, with the rate limits on (Redis), and PostgreSQL restarted in the middle.

    .venv/bin/python bench/soak.py [--seconds 600] [--load 0.7] [--places 10000] [--record]

1. the database `soak` (created, migrated, `seed bench --places N` once, then reused) and a
   booking window with 100 slots of ample capacity (booking_data.prepare_booking);
2. the API as production serves it (gunicorn wsgi:app, 2 workers x 4 threads, preloaded), with
   development sign-in (emulator tokens: every visit is a new resident), trusted documents
   only, rate limits on in Redis (a key prefix of its own) behind the trusted proxy 127.0.0.1;
3. capacity: `--visitors` residents visiting back to back for `--capacity-seconds`;
4. the soak: visits arriving at `--load` x that rate (soak_traffic.py) for `--seconds`; RSS of
   master + workers sampled every 10 s; at half time `pg_ctlcluster 15 main restart`;
5. figures: latency per operation, outcomes, server errors outside and during the restart,
   whether the failures were clean (a JSON GraphQL body with a code, no hang), the time until
   requests succeed again, RSS growth, worker restarts. Exit 1 when a check fails.

With --record: bench/results/<date>-soak.json (the markdown table is printed either way)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
from collections import Counter

from booking_data import booking_cleanup, booking_server_env, prepare_booking
from clients import stats_ms
from databases import PG_HOST, PG_PORT, PG_USER, flask, migrate, pg_admin, pg_reachable
from machine import commit, loadavg, machine
from paths import RESULTS_DIR
from servers import api_server
from shell import logger
from soak_traffic import Sample, Traffic
from workload import centres

SOAK_DB = "soak"
SOAK_PORT = 18150
RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
RECOVERY_GRACE_S = 30.0  # failures later than this after PostgreSQL is back are not the restart's
SLOT_CAPACITY = 1_000_000  # visits cancel what they book; no slot ever fills
log = logger("soak")


def soak_url() -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{SOAK_DB}"


def prepare_database(places: int) -> dict:
    """The soak's own database (never the `bench_*` ones), seeded once."""
    url = soak_url()
    with pg_admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (SOAK_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{SOAK_DB}"')
    migrate(url)
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=SOAK_DB) as db:
        have = db.execute("SELECT count(*) FROM place WHERE source = 'bench'").fetchone()[0]
    if have != places:
        log(f"seeding {places} places")
        flask(["seed", "bench", "--places", str(places), "--replace"], url)
    return {"url": url, "places": places, "seeded_now": have != places}


def server_env(url: str) -> dict:
    env = booking_server_env(url)
    env.update({"RATE_LIMITS_ENABLED": "1", "TRUSTED_DOCUMENTS_ONLY": "1",
                "RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                "RATE_LIMIT_KEY_PREFIX": f"soak-{int(time.time())}",
                "RATE_LIMIT_TRUSTED_PROXIES": "127.0.0.1"})
    return env


def restart_postgres(events: dict) -> callable:
    async def restart() -> None:
        log("restarting PostgreSQL")
        events["restart_started"] = time.perf_counter()
        done = await asyncio.to_thread(subprocess.run, RESTART, capture_output=True, text=True)
        events["restart_ended"] = time.perf_counter()
        events["restart_returncode"] = done.returncode
        events["restart_output"] = (done.stdout + done.stderr).strip()[-500:]
        log(f"PostgreSQL restarted in {events['restart_ended'] - events['restart_started']:.1f} s"
            f" (exit {done.returncode})")

    return restart


def sample_rss(server, series: list, clock: float, seconds: float) -> callable:
    async def sampler() -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            rss = await asyncio.to_thread(server.rss_mb)
            series.append({"t": round(time.perf_counter() - clock, 1), **rss})
            await asyncio.sleep(10)

    return sampler


def restart_figures(samples: list[Sample], started: float, ended: float) -> dict:
    """What the restart did to the requests: [started, ended] on the traffic's clock."""
    window = [s for s in samples
              if started - 1 <= s.at + s.seconds and s.at <= ended + RECOVERY_GRACE_S]
    failed = [s for s in window if s.outcome == "failed"]
    first_ok = min((s for s in samples if s.at >= ended and s.outcome == "ok"),
                   key=lambda s: s.at, default=None)
    last_failure_end = max((s.at + s.seconds for s in failed), default=None)
    return {
        "postgres_restart_s": round(ended - started, 2),
        "requests_in_window": len(window),
        "failed": len(failed),
        "failed_clean": sum(s.clean for s in failed),
        "failed_codes": dict(Counter(s.code for s in failed)),
        "failed_max_latency_ms": round(max((s.seconds for s in failed), default=0) * 1000, 1),
        "first_failure_after_restart_start_s": round(min(s.at for s in failed) - started, 2)
        if failed else None,
        "last_failure_after_postgres_back_s": round(last_failure_end - ended, 2)
        if failed else None,
        "failing_for_s": round(last_failure_end - min(s.at for s in failed), 2)
        if failed else 0.0,
        "first_success_after_postgres_back_s": round(first_ok.at + first_ok.seconds - ended, 2)
        if first_ok else None,
    }


def figures(traffic: Traffic, events: dict, rss: list, soak_started: float) -> dict:
    clock = traffic.clock
    started = events["restart_started"] - clock
    ended = events["restart_ended"] - clock
    soak = [s for s in traffic.samples if s.at >= soak_started]
    outside = [s for s in soak if not (started - 1 <= s.at + s.seconds
                                       and s.at <= ended + RECOVERY_GRACE_S)]
    ok = [s.seconds for s in soak if s.outcome in ("ok", "refused")]
    steady = [s.seconds for s in outside if s.outcome in ("ok", "refused")]
    per_op = {op: stats_ms([s.seconds for s in soak if s.op == op
                            and s.outcome in ("ok", "refused")])
              for op in ("search", "guide", "book", "inbox", "cancel")}
    return {
        "requests": len(soak), "visits": traffic.visits, "visits_dropped": traffic.dropped,
        "outcomes": dict(Counter(s.outcome for s in soak)),
        "refused_codes": dict(Counter(s.code for s in soak if s.outcome == "refused")),
        "rate_limited": sum(s.outcome == "rate_limited" for s in soak),
        "server_errors": sum(s.server_error for s in soak),
        "server_errors_outside_restart": sum(s.server_error for s in outside),
        "failed_outside_restart": sum(s.outcome == "failed" for s in outside),
        "failed_outside_restart_codes": dict(Counter(s.code for s in outside
                                                     if s.outcome == "failed")),
        "latency": stats_ms(ok), "latency_outside_restart": stats_ms(steady),
        "latency_per_op": per_op,
        "restart": restart_figures(soak, started, ended),
        "rss_start": rss[0] if rss else None, "rss_end": rss[-1] if rss else None,
        "rss_growth_mb": round(rss[-1]["total_mb"] - rss[0]["total_mb"], 1) if rss else None,
        "pss_growth_mb": round(rss[-1]["pss_total_mb"] - rss[0]["pss_total_mb"], 1)
        if rss else None,
        "rss_series": rss,
    }


async def drive(traffic: Traffic, server, args: argparse.Namespace) -> dict:
    log("warming up")
    await traffic.closed_loop(4, 5, first_visit=0)
    log(f"capacity: {args.visitors} visitors back to back for {args.capacity_seconds} s")
    capacity = await traffic.closed_loop(args.visitors, args.capacity_seconds,
                                         first_visit=100_000)
    rate = capacity["visits_per_s"] * args.load
    log(f"capacity {capacity['req_per_s']} req/s ({capacity['visits_per_s']} visits/s); "
        f"soak at {rate:.2f} visits/s for {args.seconds} s")
    await asyncio.to_thread(server.wait_idle)
    events: dict = {"workers_before": server.pids()}
    rss: list = []
    soak_started = time.perf_counter() - traffic.clock
    await traffic.open_loop(rate, args.seconds, first_visit=1_000_000, at_times=[
        (0, sample_rss(server, rss, traffic.clock, args.seconds)),
        (args.seconds * args.restart_at, restart_postgres(events))])
    events["workers_after"] = server.pids()
    rss.append({"t": round(time.perf_counter() - traffic.clock, 1), **server.rss_mb()})
    result = figures(traffic, events, rss, soak_started)
    result.update(capacity=capacity, target_visits_per_s=round(rate, 2),
                  achieved_req_per_s=round(result["requests"] / args.seconds, 1),
                  same_server_processes=events["workers_before"] == events["workers_after"],
                  restart_returncode=events["restart_returncode"],
                  restart_output=events["restart_output"])
    return result


def checks(result: dict) -> list[str]:
    restart = result["restart"]
    failures = []
    if result["server_errors_outside_restart"]:
        failures.append(f"{result['server_errors_outside_restart']} server errors outside the "
                        "restart")
    if result["failed_outside_restart"]:
        failures.append(f"{result['failed_outside_restart']} failed requests outside the "
                        f"restart: {result['failed_outside_restart_codes']}")
    if restart["failed"] != restart["failed_clean"]:
        failures.append(f"unclean failures during the restart: {restart['failed_codes']}")
    if restart["first_success_after_postgres_back_s"] is None:
        failures.append("no request succeeded after the restart")
    if not result["same_server_processes"]:
        failures.append("the server's processes changed (a worker died)")
    if result["restart_returncode"]:
        failures.append(f"pg_ctlcluster failed: {result['restart_output']}")
    return failures


def markdown(result: dict) -> str:
    lat, steady, restart = result["latency"], result["latency_outside_restart"], result["restart"]
    rows = [
        ("capacity (closed loop, "
         f"{result['capacity']['visitors']} visitors)",
         f"{result['capacity']['req_per_s']} req/s, {result['capacity']['visits_per_s']} "
         "visits/s"),
        ("soak load", f"{result['target_visits_per_s']} visits/s = "
                      f"{result['achieved_req_per_s']} req/s for {result['seconds']} s "
                      f"({result['requests']} requests, {result['visits']} visits, "
                      f"{result['visits_dropped']} dropped)"),
        ("latency p50 / p95 / p99 / max (all)",
         f"{lat['p50_ms']} / {lat['p95_ms']} / {lat['p99_ms']} / {lat['max_ms']} ms"),
        ("latency p50 / p99 outside the restart", f"{steady['p50_ms']} / {steady['p99_ms']} ms"),
        *((f"{op} p50 / p99", f"{s.get('p50_ms')} / {s.get('p99_ms')} ms (n = {s['n']})")
          for op, s in result["latency_per_op"].items()),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in result["outcomes"].items())),
        ("refused in a payload", json.dumps(result["refused_codes"], ensure_ascii=False)),
        ("429 (rate limited)", str(result["rate_limited"])),
        ("server errors outside the restart (5xx, INTERNAL_SERVER_ERROR)",
         str(result["server_errors_outside_restart"])),
        ("failed requests outside the restart", str(result["failed_outside_restart"])),
        ("PostgreSQL restart", f"{restart['postgres_restart_s']} s, at "
                               f"{result['restart_at_s']} s"),
        ("failed during the restart (clean)",
         f"{restart['failed']} ({restart['failed_clean']} clean): "
         + json.dumps(restart["failed_codes"], ensure_ascii=False)),
        ("slowest failed request", f"{restart['failed_max_latency_ms']} ms"),
        ("requests failing for (first failure → end of the last)",
         f"{restart['failing_for_s']} s"),
        ("last failure, relative to pg_ctlcluster's return",
         f"{restart['last_failure_after_postgres_back_s']} s"),
        ("first success after pg_ctlcluster's return",
         f"{restart['first_success_after_postgres_back_s']} s"),
        ("server restarted", "no" if result["same_server_processes"] else "yes"),
        ("RSS master + workers start → end",
         f"{result['rss_start']['total_mb']} → {result['rss_end']['total_mb']} MB "
         f"({result['rss_growth_mb']:+} MB); PSS {result['rss_start']['pss_total_mb']} → "
         f"{result['rss_end']['pss_total_mb']} MB ({result['pss_growth_mb']:+} MB)"),
    ]
    return "| figure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="soak length (600)")
    parser.add_argument("--load", type=float, default=0.7, help="share of capacity (0.7)")
    parser.add_argument("--places", type=int, default=10_000, help="bench places (10000)")
    parser.add_argument("--visitors", type=int, default=16,
                        help="concurrent visitors of the capacity run (16)")
    parser.add_argument("--capacity-seconds", type=float, default=30.0)
    parser.add_argument("--restart-at", type=float, default=0.5,
                        help="when PostgreSQL restarts, as a share of --seconds (0.5)")
    parser.add_argument("--record", action="store_true",
                        help="write bench/results/<date>-soak.json")
    args = parser.parse_args(argv)
    if not pg_reachable():
        log("PostgreSQL is not running on 127.0.0.1:5432 (see .ci/run)")
        return 1
    command = " ".join([".venv/bin/python", "bench/soak.py", *(argv or sys.argv[1:])])
    when = dt.datetime.now(dt.UTC)
    facts = {"command": command, "started_utc": when.isoformat(timespec="seconds"),
             "machine": machine(), "loadavg_before": loadavg(), "commit": commit()}
    database = prepare_database(args.places)
    setup = prepare_booking(database["url"], SLOT_CAPACITY, 10)
    server = api_server("soak", server_env(database["url"]), SOAK_PORT)
    try:
        traffic = Traffic(SOAK_PORT, setup, centres())
        server.wait_first_answer("/graphql", traffic.body("SearchServiceItems", {"first": 1}))
        result = asyncio.run(drive(traffic, server, args))
    finally:
        server.stop()
        deleted = booking_cleanup(database["url"])
    result.update(seconds=args.seconds, load=args.load,
                  restart_at_s=round(args.seconds * args.restart_at), database=database,
                  booking_setup=setup, cleanup=deleted, loadavg_after=loadavg(), **facts)
    failures = checks(result)
    result["failures"] = failures
    table = markdown(result)
    print(table)
    if args.record:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{when.date().isoformat()}-soak.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        log(f"wrote {path}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
