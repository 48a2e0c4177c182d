"""The production server as `make run` and operators start it: `gunicorn wsgi:app` with the
repository's gunicorn.conf.py (app preloaded in the master, 2 workers, the engine's pool
discarded after the fork), answering on both stores."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import ROOT, operation

NEARBY = operation("NearbyPlaces")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _post(url: str, document: str, variables: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps({"query": document, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_gunicorn__repository_config__preloaded_workers_answer_queries(demo_app: Flask):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": demo_app.extensions["servicemap"].settings.database_url,
           "APP_ENV": "test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not become ready")
                time.sleep(0.2)
        # when: enough separate connections that both workers answer
        answers = [_post(base + "/graphql", NEARBY, {"near": {"lat": 30.2741, "lon": 120.1551},
                                                     "radiusMeters": 3000.0, "first": 5})
                   for _ in range(30)]
        # then
        assert all("errors" not in body and body["data"]["places"]["edges"] for body in answers)
        assert len({json.dumps(body, sort_keys=True) for body in answers}) == 1
        assert len(_children(server.pid)) == 2
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "Booting worker" in output and "Traceback" not in output, output
