"""One store of the dispatch bench: a fresh migrated database, a warm-up, then `--repeat`
runs of both paths (in alternating order), summed up as medians and min–max."""

from __future__ import annotations

import statistics
import time

from dispatch_outbox import clear, fresh_database, push_messages, seed
from dispatch_runs import PoolDiscards, run_bare, run_dispatcher
from machine import loadavg
from shell import logger

log = logger("dispatch")


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
