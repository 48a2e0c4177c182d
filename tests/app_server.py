"""A real app server for the tests: gunicorn (`wsgi:app`, as `make run` serves it) in a child
process, on a database seeded through the CLI with the demo data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import make_test_app
from tests.helpers import ROOT, amap_file

PROJECT = "demo-servicemap"  # the Firebase project of the emulator tokens
# Development settings with the Auth-emulator sign-in (backend/accounts/dev_token.py).
DEVELOPMENT_ENV = {"APP_ENV": "development", "FIREBASE_PROJECT_ID": PROJECT,
                   "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}


def free_port(first: int = 8160, last: int = 8199) -> int:
    """A free port in first–last (the range this project's test servers use), else any."""
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seeded_demo_database(directory: Path, *cli_commands: list[str]) -> str:
    """A SQLite database in `directory` with the demo data (`seed demo`, as `make run` does),
    then each of `cli_commands` (e.g. a role grant); its URL."""
    url = f"sqlite:///{directory / 'servicemap.sqlite3'}"
    app = make_test_app(url)
    runner = app.test_cli_runner()
    for args in (["seed", "demo", "--amap-file", str(amap_file())], *cli_commands):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    app.extensions["servicemap"].engine.dispose()
    return url


@contextmanager
def gunicorn_server(database_url: str, env: dict[str, str], port: int | None = None,
                    threads: int = 8) -> Iterator[str]:
    """gunicorn serving `wsgi:app` on `database_url` with `env` on top of ours, ready
    (/readyz answers); yields its base URL and stops it afterwards."""
    port = port or free_port()
    # A file, not a pipe: nobody reads the server's log (a JSON line per request) while the
    # tests run, and a full pipe would block the server's next write.
    server_log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed after the server stops)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--threads",
         str(threads), "wsgi:app"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url, **env},
        stdout=subprocess.DEVNULL, stderr=server_log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    server_log.seek(0)
                    pytest.fail(f"the app server did not start: {server_log.read()[-2000:]}")
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
