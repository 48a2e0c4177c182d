"""One JSON line per request on the `servicemap.request` logger (stderr; it replaces gunicorn's
access log, which would keep whole query strings).

Fields: request id (a valid incoming X-Request-ID, or a new one; echoed as X-Request-ID),
method, path (never the query string), status, duration in ms, for /graphql the operation
name, the trusted document's id, the executor that ran it (`plan` or `graphql-core`) and the
errors' codes, and the user id hashed. Never a token,
a body, variables or a query string: they hold phone numbers and check-in codes."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
import uuid

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


def user_hash(uid: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}\0{uid}".encode()).hexdigest()[:16]


def _configure_logger() -> None:
    # Its own handler and no propagation: the line is the whole message, not prefixed by the
    # root logger's format.
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def init_app(app: Flask, salt: str) -> None:
    _configure_logger()

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _line(response: Response) -> Response:
        started = g.get("request_started")
        request_id = g.get("request_id") or uuid.uuid4().hex
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
        log.info(json.dumps(line, ensure_ascii=False))
        return response
