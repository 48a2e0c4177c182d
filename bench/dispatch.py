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
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BENCH = ROOT / "bench"
DATA = BENCH / ".data"
RESULTS_DIR = BENCH / "results"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
PG_DATABASE = "bench_dispatch"
SQLITE_PATH = DATA / "dispatch.sqlite3"
STORES = ("sqlite", "postgis")
UID_PREFIX = "bench-dispatch-"


def log(message: str) -> None:
    print(f"[dispatch {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- machine and run facts

from machine import loadavg, machine  # noqa: E402  (bench/machine.py: the same facts for every bench)


def commit() -> str | None:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                         capture_output=True, check=False)
    return out.stdout.strip() or None


def versions() -> dict:
    from importlib.metadata import version

    found = {name: version(name) for name in
             ("firebase_admin", "requests", "urllib3", "SQLAlchemy", "psycopg")}
    with contextlib.suppress(OSError):
        found["postgres"] = subprocess.run(["psql", "--version"], text=True,
                                           capture_output=True, check=False).stdout.strip()
    return found


# ---------------------------------------------------------------- the fake FCM


def _count_connections(fake) -> list[int]:
    """Counts the TCP connections the fake's server accepts (a private attribute of it)."""
    counter = [0]
    server = fake._server
    accept = server.process_request

    def counting(request, client_address) -> None:
        counter[0] += 1
        accept(request, client_address)

    server.process_request = counting
    return counter


def _fake_stats(fake, connections: list[int]) -> dict:
    requests = fake.requests
    ok = [r for r in requests if r.reply.ok and not r.validate_only]
    return {
        "ok": len(ok),
        "not_ok": len(requests) - len(ok),
        "pairs": sorted((r.token, (r.message.get("data") or {}).get("notificationId"))
                        for r in ok),
        "connections": connections[0],
        "token_requests": fake.token_requests,
    }


def _fake_child(conn) -> None:
    """The fake FCM in a process of its own, driven through a pipe."""
    from tests.notify.fake_fcm import FakeFcm

    fake = FakeFcm().start()
    connections = _count_connections(fake)
    conn.send((fake.base_url, fake.service_account_info()))
    while True:
        command = conn.recv()
        if command == "reset":
            fake.reset()
            connections[0] = 0
            conn.send(True)
        elif command == "stats":
            conn.send(_fake_stats(fake, connections))
        else:
            fake.stop()
            conn.send(True)
            return


class ChildFake:
    where = "child process"

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_fake_child, args=(child_end,), daemon=True,
                                       name="fake-fcm")
        self.process.start()
        self.base_url, self.account = self.conn.recv()
        self.project_id = self.account["project_id"]

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def stats(self) -> dict:
        self.conn.send("stats")
        return self.conn.recv()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the fake's process has used so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.conn.send("stop")
            self.conn.recv()
        self.process.join(5)


class LocalFake:
    where = "this process (threads)"

    def __init__(self) -> None:
        from tests.notify.fake_fcm import FakeFcm

        self.fake = FakeFcm().start()
        self.connections = _count_connections(self.fake)
        self.base_url = self.fake.base_url
        self.account = self.fake.service_account_info()
        self.project_id = self.fake.project_id

    def reset(self) -> None:
        self.fake.reset()
        self.connections[0] = 0

    def stats(self) -> dict:
        return _fake_stats(self.fake, self.connections)

    def cpu_seconds(self) -> float | None:
        return None  # counted in this process's

    def stop(self) -> None:
        self.fake.stop()


class PoolDiscards(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings: a
    connection opened beyond the adapter's pool_maxsize is closed after one request."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


# ---------------------------------------------------------------- stores and data


def pg_admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                           autocommit=True)


def fresh_database(store: str) -> str:
    """A new empty database for the store; its URL."""
    DATA.mkdir(parents=True, exist_ok=True)
    if store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_PATH}"
    with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
        pass
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"


def token_of(n: int, d: int) -> str:
    """An FCM-registration-token-like string (~160 characters), deterministic."""
    digest = hashlib.sha256(f"{n}-{d}".encode()).hexdigest()
    return f"bd{n:07d}x{d}:APA91b{(digest * 3)[:142]}"


def seed(engine, count: int, per_user: int, round_tag: str) -> None:
    """`count` pending notifications, one resident each, with `per_user` devices each."""
    from sqlalchemy import insert

    from backend.notify import outbox
    from backend.notify.models import Device, Notification
    from backend.places.models import utcnow

    now = utcnow()
    due = now - dt.timedelta(seconds=1)
    day = (now + dt.timedelta(days=3)).strftime("%m月%d日")
    notifications, devices = [], []
    for n in range(count):
        uid = f"{UID_PREFIX}{n:07d}"
        notifications.append({
            "uid": uid, "kind": outbox.BOOKING_CONFIRMED,
            "dedupe_key": f"{UID_PREFIX}{round_tag}-{n}",
            "title": "预约成功",
            "body": (f"您已预约{day} {9 + n % 8:02d}:{(n * 2) % 60:02d} 在杭州市民之家办理"
                     "社会保障卡申领，请携带身份证按时到场。"),
            "data": {"kind": outbox.BOOKING_CONFIRMED, "appointmentId": str(100_000 + n)},
            "appointment_id": None, "is_urgent": False, "due_at": due,
            "next_attempt_at": due, "status": "pending", "attempts": 0, "created_at": now,
        })
        for d in range(per_user):
            devices.append({"token": token_of(n, d), "uid": uid,
                            "platform": "android" if (n + d) % 10 < 7 else "ios",
                            "locale": "zh-CN", "created_at": now, "last_seen_at": now})
    with engine.begin() as conn:
        conn.execute(insert(Device.__table__), devices)
        conn.execute(insert(Notification.__table__), notifications)
    analyze(engine)


def clear(engine) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for table in ("notification_delivery", "notification", "device"):
            conn.execute(text(f"DELETE FROM {table}"))
    analyze(engine, vacuum=True)


def analyze(engine, vacuum: bool = False) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.commit()
        else:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            tables = "notification, notification_delivery, device"
            conn.execute(text(f"{'VACUUM ' if vacuum else ''}ANALYZE {tables}"))
            if vacuum:
                conn.execute(text("CHECKPOINT"))


def expected_pairs(session_factory) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from backend.notify.models import Device, Notification

    with session_factory() as session:
        rows = session.execute(select(Device.token, Notification.id)
                               .join(Notification, Notification.uid == Device.uid)).all()
    return sorted((token, str(notification_id)) for token, notification_id in rows)


def push_messages(session_factory, provider) -> list:
    """The pushes of every notification as the dispatcher builds them (same rows, devices)."""
    from sqlalchemy import select

    from backend.notify.dispatcher import Dispatcher
    from backend.notify.models import Device, Notification

    with session_factory() as session:
        devices = defaultdict(list)
        for device in session.scalars(select(Device).order_by(Device.id)):
            devices[device.uid].append(device)
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        build = Dispatcher(session_factory, provider)._message
        return [build(row, device) for row in rows for device in devices[row.uid]]


def outbox_state(session_factory) -> dict:
    from sqlalchemy import func, select

    from backend.notify.models import Delivery, Notification

    with session_factory() as session:
        statuses = dict(session.execute(select(Notification.status, func.count())
                                        .group_by(Notification.status)).all())
        deliveries = dict(session.execute(select(Delivery.status, func.count())
                                          .group_by(Delivery.status)).all())
    return {"notifications": statuses, "deliveries": deliveries}


# ---------------------------------------------------------------- the two paths


def timed_dispatcher_class():
    from backend.notify.dispatcher import Dispatcher

    class TimedDispatcher(Dispatcher):
        """The dispatcher with the time of its steps added up (`_send` = provider.send)."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.phases: dict[str, float] = defaultdict(float)

        @contextlib.contextmanager
        def _phase(self, name: str):
            started = time.perf_counter()
            try:
                yield
            finally:
                self.phases[name] += time.perf_counter() - started

        def prune_devices(self) -> int:
            with self._phase("prune"):
                return super().prune_devices()

        def _claim(self, *args):
            with self._phase("claim"):
                return super()._claim(*args)

        def _load(self, *args):
            with self._phase("load"):
                return super()._load(*args)

        def _stale_reminders(self, *args):
            with self._phase("load"):
                return super()._stale_reminders(*args)

        def _superseded(self, *args):
            with self._phase("load"):
                return super()._superseded(*args)

        def _send(self, chunk):
            with self._phase("provider.send"):
                return super()._send(chunk)

        def _record(self, *args):
            with self._phase("record"):
                return super()._record(*args)

        def _finish(self, *args):
            with self._phase("finish"):
                return super()._finish(*args)

    return TimedDispatcher


class Failure(Exception):
    pass


class CpuMeter:
    """CPU seconds used by this process (all its threads) and by the fake's process."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.ours, self.fakes = time.process_time(), fake.cpu_seconds()

    def done(self, seconds: float) -> dict:
        ours = time.process_time() - self.ours
        fakes = self.fake.cpu_seconds()
        fake_s = None if fakes is None or self.fakes is None else fakes - self.fakes
        used = ours + (fake_s or 0.0)
        return {"cpu_s_here": round(ours, 3),
                "cpu_s_fake": None if fake_s is None else round(fake_s, 3),
                "cores_busy": round(used / seconds, 2)}


def run_dispatcher(session_factory, provider, batch_size: int, fake, discards: PoolDiscards,
                   count: int, per_user: int) -> dict:
    from backend.notify.dispatcher import DispatchPolicy

    expected = expected_pairs(session_factory)
    dispatcher = timed_dispatcher_class()(
        session_factory, provider, DispatchPolicy(batch_size=batch_size, quiet_hours=None))
    fake.reset()
    discards.count = 0
    cpu = CpuMeter(fake)
    started = time.perf_counter()
    report = dispatcher.run_once()
    seconds = time.perf_counter() - started
    cpu_used = cpu.done(seconds)
    pool_discards = discards.count
    stats = fake.stats()
    state = outbox_state(session_factory)
    pushes = count * per_user
    problems = []
    if state["notifications"] != {"sent": count}:
        problems.append(f"notification statuses {state['notifications']} (want sent: {count})")
    if state["deliveries"] != {"sent": pushes}:
        problems.append(f"deliveries {state['deliveries']} (want sent: {pushes})")
    if report.sent != count or report.pushes != pushes:
        problems.append(f"report: {report}")
    if stats["ok"] != pushes or stats["not_ok"]:
        problems.append(f"fake answered OK {stats['ok']} (want {pushes}), "
                        f"not OK {stats['not_ok']}")
    if stats["pairs"] != expected:
        problems.append("the fake's (token, notificationId) pairs differ from the outbox's")
    if problems:
        raise Failure("dispatcher: " + "; ".join(problems))
    phases = dict(dispatcher.phases)
    provider_s = phases.get("provider.send", 0.0)
    phases["other"] = seconds - sum(v for k, v in phases.items())
    return {
        "seconds": round(seconds, 4),
        "notifications_per_s": round(count / seconds, 1),
        "pushes_per_s": round(pushes / seconds, 1),
        "provider_send_s": round(provider_s, 4),
        "provider_share": round(provider_s / seconds, 4),
        "outside_provider_s": round(seconds - provider_s, 4),
        "phases_s": {k: round(v, 4) for k, v in phases.items()},
        "report": {k: getattr(report, k) for k in report.__dataclass_fields__},
        "fake_connections": stats["connections"],
        "pool_discards": pool_discards,
        **cpu_used,
    }


def run_bare(messages: list, app, batch_size: int, fake, discards: PoolDiscards) -> dict:
    from firebase_admin import messaging

    from backend.notify.providers.fcm import fcm_message

    fake.reset()
    discards.count = 0
    build_s = send_s = 0.0
    ok = 0
    cpu = CpuMeter(fake)
    started = time.perf_counter()
    for start in range(0, len(messages), batch_size):
        t0 = time.perf_counter()
        chunk = [fcm_message(message) for message in messages[start:start + batch_size]]
        t1 = time.perf_counter()
        batch = messaging.send_each(chunk, app=app)
        build_s += t1 - t0
        send_s += time.perf_counter() - t1
        ok += batch.success_count
    seconds = time.perf_counter() - started
    cpu_used = cpu.done(seconds)
    pool_discards = discards.count
    stats = fake.stats()
    expected = sorted((m.token, str(m.notification_id)) for m in messages)
    problems = []
    if ok != len(messages):
        problems.append(f"send_each succeeded for {ok} of {len(messages)}")
    if stats["ok"] != len(messages) or stats["not_ok"]:
        problems.append(f"fake answered OK {stats['ok']} (want {len(messages)}), "
                        f"not OK {stats['not_ok']}")
    if stats["pairs"] != expected:
        problems.append("the fake's (token, notificationId) pairs differ from the messages'")
    if problems:
        raise Failure("bare send_each: " + "; ".join(problems))
    return {
        "seconds": round(seconds, 4),
        "messages_per_s": round(len(messages) / seconds, 1),
        "build_s": round(build_s, 4),
        "send_each_s": round(send_s, 4),
        "fake_connections": stats["connections"],
        "pool_discards": pool_discards,
        **cpu_used,
    }


# ---------------------------------------------------------------- one store


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4)}


def measure_store(store: str, args, provider, fake, discards: PoolDiscards) -> dict:
    from backend.db import make_engine, make_session_factory, upgrade

    result = {"store": store, "count": args.count, "devices_per_user": args.devices_per_user,
              "batch_size": args.batch_size, "loadavg_before": loadavg()}
    url = fresh_database(store)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        upgrade(engine)
        log(f"{store}: fresh database migrated in {time.perf_counter() - started:.1f} s")
        session_factory = make_session_factory(engine)
        # Warm-up: one claim's worth through both paths (connections, statement caches, the
        # OAuth token of the app, the fake's and firebase-admin's threads).
        warm = min(args.batch_size, args.count)
        seed(engine, warm, args.devices_per_user, "warmup")
        run_dispatcher(session_factory, provider, args.batch_size, fake, discards, warm,
                       args.devices_per_user)
        run_bare(push_messages(session_factory, provider), provider.app, args.batch_size, fake,
                 discards)
        clear(engine)
        dispatcher_runs, bare_runs = [], []
        for attempt in range(args.repeat):
            started = time.perf_counter()
            seed(engine, args.count, args.devices_per_user, f"r{attempt}")
            seed_s = time.perf_counter() - started
            messages = push_messages(session_factory, provider)
            # Alternate which path goes first, so that a drift of the machine's load does not
            # always favour the same one.
            if attempt % 2:
                bare = run_bare(messages, provider.app, args.batch_size, fake, discards)
            run = run_dispatcher(session_factory, provider, args.batch_size, fake, discards,
                                 args.count, args.devices_per_user)
            if not attempt % 2:
                bare = run_bare(messages, provider.app, args.batch_size, fake, discards)
            run["seed_s"] = round(seed_s, 3)
            bare["first"] = bool(attempt % 2)
            run["ratio_to_bare"] = round(run["pushes_per_s"] / bare["messages_per_s"], 3)
            dispatcher_runs.append(run)
            bare_runs.append(bare)
            log(f"{store} #{attempt + 1}: dispatcher {run['notifications_per_s']:.0f} "
                f"notifications/s ({run['pushes_per_s']:.0f} pushes/s, provider.send "
                f"{run['provider_share'] * 100:.0f} %), bare send_each "
                f"{bare['messages_per_s']:.0f} messages/s; connections to the fake "
                f"{run['fake_connections']} / {bare['fake_connections']}, discarded by the "
                f"pool {run['pool_discards']} / {bare['pool_discards']}; cores busy "
                f"{run['cores_busy']} / {bare['cores_busy']}")
            clear(engine)
    finally:
        engine.dispose()
    result["dispatcher"] = {
        "runs": dispatcher_runs,
        "notifications_per_s": summary([r["notifications_per_s"] for r in dispatcher_runs]),
        "pushes_per_s": summary([r["pushes_per_s"] for r in dispatcher_runs]),
        "provider_share": summary([r["provider_share"] for r in dispatcher_runs]),
        "provider_send_s": summary([r["provider_send_s"] for r in dispatcher_runs]),
        "outside_provider_s": summary([r["outside_provider_s"] for r in dispatcher_runs]),
        "phases_s": {name: round(statistics.median(r["phases_s"].get(name, 0.0)
                                                   for r in dispatcher_runs), 4)
                     for name in dispatcher_runs[0]["phases_s"]},
    }
    result["bare"] = {
        "runs": bare_runs,
        "messages_per_s": summary([r["messages_per_s"] for r in bare_runs]),
        "seconds": summary([r["seconds"] for r in bare_runs]),
        "build_s": summary([r["build_s"] for r in bare_runs]),
        "send_each_s": summary([r["send_each_s"] for r in bare_runs]),
    }
    # Per run: dispatcher pushes/s over the bare loop's messages/s measured next to it.
    result["ratio"] = summary([r["ratio_to_bare"] for r in dispatcher_runs])
    result["ratio_of_medians"] = round(result["dispatcher"]["pushes_per_s"]["median"]
                                       / result["bare"]["messages_per_s"]["median"], 3)
    result["checks"] = ("ok: every run all notifications sent, all pushes recorded, the fake "
                        "answered OK to exactly the expected (token, notificationId) pairs")
    result["loadavg_after"] = loadavg()
    return result


# ---------------------------------------------------------------- report


def spread(s: dict, digits: int = 0) -> str:
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}–{s['max']:,.{digits}f})"


def cpu(runs: list[dict]) -> str:
    here = statistics.median(run["cpu_s_here"] for run in runs)
    if any(run["cpu_s_fake"] is None for run in runs):
        return f"{here:.1f}"
    return f"{here:.1f} + {statistics.median(run['cpu_s_fake'] for run in runs):.1f}"


def markdown(results: list[dict], meta: dict) -> str:
    m = meta["machine"]
    per_user = meta["devices_per_user"]
    lines = [
        f"Date: {meta['started']} · commit `{meta['commit']}` · fake FCM in "
        f"{meta['fake_fcm']}",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux "
        f"{m['kernel']}, Python {m['python']}; firebase-admin "
        f"{meta['versions'].get('firebase_admin')}",
        f"Command: `{meta['command']}`",
        "",
        f"Median of {meta['repeat']} runs (min–max); {per_user} device(s) per resident, batch "
        f"size {meta['batch_size']}; ratio = dispatcher pushes/s ÷ bare messages/s of the same "
        "run (the two paths run back to back, in alternating order).",
        "",
        "| store | N | dispatcher notifications/s | bare send_each messages/s | ratio | "
        "time in provider.send |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        d, b = r["dispatcher"], r["bare"]
        share = d["provider_share"]
        lines.append(
            f"| {r['store']} | {r['count']:,} | {spread(d['notifications_per_s'])} | "
            f"{spread(b['messages_per_s'])} | {spread(r['ratio'], 2)} | "
            f"{share['median'] * 100:.0f} % "
            f"({share['min'] * 100:.0f}–{share['max'] * 100:.0f} %) |")
    lines += ["", "Where the dispatcher's time goes (median seconds per run; bare loop beside "
                  "it):", "",
              "| store | dispatcher total | provider.send | claim | load | record | finish | "
              "prune + other | bare total | bare fcm_message | bare send_each | TCP connections "
              "opened (dispatcher / bare) | CPU s here + fake (dispatcher / bare) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        d, b, p = r["dispatcher"], r["bare"], r["dispatcher"]["phases_s"]
        total = statistics.median(run["seconds"] for run in d["runs"])
        rest = p.get("prune", 0.0) + p.get("other", 0.0)
        lines.append(
            f"| {r['store']} | {total:.2f} | {p.get('provider.send', 0):.2f} | "
            f"{p.get('claim', 0):.2f} | {p.get('load', 0):.2f} | {p.get('record', 0):.2f} | "
            f"{p.get('finish', 0):.2f} | {rest:.2f} | {b['seconds']['median']:.2f} | "
            f"{b['build_s']['median']:.2f} | {b['send_each_s']['median']:.2f} | "
            f"{statistics.median(run['fake_connections'] for run in d['runs']):,.0f} / "
            f"{statistics.median(run['fake_connections'] for run in b['runs']):,.0f} | "
            f"{cpu(d['runs'])} / {cpu(b['runs'])} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


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
                "command": command, "machine": machine(), "commit": commit(),
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
