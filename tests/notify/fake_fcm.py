"""A fake Firebase Cloud Messaging (FCM HTTP v1) server, driven by the real firebase-admin.

`FakeFcm` serves, from a threaded HTTP/1.1 server on 127.0.0.1, the two endpoints that
firebase-admin and google-auth call when sending a push:

* `POST /token`: the OAuth 2 token endpoint of a service account. It verifies the RS256 JWT
  assertion google-auth signs (against the public half of the fake's key; audience Google's
  https://oauth2.googleapis.com/token, which google-auth always uses, or this /token URL) and
  issues `fake-access-<n>` bearer tokens.
* `POST /v1/projects/<project>/messages:send`: FCM's send endpoint. It requires one of those
  bearer tokens, validates the request shape, and answers a scripted `Reply`: 200
  `{"name": "projects/<project>/messages/<id>"}` or an error body in FCM's exact format (so
  firebase-admin raises its real `UnregisteredError`, `QuotaExceededError`, ...).

Point a firebase-admin app at it with the service-account file it writes (its `token_uri` is
the fake's /token) and by redirecting the messaging service's send URL:

    def test_push(fake_fcm, tmp_path):                  # function fixture, see below
        cred = credentials.Certificate(str(fake_fcm.service_account_file(tmp_path)))
        app = firebase_admin.initialize_app(cred, {"projectId": fake_fcm.project_id}, name="t")
        service = messaging._get_messaging_service(app)
        service._fcm_url = fake_fcm.send_url             # private attribute, firebase-admin 7.x
        # firebase-admin retries 500/503 (and a 429 with Retry-After, honouring it) up to four
        # times with backoff, also on http://; to disable, mount
        # HTTPAdapter(max_retries=Retry(total=1, connect=1, read=0, status=0, ...)) on
        # service._client.session for fake_fcm.base_url (see tests/notify/test_fake_fcm.py).
        fake_fcm.plan("tok-1", UNREGISTERED)             # the next send to tok-1 fails, then OK
        fake_fcm.always("tok-2", quota_exceeded(30))     # every send to tok-2 is throttled
        fake_fcm.script = lambda message: None           # or any callable -> Reply | None
        ...
        assert fake_fcm.delivered("tok-3")[0]["notification"]["title"] == "Hi"

A reply is chosen per request, in this order: the token's `plan()` queue (one reply consumed per
request), the token's `always()` reply, `script(message)` if set and not None, else `OK`.
Replies carry an optional `delay` (see `slow()`), during which the handler thread sleeps.

Fixtures: `fake_fcm_server` (session scope, a started FakeFcm) and `fake_fcm` (function scope:
the same server, `reset()` before and after the test). Import both in a conftest.py
(`from tests.notify.fake_fcm import fake_fcm, fake_fcm_server  # noqa: F401`), or bind them in
a test module (`fake_fcm = fake_fcm_module.fake_fcm`, ruff's F811 does not flag that).
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.local_http import LocalHttpServer

DEFAULT_PROJECT = "demo-servicemap"
TOKEN_PATH = "/token"
ACCESS_TOKEN_PREFIX = "fake-access-"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs every service-account assertion for Google's token endpoint, whatever the
# token_uri it posts it to (google/oauth2/service_account.py); Google accepts only that.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# What real FCM answers as the name of a validate_only (dry run) message.
DRY_RUN_MESSAGE_ID = "fake_message_id"

# A message has exactly one target. firebase-admin 7.7 deprecates Message.token for Message.fid
# (a Firebase installation ID, sent as "fid"); the fake treats a fid like a token.
TARGETS = ("token", "fid", "topic", "condition")

_SEND_PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")

# Default google.rpc status and message for an HTTP status, as Google's front end sends them.
_STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGE_BY_STATUS = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    "PERMISSION_DENIED": "SenderId mismatch",
    "NOT_FOUND": "Requested entity was not found.",
    "RESOURCE_EXHAUSTED": (
        "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'."
    ),
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "The request deadline was exceeded.",
}


# -- replies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the fake answers one send request.

    `status` 200 answers `{"name": ...}`; any other status answers FCM's error body
    `{"error": {"code", "message", "status", "details": [FcmError{errorCode}]}}`, where
    `grpc_status` defaults from the HTTP status, `error_code` is the FcmError errorCode (no
    details entry when None) and `message` overrides the default text. `retry_after` (seconds)
    is sent as a Retry-After header; `delay` (seconds) is slept before answering."""

    status: int = 200
    error_code: str | None = None
    grpc_status: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def error_body(self) -> dict:
        """FCM's JSON error body for this reply (meaningless for an OK reply)."""
        status = self.grpc_status or _STATUS_BY_HTTP.get(self.status, "UNKNOWN")
        error: dict = {
            "code": self.status,
            "message": self.message or _MESSAGE_BY_STATUS.get(status, "Unknown error."),
            "status": status,
        }
        if self.error_code is not None:
            error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": self.error_code}]
        return {"error": error}


OK = Reply()
UNREGISTERED = Reply(404, "UNREGISTERED", "NOT_FOUND")
SENDER_ID_MISMATCH = Reply(403, "SENDER_ID_MISMATCH", "PERMISSION_DENIED")
INVALID_ARGUMENT = Reply(
    400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
    message="The registration token is not a valid FCM registration token",
)
INTERNAL = Reply(500, "INTERNAL", "INTERNAL")
UNAVAILABLE = Reply(503, "UNAVAILABLE", "UNAVAILABLE")


def quota_exceeded(retry_after: int | None = 1) -> Reply:
    """429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, with a Retry-After header unless None."""
    return Reply(429, "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", retry_after=retry_after)


def slow(seconds: float, reply: Reply = OK) -> Reply:
    """`reply` (default OK) answered after sleeping `seconds` (a slow FCM / a client timeout)."""
    return replace(reply, delay=seconds)


@dataclass(frozen=True)
class Received:
    """One answered send request: `token` (the token or fid; None for a topic or condition),
    the `message` object as sent, the `reply` given, the message `name` (None unless OK), `at`
    (time.time() when answered) and whether it was a `validate_only` (dry run) request."""

    token: str | None
    message: dict
    reply: Reply
    name: str | None
    at: float
    validate_only: bool = False


# -- the server -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: send_each opens up to 500 connections at once

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # the client gave up (timeout) or closed a keep-alive connection
        super().handle_error(request, client_address)


class FakeFcm(LocalHttpServer):
    """A fake FCM v1 send endpoint plus the OAuth token endpoint of a fake service account.

    `start()` / `stop()` (or `with FakeFcm() as fake:`); then `service_account_file(dir)`,
    `base_url`, `send_path` / `send_url`; script replies with `plan()`, `always()` and
    `script`; inspect `requests`, `delivered()`, `token_requests`; `reset()` between tests.
    Thread-safe."""

    server_class = _Server
    thread_name = "fake-fcm-server"

    def __init__(self, project_id: str = DEFAULT_PROJECT) -> None:
        self.project_id = project_id
        self.client_email = f"push@{project_id}.iam.gserviceaccount.com"
        self.private_key_id = secrets.token_hex(20)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # Called (from server threads, concurrently) with the message dict of a request the
        # plan()/always() replies did not cover; returns the Reply, or None for OK.
        self.script: Callable[[dict], Reply | None] | None = None
        self._lock = threading.Lock()
        self._generation = 0  # bumped by reset(): late (delayed) answers are not recorded
        self._requests: list[Received] = []
        self._plans: dict[str, collections.deque[Reply]] = {}
        self._always: dict[str, Reply] = {}
        self._issued: set[str] = set()
        self._token_counter = itertools.count(1)
        self._message_counter = itertools.count(1)
        self._token_requests = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urllib.parse.urlsplit(self.path).path
                if path == TOKEN_PATH:
                    fake._handle_token(self, body)
                elif match := _SEND_PATH_RE.match(path):
                    fake._handle_send(self, match["project"], body)
                else:
                    _write_json(self, 404, Reply(404).error_body())

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass  # keep test output clean

        return Handler

    # -- addresses and credentials ------------------------------------------------------------

    @property
    def send_path(self) -> str:
        return f"/v1/projects/{self.project_id}/messages:send"

    @property
    def send_url(self) -> str:
        """base_url + send_path: what the messaging service's `_fcm_url` must be set to."""
        return self.base_url + self.send_path

    @property
    def token_uri(self) -> str:
        return self.base_url + TOKEN_PATH

    def service_account_info(self) -> dict:
        """The service-account JSON object (its token_uri is this server's /token)."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                "https://www.googleapis.com/robot/v1/metadata/x509/"
                + urllib.parse.quote(self.client_email)
            ),
            "universe_domain": "googleapis.com",
        }

    def service_account_file(self, directory: Path) -> Path:
        """Writes the service-account JSON into `directory`; returns its path."""
        path = Path(directory) / f"{self.project_id}-service-account.json"
        path.write_text(json.dumps(self.service_account_info(), indent=2), encoding="utf-8")
        return path

    # -- scripting ----------------------------------------------------------------------------

    def plan(self, token: str, *replies: Reply) -> None:
        """Queue replies for `token`: each send to it consumes the next one, in order."""
        with self._lock:
            self._plans.setdefault(token, collections.deque()).extend(replies)

    def always(self, token: str, reply: Reply) -> None:
        """Answer `reply` to every send to `token` (once its plan() queue is empty)."""
        with self._lock:
            self._always[token] = reply

    def reset(self) -> None:
        """Clears records, plans, always-replies and `script`. Issued access tokens, counters
        and the key stay (apps keep their cached OAuth token across tests). An answer delayed
        across a reset() is still sent but not recorded."""
        with self._lock:
            self._generation += 1
            self._requests.clear()
            self._plans.clear()
            self._always.clear()
            self.script = None

    # -- records ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        """Answered send requests (valid shape, authorized), in answer order; a copy."""
        with self._lock:
            return list(self._requests)

    def delivered(self, token: str | None = None) -> list[dict]:
        """The messages answered OK (dry runs excluded), optionally only those to `token`."""
        with self._lock:
            return [r.message for r in self._requests
                    if r.reply.ok and not r.validate_only and (token is None or r.token == token)]

    @property
    def token_requests(self) -> int:
        """How many times /token was called (valid or not)."""
        with self._lock:
            return self._token_requests

    # -- handlers (server threads) ------------------------------------------------------------

    def _handle_token(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self._token_requests += 1
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        assertion = (form.get("assertion") or [""])[0]
        try:
            if form.get("grant_type") != [JWT_BEARER_GRANT]:
                raise jwt.InvalidTokenError("unsupported grant_type")
            if jwt.get_unverified_header(assertion).get("kid") != self.private_key_id:
                raise jwt.InvalidTokenError("unknown kid")
            jwt.decode(
                assertion, self.key.public_key(), algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri], issuer=self.client_email,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as error:
            _write_json(handler, 400, {"error": "invalid_grant", "error_description": str(error)})
            return
        with self._lock:
            access_token = f"{ACCESS_TOKEN_PREFIX}{next(self._token_counter)}"
            self._issued.add(access_token)
        _write_json(handler, 200, {"access_token": access_token, "expires_in": 3600,
                                   "token_type": "Bearer"})

    def _handle_send(self, handler: BaseHTTPRequestHandler, project: str, body: bytes) -> None:
        authorization = handler.headers.get("Authorization", "")
        scheme, _, access_token = authorization.partition(" ")
        with self._lock:
            authorized = scheme.lower() == "bearer" and access_token in self._issued
        if not authorized:
            _write_json(handler, 401, Reply(401).error_body(),
                        {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
            return
        if project != self.project_id:
            _write_json(handler, 404, Reply(404).error_body())
            return

        message, validate_only = _parse_send_body(body)
        if message is None:
            _write_json(handler, 400, Reply(400).error_body())
            return
        token = message.get("token", message.get("fid"))

        with self._lock:
            generation = self._generation
            reply = None
            queue = self._plans.get(token) if token is not None else None
            if queue:
                reply = queue.popleft()
            elif token is not None:
                reply = self._always.get(token)
            script = self.script
        if reply is None and script is not None:
            reply = script(message)
        reply = reply or OK

        if reply.delay > 0:
            time.sleep(reply.delay)
        name = None
        if reply.ok:
            if validate_only:
                suffix = DRY_RUN_MESSAGE_ID
            else:
                suffix = f"0:{next(self._message_counter):016d}%{secrets.token_hex(8)}"
            name = f"projects/{self.project_id}/messages/{suffix}"
        with self._lock:
            if generation == self._generation:
                self._requests.append(Received(token, message, reply, name, time.time(),
                                               validate_only))
        if reply.ok:
            _write_json(handler, 200, {"name": name})
        else:
            headers = {}
            if reply.retry_after is not None:
                headers["Retry-After"] = str(reply.retry_after)
            _write_json(handler, reply.status, reply.error_body(), headers)


def _parse_send_body(body: bytes) -> tuple[dict | None, bool]:
    """(message, validate_only), or (None, False) if the request is malformed."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, False
    if not isinstance(data, dict):
        return None, False
    message = data.get("message")
    validate_only = data.get("validate_only", data.get("validateOnly", False))
    if not isinstance(message, dict) or not isinstance(validate_only, bool):
        return None, False
    targets = [key for key in TARGETS if key in message]
    if len(targets) != 1 or not isinstance(message[targets[0]], str) or not message[targets[0]]:
        return None, False
    return message, validate_only


def _write_json(handler: BaseHTTPRequestHandler, status: int, payload: dict,
                headers: dict[str, str] | None = None) -> None:
    body = json.dumps(payload).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=UTF-8")
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_fcm_server() -> Iterator[FakeFcm]:
    """A started FakeFcm for the session (project demo-servicemap)."""
    with FakeFcm() as fake:
        yield fake


@pytest.fixture
def fake_fcm(fake_fcm_server: FakeFcm) -> Iterator[FakeFcm]:
    """The session's FakeFcm, reset() before and after the test."""
    fake_fcm_server.reset()
    yield fake_fcm_server
    fake_fcm_server.reset()
