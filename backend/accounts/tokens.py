"""Who signed in: a Firebase ID token, verified by firebase-admin (DESIGN.md §6 "Accounts").

`TokenVerifier(settings).verify(token)` returns the uid of a valid token and raises
`Unauthenticated` (a Chinese message, no traceback) for anything else. firebase-admin checks the
RS256 signature against Google's public certificates, the expiry, the audience (our
FIREBASE_PROJECT_ID) and the issuer.

Two development aids, both refused in production by `Settings`:
- FIREBASE_AUTH_EMULATOR_HOST: firebase-admin then accepts unsigned tokens (Auth emulator,
  `python -m backend.accounts.dev_token`). It reads the *process environment* when verifying, so
  the verifier puts the setting there, and refuses to verify when the environment has it but
  its settings do not (every token would pass unsigned).
- FIREBASE_CERTS_URL: where the public certificates are fetched from (tests serve their own).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from backend.accounts.principal import Unauthenticated
from backend.config import ConfigError, Settings

logger = logging.getLogger(__name__)

EMULATOR_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
# Tolerated difference between our clock and Google's for `iat` / `exp`.
CLOCK_SKEW_SECONDS = 5

MESSAGE_NO_PROJECT = "服务未配置 FIREBASE_PROJECT_ID，无法验证登录凭证"
MESSAGE_EXPIRED = "登录凭证已过期，请重新登录"
MESSAGE_INVALID = "登录凭证无效"
MESSAGE_EMPTY = "登录凭证为空"
MESSAGE_CERTS = "无法获取登录凭证的公钥，请稍后重试"
MESSAGE_EMULATOR_CONFLICT = (
    "服务配置错误（环境变量 FIREBASE_AUTH_EMULATOR_HOST 与配置不一致），暂时无法验证登录凭证"
)
MESSAGE_BAD_HEADER = "Authorization 头格式应为 Bearer <token>"

# Verified tokens remembered per verifier (a worker), by their SHA-256: how many, and for how
# long at most (a token is never remembered past its own `exp`).
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_SECONDS = 300

if TYPE_CHECKING:
    import firebase_admin

_init_lock = threading.Lock()


def _no_adc_credential():  # noqa: ANN202
    """A credential for an app that only verifies ID tokens: verification needs no Google
    credential (public certificates), but firebase-admin's auth client asks the app for one
    when it is created, and the default would look for Application Default Credentials."""
    import google.auth.credentials
    from firebase_admin import credentials

    class NoAdcCredential(credentials.Base):
        def get_credential(self) -> google.auth.credentials.Credentials:
            return google.auth.credentials.AnonymousCredentials()

    return NoAdcCredential()


def check_service_account_file(path: str) -> None:
    """Refuse at start a credentials file firebase-admin could not use later."""
    try:
        with open(path, encoding="utf-8") as file:
            content = json.load(file)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"GOOGLE_APPLICATION_CREDENTIALS is not a usable service-account file: {error}"
        ) from error
    if not isinstance(content, dict) or content.get("type") != "service_account":
        raise ConfigError("GOOGLE_APPLICATION_CREDENTIALS is not a service-account file "
                          "(\"type\": \"service_account\" expected)")


class TokenVerifier:
    """Verifies Firebase ID tokens for one configuration (a named firebase_admin App)."""

    def __init__(self, settings: Settings) -> None:
        self.project_id = settings.firebase_project_id
        self.emulator_host = settings.firebase_auth_emulator_host
        self.certs_url = settings.firebase_certs_url
        self._credentials_path = settings.google_application_credentials
        if self.emulator_host:
            if "//" in self.emulator_host:
                raise ConfigError(
                    f"{EMULATOR_ENV} must be host:port without a scheme, got {self.emulator_host!r}"
                )
            # Development only (Settings refuse it in production); firebase-admin reads it here.
            os.environ[EMULATOR_ENV] = self.emulator_host
        if self._credentials_path:
            check_service_account_file(self._credentials_path)
        # firebase-admin and google-auth (~20 MB per process) are loaded with the first token:
        # a worker serving anonymous searches never needs them.
        self._app: firebase_admin.App | None = None
        # A resident's app sends the same token with every request for its hour: verifying the
        # RS256 signature (through firebase-admin's certificate cache) cost ~0.7 ms of CPU per
        # request. What verification decides does not change within a token's lifetime except
        # its expiry (revocation is not checked per request: check_revoked is off), so a token
        # verified once is accepted again until its `exp` — and at most VERIFIED_CACHE_SECONDS,
        # so that a rotated-out signing key stops counting soon. Refusals are not remembered.
        self._verified: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._verified_lock = threading.Lock()
        self.clock = time.time

    @property
    def app_name(self) -> str:
        key = "\n".join([self.project_id or "", self.certs_url or "", self._credentials_path or ""])
        return f"servicemap-id-tokens-{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    def _initialize_app(self) -> firebase_admin.App:
        import firebase_admin
        from firebase_admin import credentials

        name = self.app_name
        with _init_lock:
            try:
                return firebase_admin.get_app(name)
            except ValueError:
                pass  # not initialized yet
            if self._credentials_path:
                try:
                    credential = credentials.Certificate(self._credentials_path)
                except (OSError, ValueError) as error:
                    raise ConfigError(
                        f"GOOGLE_APPLICATION_CREDENTIALS is not a usable service-account file: "
                        f"{error}"
                    ) from error
            else:
                credential = _no_adc_credential()
            app = firebase_admin.initialize_app(
                credential, {"projectId": self.project_id}, name=name
            )
            if self.certs_url:
                _use_certs_url(app, self.certs_url)
            return app

    def verify(self, id_token: str) -> str:
        """The uid of a valid ID token; `Unauthenticated` otherwise."""
        if not self.project_id:
            raise Unauthenticated(MESSAGE_NO_PROJECT)
        if not isinstance(id_token, str) or not id_token.strip():
            raise Unauthenticated(MESSAGE_EMPTY)
        self._check_emulator_environment()
        digest = hashlib.sha256(id_token.strip().encode()).digest()
        uid = self._remembered(digest)
        if uid is not None:
            return uid
        from firebase_admin import auth

        if self._app is None:
            self._app = self._initialize_app()
        try:
            claims = auth.verify_id_token(
                id_token.strip(), app=self._app, clock_skew_seconds=CLOCK_SKEW_SECONDS
            )
        except auth.ExpiredIdTokenError:
            raise Unauthenticated(MESSAGE_EXPIRED) from None
        # The reasons are logged without the token: google-auth's and firebase-admin's
        # messages may quote it ("Wrong number of segments in token: b'…'").
        except auth.CertificateFetchError as error:
            logger.warning("ID token certificates could not be fetched: %s",
                           _without_token(error, id_token))
            raise Unauthenticated(MESSAGE_CERTS) from None
        except (auth.InvalidIdTokenError, ValueError) as error:
            logger.info("ID token refused: %s", _without_token(error, id_token))
            raise Unauthenticated(MESSAGE_INVALID) from None
        except Exception as error:  # anything unexpected is still a refused token, never a 500
            logger.error("ID token verification failed unexpectedly: %s", type(error).__name__)
            raise Unauthenticated(MESSAGE_INVALID) from None
        if self.emulator_host:
            # Emulated, firebase-admin returns the payload unchecked beyond aud/iss/sub: not
            # even `exp`. Keep expiry meaningful in development too.
            expires = claims.get("exp")
            if not isinstance(expires, int | float):
                raise Unauthenticated(MESSAGE_INVALID)
            if expires + CLOCK_SKEW_SECONDS < time.time():
                raise Unauthenticated(MESSAGE_EXPIRED)
        self._remember(digest, claims["uid"], claims.get("exp"))
        return claims["uid"]

    def _remembered(self, digest: bytes) -> str | None:
        """The uid of a token verified before and still within its time; None otherwise (an
        expired one is verified again, and refused as verification refuses it)."""
        with self._verified_lock:
            entry = self._verified.get(digest)
            if entry is None:
                return None
            uid, until = entry
            if self.clock() > until:
                del self._verified[digest]
                return None
            self._verified.move_to_end(digest)
            return uid

    def _remember(self, digest: bytes, uid: str, expires: object) -> None:
        if not isinstance(expires, int | float):
            return
        # firebase-admin accepts a token until `exp` + the tolerated skew.
        until = min(expires + CLOCK_SKEW_SECONDS, self.clock() + VERIFIED_CACHE_SECONDS)
        with self._verified_lock:
            self._verified[digest] = (uid, until)
            self._verified.move_to_end(digest)
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)

    def _check_emulator_environment(self) -> None:
        current = os.environ.get(EMULATOR_ENV, "")
        if self.emulator_host:
            if current != self.emulator_host:
                os.environ[EMULATOR_ENV] = self.emulator_host
        elif current:
            # firebase-admin would skip the signature check of every token: fail closed.
            logger.error("%s=%r is in the environment but not in the settings of this "
                         "verifier; refusing to verify tokens", EMULATOR_ENV, current)
            raise Unauthenticated(MESSAGE_EMULATOR_CONFLICT)


# Runs of token-like characters (base64url, a JWT's dots): long enough to be token material.
_TOKENISH = re.compile(r"[A-Za-z0-9_\-+/=.]{16,}")


def _without_token(error: BaseException, token: str) -> str:
    """An error's message with the token, each of its segments and anything token-like cut."""
    message = str(error)
    for part in sorted({token, token.strip(), *token.split(".")}, key=len, reverse=True):
        if len(part) >= 4:
            message = message.replace(part, "<token>")
    return _TOKENISH.sub("<redacted>", message)


def _use_certs_url(app: firebase_admin.App, url: str) -> None:
    """Make the app fetch ID-token certificates from `url` (FIREBASE_CERTS_URL, test/dev only).

    firebase-admin has no option for it: the URL is an attribute of the ID-token `_JWTVerifier`
    of the app's auth client (firebase_admin 7.x private API; tests/accounts/test_tokens.py
    fails if it moves)."""
    from firebase_admin import auth

    client = auth._get_client(app)  # the app's cached auth.Client
    client._token_verifier.id_token_verifier.cert_url = url


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when no header was sent."""
    if header_value is None or not header_value.strip():
        return None
    parts = header_value.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise Unauthenticated(MESSAGE_BAD_HEADER)
    return parts[1]
