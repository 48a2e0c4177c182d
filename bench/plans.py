"""The plans of `bench/run.py --plan`: which scales and stores, and how long each series runs."""

from __future__ import annotations

from dataclasses import dataclass

from workload import N_CENTRES


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
    booking_capacity: int = 5  # places per slot: 100 slots x 5 = 500 bookings to make
    booking_seconds: float = 60.0  # cap on the API booking run (it ends when all are taken)
    booking_raw_seconds: float = 10.0  # each pgbench / sqlite3 raw booking run


PLANS = {
    "full": Plan("full", (10_000, 100_000, 1_000_000), ("sqlite", "postgis"), 1000, 12.0, 300, 6.0),
    "quick": Plan("quick", (10_000,), ("sqlite", "postgis"), 200, 2.0, 40, 1.0,
                  warmup=60, checked_centres=40, booking_seconds=30.0,
                  booking_raw_seconds=2.0),
}
