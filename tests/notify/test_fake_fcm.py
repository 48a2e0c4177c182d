"""The fake FCM server is faithful enough: the real firebase-admin (and google-auth's service
account flow) talks to it and maps its answers to the same exceptions as real FCM's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import firebase_admin
import jwt
import pytest
import requests
import urllib3
from firebase_admin import credentials, exceptions, messaging

from tests.notify.fake_fcm import (
    INTERNAL,
    INVALID_ARGUMENT,
    OK,
    SENDER_ID_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    FakeFcm,
    Reply,
    quota_exceeded,
    slow,
)

# The helper's fixtures, bound here so that pytest finds them.

# firebase-admin 7.7 deprecates Message.token (for Message.fid); the tests still use it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Message.token is deprecated:DeprecationWarning")


def make_app(fake: FakeFcm, directory: Path, http_timeout: float) -> firebase_admin.App:
    """A firebase-admin app whose messaging service sends to `fake`, without status retries."""
    cred = credentials.Certificate(str(fake.service_account_file(directory)))
    app = firebase_admin.initialize_app(
        cred, {"projectId": fake.project_id, "httpTimeout": http_timeout},
        name=f"fake-fcm-{uuid.uuid4().hex}",
    )
    service = messaging._get_messaging_service(app)
    service._fcm_url = fake.base_url + fake.send_path
    no_status_retries = urllib3.util.retry.Retry(
        total=1, connect=1, read=0, status=0, redirect=0, raise_on_status=False)
    # Pool sizes as firebase-admin's own adapter for https://fcm.googleapis.com.
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=100, pool_maxsize=100, max_retries=no_status_retries)
    service._client.session.mount(fake.base_url, adapter)
    return app


@pytest.fixture(scope="module")
def app(fake_fcm_server: FakeFcm, tmp_path_factory) -> Iterator[firebase_admin.App]:
    app = make_app(fake_fcm_server, tmp_path_factory.mktemp("fcm"), http_timeout=5)
    yield app
    firebase_admin.delete_app(app)


@pytest.fixture(scope="module")
def impatient_app(fake_fcm_server: FakeFcm, tmp_path_factory) -> Iterator[firebase_admin.App]:
    app = make_app(fake_fcm_server, tmp_path_factory.mktemp("fcm"), http_timeout=0.5)
    yield app
    firebase_admin.delete_app(app)


def message(token: str, title: str = "Hello") -> messaging.Message:
    return messaging.Message(token=token, notification=messaging.Notification(title=title))


def send_one(app: firebase_admin.App, msg: messaging.Message) -> messaging.SendResponse:
    batch = messaging.send_each([msg], app=app)
    assert len(batch.responses) == 1
    return batch.responses[0]


def failure(app: firebase_admin.App, fake: FakeFcm, reply: Reply) -> exceptions.FirebaseError:
    fake.plan("tok-fail", reply)
    response = send_one(app, message("tok-fail"))
    assert not response.success and response.message_id is None
    assert isinstance(response.exception, exceptions.FirebaseError)
    assert [r.reply for r in fake.requests] == [reply]
    assert fake.delivered() == []
    return response.exception


# -- success ----------------------------------------------------------------------------------


def test_success_returns_the_fake_name_and_records_the_message(app, fake_fcm):
    msg = messaging.Message(
        token="tok-1",
        notification=messaging.Notification(title="Booking confirmed", body="Tomorrow 9:00"),
        data={"booking_id": "42"},
        android=messaging.AndroidConfig(priority="high", collapse_key="booking-42", ttl=3600),
        apns=messaging.APNSConfig(
            headers={"apns-priority": "10"},
            payload=messaging.APNSPayload(aps=messaging.Aps(badge=3, sound="default")),
        ),
    )
    batch = messaging.send_each([msg], app=app)

    assert batch.success_count == 1 and batch.failure_count == 0
    [received] = fake_fcm.requests
    assert received.reply == OK and received.token == "tok-1"
    assert batch.responses[0].message_id == received.name
    assert received.name.startswith(f"projects/{fake_fcm.project_id}/messages/0:")
    [sent] = fake_fcm.delivered("tok-1")
    assert sent["notification"] == {"title": "Booking confirmed", "body": "Tomorrow 9:00"}
    assert sent["data"] == {"booking_id": "42"}
    assert sent["android"] == {"priority": "high", "collapse_key": "booking-42", "ttl": "3600s"}
    assert sent["apns"]["headers"] == {"apns-priority": "10"}
    assert sent["apns"]["payload"]["aps"] == {"badge": 3, "sound": "default"}
    assert fake_fcm.delivered("another-token") == []


def test_message_names_are_unique(app, fake_fcm):
    batch = messaging.send_each([message("tok-a"), message("tok-a"), message("tok-b")], app=app)
    names = [r.message_id for r in batch.responses]
    assert batch.success_count == 3 and len(set(names)) == 3
    assert sorted(names) == sorted(r.name for r in fake_fcm.requests)


def test_dry_run_is_answered_but_not_delivered(app, fake_fcm):
    response = messaging.send_each([message("tok-dry")], dry_run=True, app=app).responses[0]
    assert response.success
    assert response.message_id == f"projects/{fake_fcm.project_id}/messages/fake_message_id"
    assert [r.validate_only for r in fake_fcm.requests] == [True]
    assert fake_fcm.delivered() == []


def test_fid_targets_are_treated_like_tokens(app, fake_fcm):
    fake_fcm.plan("fid-1", UNREGISTERED)
    msg = messaging.Message(fid="fid-1", data={"k": "v"})
    assert isinstance(send_one(app, msg).exception, messaging.UnregisteredError)
    assert send_one(app, msg).success
    assert fake_fcm.delivered("fid-1") == [{"fid": "fid-1", "data": {"k": "v"}}]


def test_topic_messages_go_through_the_script(app, fake_fcm):
    seen = []
    fake_fcm.script = lambda msg: seen.append(msg) or INTERNAL
    response = send_one(app, messaging.Message(topic="news", data={"k": "v"}))
    assert isinstance(response.exception, exceptions.InternalError)
    assert seen == [{"topic": "news", "data": {"k": "v"}}]
    assert fake_fcm.requests[0].token is None


# -- FCM errors map to firebase-admin's exceptions --------------------------------------------


def test_unregistered(app, fake_fcm):
    error = failure(app, fake_fcm, UNREGISTERED)
    assert isinstance(error, messaging.UnregisteredError)
    assert error.code == exceptions.NOT_FOUND
    assert error.http_response.status_code == 404
    assert str(error) == "Requested entity was not found."


def test_sender_id_mismatch(app, fake_fcm):
    error = failure(app, fake_fcm, SENDER_ID_MISMATCH)
    assert isinstance(error, messaging.SenderIdMismatchError)
    assert error.code == exceptions.PERMISSION_DENIED


def test_invalid_argument(app, fake_fcm):
    error = failure(app, fake_fcm, INVALID_ARGUMENT)
    assert type(error) is exceptions.InvalidArgumentError
    assert "not a valid FCM registration token" in str(error)


def test_quota_exceeded_carries_retry_after(app, fake_fcm):
    error = failure(app, fake_fcm, quota_exceeded(7))
    assert isinstance(error, messaging.QuotaExceededError)
    assert error.code == exceptions.RESOURCE_EXHAUSTED
    assert error.http_response.status_code == 429
    assert error.http_response.headers["Retry-After"] == "7"


def test_quota_exceeded_without_retry_after(app, fake_fcm):
    error = failure(app, fake_fcm, quota_exceeded(None))
    assert isinstance(error, messaging.QuotaExceededError)
    assert "Retry-After" not in error.http_response.headers


def test_internal(app, fake_fcm):
    error = failure(app, fake_fcm, INTERNAL)  # exactly one request: no retry with our adapter
    assert type(error) is exceptions.InternalError
    assert error.http_response.status_code == 500


def test_unavailable(app, fake_fcm):
    error = failure(app, fake_fcm, UNAVAILABLE)
    assert type(error) is exceptions.UnavailableError
    assert error.http_response.status_code == 503


def test_timeout_is_deadline_exceeded(impatient_app, fake_fcm):
    fake_fcm.plan("tok-slow", slow(2))
    response = send_one(impatient_app, message("tok-slow"))
    assert not response.success
    assert type(response.exception) is exceptions.DeadlineExceededError
    assert isinstance(response.exception.cause, requests.exceptions.ReadTimeout)
    assert response.exception.http_response is None
    assert fake_fcm.requests == []  # the fake has not answered yet (and reset() drops it)


def test_a_slow_reply_within_the_timeout_succeeds(app, fake_fcm):
    fake_fcm.plan("tok-slowish", slow(0.2))
    response = send_one(app, message("tok-slowish"))
    assert response.success
    assert [r.reply.delay for r in fake_fcm.requests] == [0.2]


# -- scripting --------------------------------------------------------------------------------


def test_plan_is_consumed_in_order_then_always_then_ok(app, fake_fcm):
    fake_fcm.plan("tok-p", UNAVAILABLE, quota_exceeded(3))
    fake_fcm.plan("tok-p", UNREGISTERED)  # appends
    outcomes = [send_one(app, message("tok-p")) for _ in range(4)]
    assert [type(o.exception) for o in outcomes] == [
        exceptions.UnavailableError, messaging.QuotaExceededError, messaging.UnregisteredError,
        type(None)]
    fake_fcm.always("tok-p", SENDER_ID_MISMATCH)
    fake_fcm.plan("tok-p", OK)
    assert send_one(app, message("tok-p")).success
    assert isinstance(send_one(app, message("tok-p")).exception, messaging.SenderIdMismatchError)
    assert isinstance(send_one(app, message("tok-p")).exception, messaging.SenderIdMismatchError)
    assert len(fake_fcm.requests) == 7 and len(fake_fcm.delivered("tok-p")) == 2


def test_script_sees_the_message_and_none_means_ok(app, fake_fcm):
    fake_fcm.script = lambda msg: UNREGISTERED if msg["token"].startswith("dead") else None
    fake_fcm.always("dead-but-always-ok", OK)
    batch = messaging.send_each(
        [message("dead-1"), message("alive"), message("dead-but-always-ok")], app=app)
    assert [r.success for r in batch.responses] == [False, True, True]
    assert isinstance(batch.responses[0].exception, messaging.UnregisteredError)
    assert sorted(m["token"] for m in fake_fcm.delivered()) == ["alive", "dead-but-always-ok"]


def test_reset_clears_records_and_scripts(app, fake_fcm):
    fake_fcm.plan("tok-r", UNREGISTERED)
    fake_fcm.always("tok-r2", UNREGISTERED)
    fake_fcm.script = lambda msg: INTERNAL
    send_one(app, message("tok-other"))
    fake_fcm.reset()
    assert fake_fcm.requests == [] and fake_fcm.script is None
    assert messaging.send_each([message("tok-r"), message("tok-r2")], app=app).success_count == 2


# -- authentication ---------------------------------------------------------------------------


def test_oauth_token_endpoint_is_used_and_forged_tokens_are_rejected(app, fake_fcm):
    assert send_one(app, message("tok-auth")).success
    assert fake_fcm.token_requests >= 1
    session_token = messaging._get_messaging_service(app)._credential.token
    assert session_token.startswith("fake-access-")

    url = fake_fcm.base_url + fake_fcm.send_path
    body = {"message": {"token": "tok-forged"}}
    forged = requests.post(url, json=body, timeout=5,
                           headers={"Authorization": "Bearer fake-access-999999"})
    assert forged.status_code == 401
    assert forged.json()["error"]["status"] == "UNAUTHENTICATED"
    assert requests.post(url, json=body, timeout=5).status_code == 401
    assert fake_fcm.delivered("tok-forged") == []

    genuine = requests.post(url, json=body, timeout=5,
                            headers={"Authorization": f"Bearer {session_token}"})
    assert genuine.status_code == 200
    assert genuine.json()["name"].startswith(f"projects/{fake_fcm.project_id}/messages/")


def test_a_401_makes_google_auth_refresh_the_token_and_resend_twice(app, fake_fcm):
    fake_fcm.always("tok-401", Reply(401))
    before = fake_fcm.token_requests
    response = send_one(app, message("tok-401"))
    assert type(response.exception) is exceptions.UnauthenticatedError
    # google-auth's AuthorizedSession: refresh on 401, at most 2 times -> 3 sends, 2 refreshes.
    assert len(fake_fcm.requests) == 3
    assert fake_fcm.token_requests == before + 2


def test_token_endpoint_rejects_a_foreign_signature(fake_fcm):
    other = FakeFcm(fake_fcm.project_id)  # another key, same key id shape; not started
    other.private_key_id = fake_fcm.private_key_id
    assertion = jwt.encode(
        {"iss": fake_fcm.client_email, "aud": fake_fcm.token_uri, "iat": 1, "exp": 2**31},
        other.key, algorithm="RS256", headers={"kid": fake_fcm.private_key_id})
    before = fake_fcm.token_requests
    answer = requests.post(fake_fcm.token_uri, timeout=5, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert fake_fcm.token_requests == before + 1


def test_wrong_project_and_malformed_requests(app, fake_fcm):
    send_one(app, message("tok-warmup"))
    headers = {"Authorization": f"Bearer {messaging._get_messaging_service(app)._credential.token}"}
    url = fake_fcm.base_url + fake_fcm.send_path
    wrong = requests.post(fake_fcm.base_url + "/v1/projects/other/messages:send",
                          json={"message": {"token": "t"}}, headers=headers, timeout=5)
    assert wrong.status_code == 404 and wrong.json()["error"]["status"] == "NOT_FOUND"
    for body in (b"{not json", b'{"message": {}}', b'{"message": {"token": "t", "topic": "x"}}'):
        bad = requests.post(url, data=body, timeout=5,
                            headers={**headers, "Content-Type": "application/json"})
        assert bad.status_code == 400, body
        assert bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert [r.token for r in fake_fcm.requests] == ["tok-warmup"]


# -- concurrency ------------------------------------------------------------------------------


def test_a_batch_of_500(app, fake_fcm):
    tokens = [f"tok-{i:03d}" for i in range(500)]
    batch = messaging.send_each([message(t) for t in tokens], app=app)
    assert batch.success_count == 500, [r.exception for r in batch.responses if not r.success][:3]
    assert {r.token for r in fake_fcm.requests} == set(tokens)
    assert len({r.message_id for r in batch.responses}) == 500
