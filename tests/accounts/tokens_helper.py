"""Real signed Firebase-style ID tokens for tests, verified by the real firebase-admin code.

A `TokenFactory` owns an RSA key and a self-signed certificate, serves `{kid: PEM certificate}`
(the format of Google's securetoken endpoint) from a threaded HTTP server on 127.0.0.1, and
signs RS256 ID tokens with PyJWT. Point the backend at it with
`Settings(..., **factory.settings_overrides)` (FIREBASE_PROJECT_ID + FIREBASE_CERTS_URL):

    def test_something(token_factory):          # session fixture, see below
        token = token_factory.sign("alice")     # valid for an hour, project demo-servicemap
        headers = {"Authorization": f"Bearer {token}"}

`token_factory` is a session-scoped pytest fixture: tests/accounts/conftest.py imports it; a
test module or conftest elsewhere can do the same
(`from tests.accounts.tokens_helper import token_factory  # noqa: F401`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.local_http import LocalHttpServer

DEFAULT_PROJECT = "demo-servicemap"
ISSUER_PREFIX = "https://securetoken.google.com/"
CERTS_PATH = "/certs"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key (e.g. to sign a token the served certificate does not match)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_certificate(key: rsa.RSAPrivateKey) -> str:
    """A PEM X.509 certificate of `key`, valid from yesterday for a year."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


class TokenFactory(LocalHttpServer):
    """Signs ID tokens and serves the certificate that verifies them.

    `start()` / `stop()` (or `with TokenFactory() as factory:`); then `certs_url`,
    `settings_overrides` and `sign(...)`. Thread-safe for signing."""

    thread_name = "test-cert-server"

    def __init__(self, project: str = DEFAULT_PROJECT, kid: str = "test-key-1") -> None:
        self.project = project
        self.kid = kid
        self.key = new_key()
        self.certificates = {kid: self_signed_certificate(self.key)}
        self.requests_served = 0

    # -- the certificate endpoint -------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        factory = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path != CERTS_PATH:
                    self.send_error(404)
                    return
                body = json.dumps(factory.certificates).encode("utf-8")
                factory.requests_served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                # As Google's endpoint does: a process fetches the keys once, not per token.
                self.send_header("Cache-Control", "public, max-age=600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass  # keep test output clean

        return Handler

    @property
    def certs_url(self) -> str:
        """Serves {kid: PEM certificate}; any other path of `base_url` answers 404."""
        return self.base_url + CERTS_PATH

    @property
    def settings_overrides(self) -> dict[str, str]:
        """Settings fields that make the backend verify this factory's tokens."""
        return {"firebase_project_id": self.project, "firebase_certs_url": self.certs_url}

    # -- tokens -------------------------------------------------------------------------------

    def sign(self, uid: str, project: str | None = None, *, expires_in: int = 3600,
             audience: str | None = None, issuer: str | None = None,
             key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
             claims: dict | None = None) -> str:
        """An RS256 ID token for `uid`, shaped like Firebase's.

        `project` defaults to the factory's; `audience` / `issuer` override the claims derived
        from it; `key` signs with another key (default: the served one); `kid` sets another
        header kid; `expires_in` may be negative (already expired); `claims` adds or replaces
        payload claims."""
        project = project or self.project
        now = int(time.time())
        payload = {
            "iss": issuer if issuer is not None else ISSUER_PREFIX + project,
            "aud": audience if audience is not None else project,
            "auth_time": now,
            "user_id": uid,
            "sub": uid,
            "iat": now if expires_in > 0 else now + expires_in - 60,
            "exp": now + expires_in,
            "firebase": {"identities": {}, "sign_in_provider": "custom"},
        }
        payload.update(claims or {})
        return jwt.encode(payload, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})


@pytest.fixture(scope="session")
def token_factory() -> Iterator[TokenFactory]:
    """A started TokenFactory for the session (project demo-servicemap)."""
    with TokenFactory() as factory:
        yield factory
