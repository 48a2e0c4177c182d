"""The raw rate of the booking writes on the same database, beside the API's: the booking
transaction and the conditional UPDATE alone, by pgbench -c64 (PostgreSQL) or one sqlite3
process per core (SQLite)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import time

from booking_data import BOOKING_CLIENTS, BOOKING_SEED, BOOKING_UID
from databases import sqlite_path
from paths import DATA, ROOT
from plans import Plan
from raw import pgbench

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
    out = pgbench(scale, path, clients, threads, max(1, round(seconds)), timeout=seconds + 120)
    if "error" in out:
        return out
    return {"tool": f"pgbench -M prepared -c {clients} -j {threads} -T {round(seconds)}",
            "script": str(path.relative_to(ROOT)), "tx_per_s": out["tps"],
            "transactions": out["transactions"], "latency_mean_ms": out["latency_mean_ms"],
            "failed": out["failed"], "stderr": out["stderr"]}


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
    path = str(sqlite_path(scale))
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
