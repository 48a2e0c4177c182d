"""The clients that drive the servers: one keep-alive connection (`http.client`) for latency
series, wrk for throughput, asyncio connections for many clients in one thread; and the
latency statistics they report."""

from __future__ import annotations

import http.client
import json
import os
import re
import time

import numpy as np

from paths import BENCH, DATA
from plans import Plan
from servers import Server
from shell import run


class Client:
    """One keep-alive HTTP/1.1 connection, as a phone app's HTTP stack keeps."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, body: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def stats_ms(samples_s: list[float]) -> dict:
    a = np.asarray(samples_s) * 1000.0
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "mean_ms": round(float(a.mean()), 3),
        "max_ms": round(float(a.max()), 3),
    }


def single_client(port: int, path: str, bodies: list[bytes], n: int) -> dict:
    client = Client(port, path)
    samples, failures, first_error = [], 0, None
    try:
        for i in range(n):
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            status, data = client.post(body)
            samples.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in data:
                failures += 1
                first_error = first_error or data[:300].decode("utf-8", "replace")
    finally:
        client.close()
    result = stats_ms(samples)
    result["failed_responses"] = failures
    if first_error:
        result["first_error"] = first_error
    result["req_per_s"] = round(n / sum(samples), 1) if samples else 0.0
    return result


def wrk_load(wrk: str, port: int, path: str, bodies: list[bytes], plan: Plan, seconds: float,
             name: str, server: Server | None = None) -> dict:
    body_file = DATA / f"bodies-{name}.jsonl"
    body_file.write_bytes(b"\n".join(bodies) + b"\n")
    env = {**os.environ, "WRK_BODIES": str(body_file)}
    cmd = [wrk, f"-t{plan.load_threads}", f"-c{plan.connections}",
           f"-d{max(1, round(seconds))}s",
           "--timeout", "10s", "-s", str(BENCH / "wrk_bodies.lua"),
           f"http://127.0.0.1:{port}{path}"]
    out = run(cmd, env=env, check=False, timeout=seconds + 120)
    drained = server.wait_idle() if server is not None else None
    match = re.search(r"WRK_JSON (\{.*\})", out.stdout)
    if not match:
        return {"error": (out.stdout + out.stderr)[-1000:]}
    raw = json.loads(match.group(1))
    duration = raw["duration_us"] / 1e6
    return {
        "drain_after_s": round(drained, 1) if drained is not None else None,
        "connections": plan.connections,
        "threads": plan.load_threads,
        "seconds": round(duration, 1),
        "requests": raw["requests"],
        "req_per_s": round(raw["requests"] / duration, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["latency_max_us"] / 1000,
        "failed_responses": raw["failed_responses"],
        "socket_errors": raw["socket_errors"],
        "timeouts": raw["timeouts"],
    }


class AsyncClient:
    """One keep-alive HTTP/1.1 connection over asyncio streams (a phone's HTTP stack): the
    64 booking clients share one thread, so the load generator costs little CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None
        self.reconnects = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes, token: str | None,
                   headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        import asyncio

        extra = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in extra.items())
                + f"Content-Length: {len(body)}\r\n\r\n").encode()
        for attempt in range(2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                                             self.port)
                self.writer.write(head + body)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionError("connection closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length)
                if close:
                    self.close()
                return status, data
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                # Resent with the same uid and key: a booking the server made before the
                # connection broke comes back as the same appointment (idempotency).
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")


def answers(port: int, bodies: list[bytes]) -> list[dict]:
    """The `data` of the answer to each body, over one connection."""
    client = Client(port, "/graphql")
    found = []
    try:
        for body in bodies:
            _, data = client.post(body)
            found.append(json.loads(data)["data"])
    finally:
        client.close()
    return found


def first_pages(port: int, bodies: list[bytes], field: str) -> list[list[dict]]:
    """The edges of the page `Query.<field>` answers to each body, over one connection."""
    return [data[field]["edges"] for data in answers(port, bodies)]
