"""The servers measured: processes in their own process group, their ports, and the
environment of the production API server."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from paths import LOGS, ROOT, VENV_BIN

# BENCH_API_PORT moves the API (and PostGraphile, one above) when 18080 is taken.
API_PORT = int(os.environ.get("BENCH_API_PORT", "18080"))
PEER_PORT = API_PORT + 1
GUNICORN_ARGS = ["--workers", "2", "--threads", "4", "--preload"]  # = gunicorn.conf.py (make run)
FIREBASE_PROJECT = "demo-servicemap"  # the development project of `make run`


def app_env(url: str) -> dict:
    """The production server's environment: production refuses the development sign-in aids
    and wants a Firebase project (no token is verified by the anonymous queries measured)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FIREBASE_AUTH_EMULATOR", "FIREBASE_CERTS_URL"))}
    # The bench sends its own documents (fallbacks, introspection) and measures throughput:
    # neither trusted documents only nor rate limits (README "Running in production").
    env.update({"DATABASE_URL": url, "APP_ENV": "production", "PYTHONUNBUFFERED": "1",
                "TRUSTED_DOCUMENTS_ONLY": "0", "RATE_LIMITS_ENABLED": "0",
                "FIREBASE_PROJECT_ID": os.environ.get("FIREBASE_PROJECT_ID") or FIREBASE_PROJECT})
    return env


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Server:
    """A server process in its own process group (so RSS and stopping cover its workers)."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int) -> None:
        if not port_free(port):
            raise RuntimeError(f"port {port} is in use")
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name, self.port = name, port
        self.log_path = LOGS / f"{name}.log"
        self.log_file = self.log_path.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == self.proc.pid:  # process group id
                pids.append(int(entry.name))
        return sorted(pids)

    def rss_mb(self) -> dict:
        """Summed RSS of the server's processes, and their summed PSS (proportional set size:
        a page shared by the preloaded workers counts once overall, not once per process)."""
        per, pss = {}, {}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                if match:
                    per[pid] = int(match.group(1)) / 1024
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
                if match:
                    pss[pid] = int(match.group(1)) / 1024
        return {"total_mb": round(sum(per.values()), 1), "processes": len(per),
                "per_process_mb": [round(v, 1) for _, v in sorted(per.items())],
                "pss_total_mb": round(sum(pss.values()), 1)}

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 60.0) -> float:
        """Wait until the server has worked off requests a load generator left queued."""
        started = time.perf_counter()
        last = self.cpu_seconds()
        while time.perf_counter() - started < timeout:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.05:  # under 10 % of one core
                break
            last = now
        return time.perf_counter() - started

    def wait_first_answer(self, path: str, body: bytes, timeout: float = 120) -> float:
        """Seconds from process start to the first successful answer to `body`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                conn.close()
                if response.status == 200 and b'"errors"' not in data:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s: see {self.log_path}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log_file.close()


def api_server(name: str, env: dict, port: int = API_PORT) -> Server:
    """The API as production serves it: `gunicorn wsgi:app` with GUNICORN_ARGS and its access
    log, on `port` (API_PORT)."""
    return Server(name, [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                         *GUNICORN_ARGS, "--access-logfile", "-", "wsgi:app"], env, port)
