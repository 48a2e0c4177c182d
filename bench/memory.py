"""Server memory with and without preloading: summed RSS and PSS of gunicorn's master and two
workers after the same load, on the bench's 10k SQLite database.

Run `make bench-quick` first (it seeds bench/.data/bench_10000.sqlite3, writes the request
bodies and installs wrk), then: .venv/bin/python bench/memory.py

RSS counts a page shared by the forked workers once per process; PSS (proportional set size)
divides it among them, so the sum of PSS is the physical memory the server holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
DATABASE = DATA / "bench_10000.sqlite3"
PORT = 8131
LOADS = ("api-sqlite", "text", "clusters_z8", "clusters_z12")
VARIANTS = {
    "2 workers × 4 threads, no preload": ["-c", "/dev/null", "--workers", "2", "--threads", "4"],
    "preloaded (--preload)": ["-c", "/dev/null", "--workers", "2", "--threads", "4",
                              "--preload"],
    "gunicorn.conf.py (preloaded, gc.freeze)": [],
}


def memory(pids: list[int]) -> tuple[float, float]:
    rss = pss = 0
    for pid in pids:
        rss += int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])
        pss += int(re.search(r"^Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text(),
                             re.MULTILINE)[1])
    return rss / 1024, pss / 1024


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in out.stdout.split()]


def measure(args: list[str]) -> tuple[float, float]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{DATABASE}", "APP_ENV": "development",
           "RATE_LIMITS_ENABLED": "0"}  # measured, not throttled
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind",
                               f"127.0.0.1:{PORT}", *args, "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(6)
        for name in LOADS:
            subprocess.run(["wrk", "-t2", "-c8", "-d5s", "-s",
                            str(ROOT / "bench" / "wrk_bodies.lua"),
                            f"http://127.0.0.1:{PORT}/graphql"], check=True,
                           env={**os.environ, "WRK_BODIES": str(DATA / f"bodies-{name}.jsonl")},
                           stdout=subprocess.DEVNULL)
        time.sleep(1)
        return memory([server.pid, *children(server.pid)])
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    missing = [path for path in [DATABASE, *(DATA / f"bodies-{n}.jsonl" for n in LOADS)]
               if not path.exists()]
    if missing:
        print(f"run `make bench-quick` first (missing {missing[0]})", file=sys.stderr)
        return 1
    print("| server | summed RSS MB | summed PSS MB |\n|---|---|---|")
    for label, args in VARIANTS.items():
        rss, pss = measure(args)
        print(f"| {label} | {rss:.0f} | {pss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
