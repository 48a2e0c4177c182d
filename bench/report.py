"""The markdown tables of a run (bench/results/<date>[-quick].md), written into RESULTS.md
between its markers with --record, or rebuilt from the JSON files of a date."""

from __future__ import annotations

import json
from pathlib import Path

from booking_data import BOOKING_CLIENTS, BOOKING_RESIDENTS, BOOKING_SLOTS
from paths import RESULTS_DIR, RESULTS_MD
from plans import Plan
from shell import log
from workload import FIRST, KINDS, N_CENTRES, RADIUS_M, TEXT

# Result keys of the peer rows (bench/peer.py) and their names in the tables.
PEERS = (("peer", "PostGraphile"), ("peer_knn", "PostGraphile (KNN)"))

# The rows of the FindPlaces / PlaceDetail table: per query, our API's result key, then the
# others' (result key, name); the first raw row is the oracle the others' answers are checked
# against.
QUERY_ROWS = (
    ("FindPlaces (text + geo)", "text_geo", (
        ("raw_text", "raw SQL (the store's circles)"),
        ("raw_text_all", "raw SQL (every match ranked)"),
        ("peer_text", "PostGraphile"),
        ("peer_text_knn", "PostGraphile (KNN)"))),
    ("PlaceDetail", "detail", (
        ("raw_detail", "raw SQL"),
        ("peer_detail", "PostGraphile"))),
)

MARK_BEGIN, MARK_END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


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
        for key, name in PEERS:
            if "single" in r.get(key, {}):
                rows.append((name, r[key]))
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
              "PostGraphile p50 | API req/s / PostGraphile req/s | API p50 / PostGraphile "
              "(KNN) p50 | API req/s / PostGraphile (KNN) req/s | results = raw SQL (API, "
              "PostGraphile, PostGraphile (KNN)) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        api, raw = r.get("api", {}), r.get("raw", {})
        peer, knn = r.get("peer", {}), r.get("peer_knn", {})

        checks = f"{api.get('correctness', {}).get('mismatches', '–')} mismatches"
        for side in (peer, knn):
            if "correctness" in side:
                checks += f", {side['correctness']['mismatches']} mismatches"
        lines.append(
            f"| {scale_label(r['scale'])} | {r['store']} | "
            f"{ratio(api, raw, 'single', 'p50_ms')} | {ratio(api, raw, 'load', 'req_per_s')} | "
            f"{ratio(api, peer, 'single', 'p50_ms')} | {ratio(api, peer, 'load', 'req_per_s')} | "
            f"{ratio(api, knn, 'single', 'p50_ms')} | {ratio(api, knn, 'load', 'req_per_s')} | "
            f"{checks} |"
        )
    lines += queries_markdown(results)
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


def ratio(a: dict, b: dict, part: str, key: str) -> str:
    """a's figure over b's (`part` "single" or "load"), or '–' when either is missing."""
    x, y = a.get(part, {}).get(key), b.get(part, {}).get(key)
    return f"{x / y:.2f}×" if x and y else "–"


def checked(m: dict) -> str:
    """`n mismatches / m` of a side's answers against the raw SQL's, or '–'."""
    c = m.get("correctness")
    if not c:
        return "–"
    return f"{c['mismatches']} mismatches / {c.get('centres', c.get('ids'))}"


def queries_markdown(results: list[dict]) -> list[str]:
    """FindPlaces and PlaceDetail: our API, the raw SQL of the store and PostGraphile, with
    the API's ratios to each (results of runs before these were measured have no rows)."""
    rows = []
    for r in results:
        for query, api_key, others in QUERY_ROWS:
            api = r.get(api_key, {})
            if "single" not in api or not any("single" in r.get(k, {}) for k, _ in others):
                continue
            sides = [("our API", api)] + [(name, r[key]) for key, name in others
                                          if "single" in r.get(key, {})]
            for i, (what, m) in enumerate(sides):
                single, load = m.get("single", {}), m.get("load", {})
                p50, rps = ("–", "–") if i == 0 else (
                    ratio(api, m, "single", "p50_ms"), ratio(api, m, "load", "req_per_s"))
                # The first raw row is the oracle: the others are checked against it.
                check = "oracle" if i == 1 and others[0][0] in r else checked(m)
                rows.append(
                    f"| {scale_label(r['scale'])} | {r['store']} | {query} | {what} | "
                    f"{fmt(single.get('p50_ms'), 2)} | {fmt(single.get('p95_ms'), 2)} | "
                    f"{fmt(single.get('p99_ms'), 2)} | {fmt(load.get('req_per_s'), 0)} | "
                    f"{fmt(load.get('p99_ms'), 2)} | {p50} | {rps} | {check} |")
    if not rows:
        return []
    return ["", f'FindPlaces (`places(near, text: "{TEXT}", first: {FIRST})`, no radius) and '
                "PlaceDetail (the nearest place of each centre) beside the raw SQL of the same "
                "store and PostGraphile; single = one keep-alive client (ms), load = wrk -t2 -c8 "
                "or pgbench -c8 -j2 / one process per core (raw); ratios = our API's p50 / "
                "the row's p50 and our req/s / the row's req/s; results = page ids and "
                "distances (FindPlaces) or id, region chain and item ids (PlaceDetail) against "
                "the first raw SQL row's:",
            "", "| scale | store | query | what | p50 | p95 | p99 | load req/s | load p99 | "
                "API p50 / p50 | API req/s / req/s | results = raw SQL |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows]


def booking_markdown(results: list[dict]) -> list[str]:
    rows = [r for r in results if r.get("booking", {}).get("load")]
    if not rows:
        return []
    lines = ["", f"Booking under contention (the rush): {BOOKING_CLIENTS} keep-alive clients "
                 f"for {BOOKING_RESIDENTS} residents (one place each; a new idempotency key per "
                 f"request) over {BOOKING_SLOTS} slots of one window until every place is taken; "
                 "p99 of every request under the clients; raw = the same writes (account lock, "
                 "conditional UPDATE, appointment, 3 notifications) in one transaction by "
                 "pgbench -c64 -j2 -M prepared (PostgreSQL) or one sqlite3 process per core "
                 "(SQLite), and the "
                 "conditional UPDATE alone; correctness read from the database afterwards.",
             "", "| scale | store | booked / places | bookings/s | p99 ms | req/s | SLOT_FULL "
                 "| other errors | raw booking tx/s | API / raw | raw UPDATE alone /s "
                 "| correctness |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r["booking"]
        load, raw, checks = b["load"], b.get("raw", {}), b.get("checks", {})
        tx, update = raw.get("transaction", {}), raw.get("update_only", {})
        if checks.get("ok"):
            verdict = (f"ok: 0 over capacity, booked = active appointments in all "
                       f"{checks['slots_checked']} slots, {checks['appointments']} rows = "
                       f"{checks['successful_answers']} answers, 0 duplicate keys, "
                       f"{checks['notifications']} outbox rows = 3 per booking")
        else:
            verdict = "FAILED: " + ", ".join(f"{k} {v}" for k, v in checks.items()
                                             if k != "ok")
        ratio = b.get("api_over_raw")
        lines.append(
            f"| {scale_label(r['scale'])} | {r['store']} | {load['booked']} / {load['places']} "
            f"| {fmt(load.get('bookings_per_s'), 0)} | {fmt(load.get('p99_ms'), 0)} "
            f"| {fmt(load.get('req_per_s'), 0)} | "
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


def results_path(date: str, plan: Plan, scale: int, store: str) -> Path:
    """The JSON file of one scale x store: <date>-<scale>-<store>.json, <date>-quick-… for the
    quick plan."""
    tag = "" if plan.name == "full" else f"{plan.name}-"
    return RESULTS_DIR / f"{date}-{tag}{scale}-{store}.json"


def profile_path(date: str, scale: int, store: str) -> Path:
    return RESULTS_DIR / f"{date}-profile-{scale}-{store}.json"


def publish(text: str, date: str, plan: Plan, record_it: bool) -> None:
    """The tables into <date>[-quick].md, RESULTS.md with --record, and on stdout."""
    suffix = "" if plan.name == "full" else f"-{plan.name}"
    (RESULTS_DIR / f"{date}{suffix}.md").write_text(text)
    if record_it:
        record(text)
    print(text)


def report_only(date: str, plan: Plan, record_it: bool) -> int:
    """Rebuild the tables from the JSON files of a date (all scales and stores of the plan)."""
    results, profiles = [], []
    for scale in plan.scales:
        for store in plan.stores:
            path = results_path(date, plan, scale, store)
            result = json.loads(path.read_text()) if path.exists() else None
            path = profile_path(date, scale, store)
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
    publish(markdown(results, meta, profiles), date, plan, record_it)
    return 0
