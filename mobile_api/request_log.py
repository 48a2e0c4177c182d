"""One JSON line per request on the `servicemap.request` logger (stderr; it replaces gunicorn's
access log, which would keep whole query strings).

Fields: request id (a valid incoming X-Request-ID, or a new one; echoed as X-Request-ID),
method, path (never the query string), status, duration in ms, for /graphql the operation
name, the trusted document's id, the executor that ran it (`plan` or `graphql-core`) and the
errors' codes, and the user id hashed. Never a token,
a body, variables or a query string: they hold phone numbers and check-in codes."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import sys
import threading
import time
from queue import SimpleQueue
from typing import TextIO

import orjson
from flask import Flask, Response, g, has_request_context, request

log = logging.getLogger("servicemap.request")
# Ids of proxies and tracers (UUIDs, hex, base64url): anything else is replaced by our own.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def note(**fields: object) -> None:
    """Fields for this request's line (operation, document_id, uid), from whoever knows them."""
    if has_request_context():
        g.setdefault("request_log", {}).update(fields)


def note_error_codes(codes: list[str]) -> None:
    if has_request_context():
        g.setdefault("request_log", {}).setdefault("error_codes", []).extend(codes)


def new_request_id() -> str:
    """32 random hex digits, like a UUID's: an id to find a request's lines by, not a secret,
    so from `random` (re-seeded in each forked worker) without the system call of uuid4."""
    return f"{random.getrandbits(128):032x}"


def user_hash(uid: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}\0{uid}".encode()).hexdigest()[:16]


class BackgroundLineWriter(logging.Handler):
    """Writes each record's message as a line from a thread of its own: the request thread
    only queues it, and lines that arrive together leave in one write. Writing on the request
    thread (StreamHandler: its lock, a write per line) was 7.6 % of a busy worker's samples.
    The thread is started by the first line of each process: a preloaded application's
    workers are forked without the master's threads. Flushed at exit (logging's shutdown)."""

    # Besides lines, the queue carries an Event (set once the lines before it are written)
    # and None (stop).
    MAX_BATCH = 256

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._queue: SimpleQueue = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._pid != os.getpid():
            self._start()
        self._queue.put(record.getMessage())

    def _start(self) -> None:
        with self.lock:
            if self._pid == os.getpid():
                return
            self._queue = SimpleQueue()  # a forked copy may hold the parent's unwritten lines
            self._thread = threading.Thread(target=self._write, args=(self._queue,),
                                            name="request-log", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def _write(self, queue: SimpleQueue) -> None:
        while True:
            items = [queue.get()]
            while len(items) < self.MAX_BATCH and not queue.empty():
                items.append(queue.get())
            lines = [item for item in items if isinstance(item, str)]
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()
                except (OSError, ValueError):  # a closed stderr: the lines are lost, not the worker
                    pass
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
            if any(item is None for item in items):
                return

    def _running(self) -> bool:
        return (self._thread is not None and self._pid == os.getpid()
                and self._thread.is_alive())

    def flush(self) -> None:
        """Returns once every line queued before it is written (at exit, and for tests)."""
        if self._running():
            written = threading.Event()
            self._queue.put(written)
            written.wait(timeout=5)

    def close(self) -> None:
        if self._running():
            self._queue.put(None)
            self._thread.join(timeout=5)
        super().close()


def _configure_logger() -> None:
    # Its own handler and no propagation: the line is the whole message, not prefixed by the
    # root logger's format.
    if not log.handlers:
        log.addHandler(BackgroundLineWriter(sys.stderr))
    log.setLevel(logging.INFO)
    log.propagate = False


def init_app(app: Flask, salt: str) -> None:
    _configure_logger()

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else new_request_id()

    @app.after_request
    def _line(response: Response) -> Response:
        started = g.get("request_started")
        request_id = g.get("request_id") or new_request_id()
        response.headers["X-Request-ID"] = request_id
        fields = g.get("request_log", {})
        line = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1)
            if started is not None else None,
        }
        for name in ("operation", "document_id", "executor"):
            if fields.get(name):
                line[name] = fields[name]
        if fields.get("error_codes"):
            line["error_codes"] = sorted(set(fields["error_codes"]))
        if fields.get("uid"):
            line["user"] = user_hash(fields["uid"], salt)
        log.info(orjson.dumps(line).decode())
        return response
