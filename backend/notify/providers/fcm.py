"""Firebase Cloud Messaging through firebase-admin (`messaging.send_each`, ≤ 500 per call).

Credentials: the service-account file named by GOOGLE_APPLICATION_CREDENTIALS (else Google's
Application Default Credentials); project: FIREBASE_PROJECT_ID. FCM_ENDPOINT replaces
https://fcm.googleapis.com (an egress proxy; the tests' fake FCM).

Retries belong to the dispatcher (backoff across workers, Retry-After, a lease that must outlive
a send): firebase-admin's own HTTP retries of 500/503 are turned off, and so are retries of a
read that failed after the request went out, which could deliver a message twice."""

from __future__ import annotations

import hashlib
import threading
import warnings
from datetime import timedelta

import firebase_admin
import requests
from firebase_admin import credentials, exceptions, messaging
from urllib3.util.retry import Retry

from backend.accounts.tokens import check_service_account_file
from backend.config import ConfigError, Settings
from backend.core.clock import utcnow
from backend.notify.providers.base import Outcome, PushMessage, PushResult

DEFAULT_ENDPOINT = "https://fcm.googleapis.com"
# A connection that was never made sent nothing: one more try is safe. Nothing else is retried.
NO_SEND_RETRIES = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0,
                        raise_on_status=False)
# Default lifetime of a push nobody's phone could take yet (FCM's own default is 4 weeks).
DEFAULT_TTL = timedelta(days=1)
MIN_TTL = timedelta(seconds=60)

TOKEN_GONE = (messaging.UnregisteredError, messaging.SenderIdMismatchError)
# A broken APNs key (ThirdPartyAuthError) is ours to fix, not the message's fault: retried, so
# what is queued waits for the fix instead of dying at once.
TRANSIENT = (messaging.QuotaExceededError, messaging.ThirdPartyAuthError,
             exceptions.UnavailableError, exceptions.InternalError,
             exceptions.DeadlineExceededError, exceptions.UnknownError)

_init_lock = threading.Lock()


class FcmProvider:
    name = "fcm"
    max_batch = 500

    def __init__(self, app: firebase_admin.App, endpoint: str | None = None) -> None:
        self.app = app
        service = messaging._get_messaging_service(app)
        base = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        # firebase-admin 7.x has no option for the endpoint or the retries: both are private
        # attributes of its messaging service (tests/notify fail if an upgrade moves them).
        service._fcm_url = f"{base}/v1/projects/{app.project_id}/messages:send"
        # send_each sends a batch on one thread per message: a connection for each of them.
        adapter = requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=self.max_batch,
                                                max_retries=NO_SEND_RETRIES)
        session = service._client.session
        for prefix in {base + "/", DEFAULT_ENDPOINT + "/"}:
            session.mount(prefix, adapter)

    @classmethod
    def from_settings(cls, settings: Settings) -> FcmProvider:
        path = settings.google_application_credentials
        if path:
            check_service_account_file(path)
        key = "\n".join([settings.firebase_project_id or "", path or "",
                         settings.fcm_endpoint or "", str(settings.notify_http_timeout_seconds)])
        name = f"servicemap-push-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        with _init_lock:
            try:
                app = firebase_admin.get_app(name)
            except ValueError:
                credential = (credentials.Certificate(path) if path
                              else credentials.ApplicationDefault())
                options = {"httpTimeout": settings.notify_http_timeout_seconds}
                if settings.firebase_project_id:
                    options["projectId"] = settings.firebase_project_id
                app = firebase_admin.initialize_app(credential, options, name=name)
        if not app.project_id:
            raise ConfigError("PUSH_PROVIDER=fcm needs FIREBASE_PROJECT_ID "
                              "(or a service-account file that names its project)")
        return cls(app, settings.fcm_endpoint)

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        if not messages:
            return []
        batch = messaging.send_each([fcm_message(message) for message in messages], app=self.app)
        return [result_of(response) for response in batch.responses]

    def close(self) -> None:
        pass  # the app is shared by providers of the same settings


def fcm_message(message: PushMessage) -> messaging.Message:
    """One FCM message with the platform options set for an appointment notice."""
    ttl = max(message.ttl or DEFAULT_TTL, MIN_TTL)
    expires = int((utcnow() + ttl).timestamp())
    collapse = message.collapse_key
    with warnings.catch_warnings():
        # firebase-admin 7.7 deprecates Message.token for Message.fid (a Firebase installation
        # id); the apps register FCM registration tokens, which the v1 API takes as "token".
        warnings.simplefilter("ignore", DeprecationWarning)
        return _message(message, collapse, ttl, expires)


def _message(message: PushMessage, collapse: str | None, ttl: timedelta,
             expires: int) -> messaging.Message:
    return messaging.Message(
        token=message.token,
        notification=messaging.Notification(title=message.title, body=message.body),
        data={**message.data, "notificationId": str(message.notification_id)},
        android=messaging.AndroidConfig(
            priority="high" if message.high_priority else "normal",
            ttl=ttl, collapse_key=collapse,
            notification=messaging.AndroidNotification(tag=collapse,
                                                       channel_id="appointments"),
        ),
        apns=messaging.APNSConfig(
            headers={
                "apns-priority": "10" if message.high_priority else "5",
                "apns-expiration": str(expires),
                "apns-push-type": "alert",
                **({"apns-collapse-id": collapse[:64]} if collapse else {}),
            },
            payload=messaging.APNSPayload(aps=messaging.Aps(sound="default",
                                                            thread_id=collapse)),
        ),
        webpush=messaging.WebpushConfig(
            headers={
                "TTL": str(int(ttl.total_seconds())),
                "Urgency": "high" if message.high_priority else "normal",
                # Web push topics: at most 32 URL-safe characters.
                **({"Topic": hashlib.sha256(collapse.encode()).hexdigest()[:32]}
                   if collapse else {}),
            },
        ),
    )


def result_of(response: messaging.SendResponse) -> PushResult:
    if response.success:
        return PushResult.sent(response.message_id)
    error = response.exception
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, TOKEN_GONE):
        return PushResult(Outcome.TOKEN_GONE, error=text)
    if isinstance(error, TRANSIENT):
        return PushResult(Outcome.RETRY, error=text, retry_after=_retry_after(error))
    # InvalidArgumentError and the rest (auth of the sender, permission, not found): the
    # message or our configuration is wrong; sending it again would fail again.
    return PushResult(Outcome.REJECTED, error=text)


def _retry_after(error: exceptions.FirebaseError) -> float | None:
    response = getattr(error, "http_response", None)
    value = None if response is None else response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare for FCM; the dispatcher's backoff applies
