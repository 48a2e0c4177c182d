"""The tools the bench installs by itself when they are missing: its Python requirements
(bench/requirements.txt) into the venv, wrk and PostGIS with apt-get, PostGraphile with npm."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from databases import PG_HOST, PG_PORT, pg_admin, pg_reachable
from paths import BENCH, PEER_DIR, VENV_BIN
from shell import log, run

POSTGRAPHILE_VERSION = "4.14.1"


def ensure_python_requirements() -> None:
    from importlib.metadata import PackageNotFoundError, version

    wanted = []
    for line in (BENCH / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            wanted.append(line)
    missing = []
    for pin in wanted:
        name, _, pinned = pin.partition("==")
        try:
            if version(name) != pinned:
                missing.append(pin)
        except PackageNotFoundError:
            missing.append(pin)
    if missing:
        log(f"installing {' '.join(missing)} into the venv")
        run([str(VENV_BIN / "pip"), "install", "-q", "-r", str(BENCH / "requirements.txt")])


def apt_install(package: str) -> None:
    log(f"apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if run(["apt-get", "install", "-y", "-q", package], env=env, check=False).returncode:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", package], env=env)


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        apt_install("wrk")
    return shutil.which("wrk") or "wrk"


def ensure_postgis() -> str | None:
    """None when PostgreSQL + PostGIS can be used, else the reason."""
    if not pg_reachable():
        return f"no PostgreSQL on {PG_HOST}:{PG_PORT}"
    with pg_admin() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    if not found:
        apt_install("postgresql-15-postgis-3")
    return None


def ensure_postgraphile() -> Path:
    binary = PEER_DIR / "node_modules" / ".bin" / "postgraphile"
    package = PEER_DIR / "node_modules" / "postgraphile" / "package.json"
    installed = json.loads(package.read_text())["version"] if package.exists() else None
    if installed != POSTGRAPHILE_VERSION or not binary.exists():
        log(f"npm install --prefix bench/.peer postgraphile@{POSTGRAPHILE_VERSION}")
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund",
             "--save-exact", f"postgraphile@{POSTGRAPHILE_VERSION}"], timeout=900)
    return binary
