#!/usr/bin/env python
"""Push dispatch benchmark: notifications per second through the fake FCM, against a bare
`messaging.send_each` loop on the same server.

For each store (sqlite, postgis) it makes a fresh database (SQLite file bench/.data/
dispatch.sqlite3; PostgreSQL database `bench_dispatch`, dropped and recreated), migrates it,
then `--repeat` times:

  dispatcher  N pending notifications (one resident each, `--devices-per-user` devices per
              resident, due now, not urgent, no appointment) and their devices are bulk
              inserted; `Dispatcher(..., FcmProvider, DispatchPolicy(batch_size, quiet_hours=
              None)).run_once()` is timed end to end; afterwards every notification must be
              `sent`, every push recorded, and the fake must have answered OK to exactly the
              expected (token, notificationId) pairs, else the bench fails (exit 1)
  bare        the same pushes, as `PushMessage`s built by the dispatcher's own `_message` from
              the same rows, sent by a bare loop of `messaging.send_each(chunk, app=provider.app)`
              (chunks of `--batch-size`, `fcm_message` built inside the timed loop as
              `FcmProvider.send` does): the same firebase app, HTTP session, adapter and server

The fake FCM (tests/notify/fake_fcm.py) runs once for the whole bench, by default in a child
process of its own (so its threaded HTTP server does not share this process's GIL with the code
measured; real FCM is another machine); `--fake-in-process` runs it on threads of this process.

Results: bench/results/<date>-dispatch.json (with --record; <date>-dispatch-fake-in-process.json
with --fake-in-process) and markdown tables on stdout.
Run with the project venv: .venv/bin/python bench/dispatch.py [--record]

The parts: dispatch_fake.py (the fake FCM), dispatch_outbox.py (databases and rows),
dispatch_runs.py (the two paths, timed and checked), dispatch_measure.py (one store) and
dispatch_report.py (the tables).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import subprocess
import sys
import time

from dispatch_fake import ChildFake, LocalFake
from dispatch_measure import log, measure_store
from dispatch_report import markdown
from dispatch_runs import Failure, PoolDiscards
from machine import machine, short_commit
from paths import DATA, RESULTS_DIR, ROOT

STORES = ("sqlite", "postgis")


def versions() -> dict:
    from importlib.metadata import version

    found = {name: version(name) for name in
             ("firebase_admin", "requests", "urllib3", "SQLAlchemy", "psycopg")}
    with contextlib.suppress(OSError):
        found["postgres"] = subprocess.run(["psql", "--version"], text=True,
                                           capture_output=True, check=False).stdout.strip()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="notifications per run")
    parser.add_argument("--devices-per-user", type=int, default=1)
    parser.add_argument("--stores", default=",".join(STORES),
                        help="comma-separated: sqlite,postgis (default: both)")
    parser.add_argument("--batch-size", type=int, default=500, help="claim and send_each size")
    parser.add_argument("--repeat", type=int, default=3, help="runs per store (median reported)")
    parser.add_argument("--fake-in-process", action="store_true",
                        help="run the fake FCM on threads of this process, not a child process")
    parser.add_argument("--record", action="store_true",
                        help="write bench/results/<date>-dispatch.json")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if unknown := set(stores) - set(STORES):
        parser.error(f"unknown store(s): {', '.join(sorted(unknown))}")
    if not 1 <= args.batch_size <= 500:
        parser.error("--batch-size must be between 1 and 500 (send_each takes at most 500)")
    if args.count < 1 or args.devices_per_user < 1 or args.repeat < 1:
        parser.error("--count, --devices-per-user and --repeat must be positive")
    command = " ".join([".venv/bin/python", "bench/dispatch.py",
                        *(sys.argv[1:] if argv is None else argv)])
    began = time.perf_counter()

    fake = LocalFake() if args.fake_in_process else ChildFake()
    try:
        from backend.config import Settings
        from backend.notify.providers.fcm import FcmProvider

        account_dir = DATA / "dispatch"
        account_dir.mkdir(parents=True, exist_ok=True)
        account = account_dir / "service-account.json"
        account.write_text(json.dumps(fake.account, indent=2))
        settings = Settings(database_url="sqlite://", push_provider="fcm",
                            firebase_project_id=fake.project_id,
                            google_application_credentials=str(account),
                            fcm_endpoint=fake.base_url, notify_quiet_hours="")
        provider = FcmProvider.from_settings(settings)
        discards = PoolDiscards()
        logging.getLogger("urllib3.connectionpool").addHandler(discards)
        log(f"fake FCM at {fake.base_url} in {fake.where}; {args.count} notifications × "
            f"{args.devices_per_user} device(s), batch {args.batch_size}, {args.repeat} runs")
        meta = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "command": command, "machine": machine(), "commit": short_commit(),
                "versions": versions(), "fake_fcm": fake.where, "repeat": args.repeat,
                "batch_size": args.batch_size, "devices_per_user": args.devices_per_user,
                "count": args.count, "skipped": {}}
        results = []
        for store in stores:
            try:
                results.append(measure_store(store, args, provider, fake, discards))
            except OSError as error:
                if store != "postgis":
                    raise
                log(f"skipping postgis: {error}")
                meta["skipped"]["postgis"] = str(error)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        fake.stop()
    meta["seconds"] = round(time.perf_counter() - began, 1)
    text = markdown(results, meta)
    if args.record:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        suffix = "-fake-in-process" if args.fake_in_process else ""
        path = RESULTS_DIR / f"{dt.date.today().isoformat()}-dispatch{suffix}.json"
        path.write_text(json.dumps({"meta": meta, "results": results}, ensure_ascii=False,
                                   indent=1) + "\n")
        log(f"results -> {path.relative_to(ROOT)}")
    print(text)
    log(f"done in {meta['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
