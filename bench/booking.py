"""Booking under contention (the rush of issue 18): bookAppointment by BOOKING_CLIENTS clients
for BOOKING_RESIDENTS residents over BOOKING_SLOTS slots through the API until every place is
taken, the database checked afterwards, then the raw rate of the same writes on the same
database."""

from __future__ import annotations

from booking_data import (
    BOOKING_CLIENTS,
    BOOKING_RAW_CAPACITY,
    BOOKING_RESIDENTS,
    BOOKING_SLOTS,
    BOOKING_UID,
    booking_checks,
    booking_cleanup,
    booking_server_env,
    prepare_booking,
    reset_booking_slots,
)
from booking_raw import raw_booking_pgbench, raw_booking_sqlite
from booking_rush import book_clients
from databases import database_url
from plans import Plan
from servers import API_PORT, GUNICORN_ARGS, api_server
from shell import log


def measure_booking(store: str, scale: int, plan: Plan, features: dict) -> dict:
    """Booking under contention: BOOKING_CLIENTS clients for BOOKING_RESIDENTS residents (one
    place each) over BOOKING_SLOTS slots through the API until every place is taken, the
    database checked afterwards, then the raw rate of the same writes on the same database
    (pgbench / sqlite3 processes)."""
    if "bookAppointment" not in features["booking"]:
        return {"status": "not available: Mutation has no bookAppointment"}
    url = database_url(store, scale)
    log(f"{store} {scale}: booking")
    warm_requests = BOOKING_CLIENTS
    setup = prepare_booking(url, plan.booking_capacity, warm_requests)
    lo, hi = setup["slot_ids"]
    slots = list(range(lo, hi + 1))
    residents = min(BOOKING_RESIDENTS, BOOKING_SLOTS * plan.booking_capacity)
    out: dict = {"query": f"bookAppointment ({BOOKING_CLIENTS} clients, {residents} residents, "
                          f"{BOOKING_SLOTS} slots x {plan.booking_capacity})",
                 "setup": setup}
    server = api_server(f"booking-{store}-{scale}", booking_server_env(url))
    try:
        out["server"] = ("gunicorn wsgi:app " + " ".join(GUNICORN_ARGS)
                         + ", APP_ENV=development, emulator tokens")
        out["cold_start_s"] = round(server.wait_first_answer(
            "/graphql", b'{"query": "{ __typename }"}'), 3)
        # Both workers, their token verifier and their connection pools warm: bookings in a
        # slot of their own (not one of the measured ones), by other residents.
        warm = book_clients(API_PORT, [setup["warmup_slot_id"]], warm_requests,
                            setup["service_item_id"], f"{BOOKING_UID}warm-", BOOKING_CLIENTS,
                            30.0, residents=warm_requests)
        out["warmup"] = {k: warm[k] for k in ("requests", "booked", "other_errors", "seconds")}
        result = book_clients(API_PORT, slots, plan.booking_capacity,
                              setup["service_item_id"], f"{BOOKING_UID}api-", BOOKING_CLIENTS,
                              plan.booking_seconds, residents=residents)
        out["rss"] = server.rss_mb()
    finally:
        server.stop()
    out["checks"] = booking_checks(url, setup, result, f"{BOOKING_UID}api-")
    result.pop("appointment_ids")
    out["load"] = result
    log(f"{store} {scale}: booking {result['booked']} places in {result['fill_seconds']} s "
        f"({result['bookings_per_s']}/s, p99 {result.get('p99_ms')} ms, {result['req_per_s']} "
        f"req/s, {result['slot_full']} "
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
