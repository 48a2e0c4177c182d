"""py-spy over the API's gunicorn master and workers while wrk drives the nearby query, and
the summary of its samples (own time and inclusive time per frame)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from clients import wrk_load
from paths import DATA, ROOT, VENV_BIN
from plans import Plan
from servers import Server


def profile(server: Server, wrk: str, bodies: list[bytes], plan: Plan, seconds: float) -> dict:
    """py-spy over the gunicorn master and workers while wrk drives the nearby query."""
    out_path = DATA / "profile-raw.txt"
    server.wait_idle()
    spy = subprocess.Popen(
        [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.proc.pid), "--subprocesses",
         "--duration", f"{int(seconds)}", "--rate", "200", "--format", "raw", "--nolineno",
         "--output", str(out_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    time.sleep(1.0)
    load = wrk_load(wrk, server.port, "/graphql", bodies, plan, seconds - 2, "profile")
    spy_out, _ = spy.communicate(timeout=seconds + 60)
    if not out_path.exists():
        return {"error": spy_out[-1000:]}
    return {"load": load, **summarize_profile(out_path)}


def _frame_label(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py)"; shorten the path.
    match = re.match(r"(.*) \((.*)\)$", frame)
    if not match:
        return frame
    function, path = match.groups()
    path = re.sub(r".*/site-packages/", "", path)
    path = path.replace(str(ROOT) + "/", "")
    path = re.sub(r".*/lib/python3\.\d+/", "", path)
    return f"{function} ({path})"


# Leaf frames of threads that wait for work (gthread's pool and poller, the arbiter): py-spy's
# idle detection does not see them as idle here, so they are dropped from the shares.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)", "EpollSelector.select (selectors.py)",
               "Arbiter.wait_for_signals (gunicorn/arbiter.py)", "Arbiter.sleep (gunicorn/",
               "wait (threading.py)", "sleep (gunicorn/")


def summarize_profile(path: Path, top: int = 25) -> dict:
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_label(f) for f in stack.split(";")
                  if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            idle += count
            continue
        total += count
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count

    def ranked(table: dict[str, int]) -> list[dict]:
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [{"frame": frame, "samples": n, "share": round(n / total, 3)} for frame, n in rows]

    ours = {frame: n for frame, n in inclusive.items()
            if re.search(r"\((backend|mobile_api|geodata|wsgi)", frame)}
    return {"samples": total, "idle_samples_dropped": idle, "self": ranked(self_time),
            "inclusive": ranked(inclusive), "inclusive_ours": ranked(ours)}
