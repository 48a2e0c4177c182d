"""The markdown tables of the dispatch bench (printed; the JSON is written with --record)."""

from __future__ import annotations

import statistics


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
