"""registerDevice / unregisterDevice / me.devices over HTTP with real tokens, on both stores."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.core.clock import utcnow
from backend.notify.devices import MAX_DEVICES_PER_USER, prune_devices
from backend.notify.models import Device
from tests.booking.conftest import OTHER_RESIDENT, RESIDENT, STAFF, World
from tests.helpers import operation

REGISTER = operation("RegisterDevice")
UNREGISTER = operation("UnregisterDevice")
MINE = operation("MyNotifications")
FCM_TOKEN = "dGVzdC1mY20tdG9rZW4:APA91bH" + "x" * 140


def _devices(world: World) -> list[tuple[str, str, str, str | None]]:
    with world.session() as session:
        return [(row.token, row.uid, row.platform, row.locale) for row in
                session.scalars(select(Device).order_by(Device.token))]


def _register(world: World, uid: str | None, token: str = FCM_TOKEN, platform: str = "ANDROID",
              locale: str | None = "zh-CN") -> dict:
    return world.gql(REGISTER, {"token": token, "platform": platform, "locale": locale}, uid=uid)


def test_register_device__new_token__listed_in_me_devices(world: World):
    # when
    payload = _register(world, RESIDENT)["data"]["registerDevice"]
    # then
    assert payload["errors"] == []
    assert payload["device"]["token"] == FCM_TOKEN
    assert payload["device"]["platform"] == "ANDROID" and payload["device"]["locale"] == "zh-CN"
    me = world.gql(MINE, uid=RESIDENT)["data"]["me"]
    assert [(d["token"], d["platform"]) for d in me["devices"]] == [(FCM_TOKEN, "ANDROID")]
    assert world.gql(MINE, uid=OTHER_RESIDENT)["data"]["me"]["devices"] == []


def test_register_device__same_token_again__one_row_refreshed(world: World):
    _register(world, RESIDENT, locale="zh-CN")
    with world.session() as session:
        session.execute(update(Device).values(last_seen_at=utcnow() - timedelta(days=30)))
    # when
    payload = _register(world, RESIDENT, platform="IOS", locale="en")["data"]["registerDevice"]
    # then
    assert _devices(world) == [(FCM_TOKEN, RESIDENT, "ios", "en")]
    with world.session() as session:
        seen = session.scalar(select(Device.last_seen_at))
    assert utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    assert payload["device"]["lastSeenAt"] is not None


def test_register_device__token_of_another_user__moves_to_the_caller(world: World):
    _register(world, RESIDENT)
    # when
    payload = _register(world, OTHER_RESIDENT)["data"]["registerDevice"]
    # then
    assert payload["errors"] == []
    assert _devices(world) == [(FCM_TOKEN, OTHER_RESIDENT, "android", "zh-CN")]
    assert world.gql(MINE, uid=RESIDENT)["data"]["me"]["devices"] == []


def test_register_device__staff_member__registers_like_a_resident(world: World):
    payload = _register(world, STAFF, platform="WEB", locale=None)["data"]["registerDevice"]
    assert payload["errors"] == [] and payload["device"]["platform"] == "WEB"
    assert _devices(world) == [(FCM_TOKEN, STAFF, "web", None)]


def test_register_device__beyond_the_per_user_limit__least_recently_seen_go(world: World):
    base = utcnow() - timedelta(days=1)
    with world.session() as session:
        session.add_all(Device(token=f"old-{n:02d}", uid=RESIDENT, platform="android",
                               created_at=base, last_seen_at=base + timedelta(minutes=n))
                        for n in range(MAX_DEVICES_PER_USER))
        session.add(Device(token="other-user", uid=OTHER_RESIDENT, platform="ios",
                           created_at=base, last_seen_at=base))
    # when
    _register(world, RESIDENT, token="newest")
    # then: the oldest of RESIDENT's went, the other user's stays
    tokens = {token for token, uid, *_ in _devices(world) if uid == RESIDENT}
    assert len(tokens) == MAX_DEVICES_PER_USER
    assert "old-00" not in tokens and {"newest", "old-01", "old-09"} <= tokens
    assert ("other-user", OTHER_RESIDENT, "ios", None) in _devices(world)


@pytest.mark.parametrize(("token", "locale", "field"), [
    ("", "zh-CN", "token"),
    ("has space", "zh-CN", "token"),
    ("令牌", "zh-CN", "token"),
    ("x" * 1025, "zh-CN", "token"),
    ("tab\there", "zh-CN", "token"),
    (FCM_TOKEN, "zh_CN!", "locale"),
    (FCM_TOKEN, "", "locale"),
    (FCM_TOKEN, "z" * 40, "locale"),
])
def test_register_device__bad_input__invalid_input_nothing_changed(world: World, token, locale,
                                                                   field):
    _register(world, RESIDENT, token="kept-token")
    before = _devices(world)
    # when
    payload = _register(world, RESIDENT, token=token, locale=locale)["data"]["registerDevice"]
    # then
    assert payload["device"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert payload["errors"][0]["message"]
    assert _devices(world) == before


def test_register_device__unknown_platform__graphql_validation_error(world: World):
    body = _register(world, RESIDENT, platform="SYMBIAN")
    assert body.get("data") is None and "SYMBIAN" in body["errors"][0]["message"]
    assert _devices(world) == []


def test_device_operations__anonymous__unauthenticated_nothing_changed(world: World):
    _register(world, RESIDENT)
    before = _devices(world)
    for query, variables in ((REGISTER, {"token": "anon", "platform": "IOS"}),
                             (UNREGISTER, {"token": FCM_TOKEN})):
        body = world.gql(query, variables, uid=None)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert world.gql(MINE, uid=None)["data"]["me"] is None
    assert _devices(world) == before


def test_unregister_device__own_token__removed(world: World):
    _register(world, RESIDENT)
    _register(world, RESIDENT, token="second")
    # when
    payload = world.gql(UNREGISTER, {"token": FCM_TOKEN}, uid=RESIDENT)["data"]
    # then
    assert payload["unregisterDevice"] == {"device": {"token": FCM_TOKEN, "platform": "ANDROID"},
                                           "errors": []}
    assert _devices(world) == [("second", RESIDENT, "android", "zh-CN")]


@pytest.mark.parametrize("token", [FCM_TOKEN, "never-registered", ""])
def test_unregister_device__someone_elses_or_unknown_token__refused_nothing_changed(
        world: World, token):
    _register(world, RESIDENT)
    before = _devices(world)
    # when
    payload = world.gql(UNREGISTER, {"token": token}, uid=OTHER_RESIDENT)["data"]
    # then
    errors = payload["unregisterDevice"]["errors"]
    assert payload["unregisterDevice"]["device"] is None
    assert [e["code"] for e in errors] == ["INVALID_INPUT" if not token else "NOT_FOUND"]
    assert _devices(world) == before


def test_prune_devices__unseen_for_the_ttl__removed_others_kept(world: World):
    now = utcnow()
    with world.session() as session:
        for token, age in (("fresh", 0), ("59-days", 59), ("61-days", 61), ("a-year", 365)):
            seen = now - timedelta(days=age)
            session.add(Device(token=token, uid=RESIDENT, platform="android",
                               created_at=seen, last_seen_at=seen))
    # when
    with world.session() as session:
        removed = prune_devices(session, timedelta(days=60), now)
    # then
    assert removed == 2
    assert [token for token, *_ in _devices(world)] == ["59-days", "fresh"]


def test_register_device__many_users_race_for_one_token__one_row_owned_by_one(world: World):
    users = [f"racer-{n}" for n in range(12)]
    headers = {uid: world.headers(uid) for uid in users}
    barrier = threading.Barrier(len(users))
    answers: dict[str, dict] = {}

    def register(uid: str) -> None:
        client = world.app.test_client()
        barrier.wait()
        response = client.post("/graphql", json={"query": REGISTER, "variables": {
            "token": "contested", "platform": "ANDROID"}}, headers=headers[uid])
        answers[uid] = response.get_json()

    threads = [threading.Thread(target=register, args=(uid,)) for uid in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: every call succeeded, and the token has exactly one owner among them
    assert all(body["data"]["registerDevice"]["errors"] == [] for body in answers.values())
    rows = _devices(world)
    assert len(rows) == 1 and rows[0][0] == "contested" and rows[0][1] in users


def test_register_device__one_user_races_from_many_phones__every_call_answered(world: World):
    # 8 threads of one user, each registering tokens of its own (and one shared), more of
    # them than a user may keep: the oldest go, and no call fails.
    threads_count, rounds = 8, 40
    headers = world.headers(RESIDENT)
    barrier = threading.Barrier(threads_count)
    answers: list[dict] = []

    def register(n: int) -> None:
        client = world.app.test_client()
        barrier.wait()
        for round_ in range(rounds):
            token = "shared" if round_ % 3 == 0 else f"phone-{n}-{round_}"
            response = client.post("/graphql", json={"query": REGISTER, "variables": {
                "token": token, "platform": "ANDROID"}}, headers=headers)
            answers.append(response.get_json())

    threads = [threading.Thread(target=register, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == threads_count * rounds
    failed = [body for body in answers
              if "errors" in body or body["data"]["registerDevice"]["errors"] != []]
    assert failed == []
    rows = _devices(world)
    assert 1 <= len(rows) <= MAX_DEVICES_PER_USER
    assert {uid for _, uid, *_ in rows} == {RESIDENT}
