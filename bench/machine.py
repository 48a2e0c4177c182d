"""Facts recorded with every bench run: the machine, its load, the commit, the tools."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from pathlib import Path

from install import POSTGRAPHILE_VERSION
from shell import run


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def commit() -> dict:
    head = run(["git", "rev-parse", "HEAD"], check=False).stdout.strip()
    status = run(["git", "status", "--short"], check=False).stdout.splitlines()
    return {"head": head, "uncommitted_files": len(status)}


def short_commit() -> str | None:
    return run(["git", "rev-parse", "--short", "HEAD"], check=False).stdout.strip() or None


def tool_versions(wrk: str | None) -> dict:
    versions = {}
    for name, cmd in (("postgres", ["psql", "--version"]), ("pgbench", ["pgbench", "--version"]),
                      ("node", ["node", "--version"])):
        with contextlib.suppress(OSError):
            versions[name] = run(cmd, check=False).stdout.strip()
    if wrk:
        out = run([wrk, "--version"], check=False)
        versions["wrk"] = (out.stdout + out.stderr).strip().splitlines()[0]
    versions["postgraphile"] = POSTGRAPHILE_VERSION
    return versions
