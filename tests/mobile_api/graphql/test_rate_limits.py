"""Rate limits against the real Redis on 127.0.0.1:6379 (each test its own key prefix), over
HTTP with real tokens, on both stores: 429 + Retry-After + RATE_LIMITED, budgets per user and
per address, recovery after the window, X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

import pytest
import redis
from flask import Flask

from backend.app import create_app
from tests.booking.conftest import OTHER_RESIDENT, RESIDENT, World
from tests.helpers import counting_statements, error_codes, operation
from tests.mobile_api.graphql.test_bad_input import assert_graphql_refusal

REDIS_URL = "redis://127.0.0.1:6379/0"
SEARCH = "{ places(first: 1) { edges { node { id } } } }"
REGIONS = "{ regions(level: PROVINCE) { code } }"


@pytest.fixture
def limited(world: World) -> Callable[..., Flask]:
    """Apps on the world's database with rate limits on, counters in Redis under a prefix of
    this test's own; the keys are removed afterwards."""
    prefix = f"servicemap-test-{uuid.uuid4().hex[:12]}"
    apps: list[Flask] = []

    def make(**budgets: str) -> Flask:
        settings = dataclasses.replace(
            world.services.settings, rate_limits_enabled=True, rate_limit_storage_uri=REDIS_URL,
            rate_limit_key_prefix=prefix, **budgets)
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    for app in apps:
        app.extensions["servicemap"].engine.dispose()


def send(app: Flask, world: World, query: str, uid: str | None = None,
         variables: dict | None = None, headers: dict | None = None,
         address: str = "127.0.0.1"):  # noqa: ANN201
    return app.test_client().post(
        "/graphql", json={"query": query, "variables": variables or {}},
        headers={**world.headers(uid), **(headers or {})},
        environ_base={"REMOTE_ADDR": address})


def assert_limited(response) -> int:  # noqa: ANN001
    assert response.status_code == 429, response.get_data(as_text=True)
    body = assert_graphql_refusal(response, "RATE_LIMITED")
    seconds = int(response.headers["Retry-After"])
    assert seconds >= 1
    assert f"{seconds} 秒后重试" in body["errors"][0]["message"]
    return seconds


def test_rate_limits__search_budget__429_then_recovers_after_the_window(limited, world) -> None:
    app = limited(rate_limit_search="3/2second")
    for _ in range(3):
        assert send(app, world, SEARCH).status_code == 200
    with counting_statements(app) as statements:
        seconds = assert_limited(send(app, world, SEARCH))
    assert statements == []  # refused before the search ran
    assert seconds <= 2
    # other operations keep their own budget
    assert send(app, world, REGIONS).status_code == 200
    time.sleep(seconds + 0.1)
    assert send(app, world, SEARCH).status_code == 200


def test_rate_limits__signed_in_users_and_addresses_have_budgets_of_their_own(limited, world
                                                                               ) -> None:
    app = limited(rate_limit_search="2/minute")
    for _ in range(2):
        assert send(app, world, SEARCH, uid=RESIDENT).status_code == 200
    assert_limited(send(app, world, SEARCH, uid=RESIDENT))
    # another user from the same address, and the address itself when anonymous
    assert send(app, world, SEARCH, uid=OTHER_RESIDENT).status_code == 200
    assert send(app, world, SEARCH).status_code == 200
    assert send(app, world, SEARCH, address="127.0.0.2").status_code == 200


def test_rate_limits__counters_are_shared_by_every_worker(limited, world) -> None:
    # Two apps (two workers, or two hosts) on one Redis: one budget.
    first, second = limited(rate_limit_search="3/minute"), limited(rate_limit_search="3/minute")
    assert send(first, world, SEARCH).status_code == 200
    assert send(second, world, SEARCH).status_code == 200
    assert send(first, world, SEARCH).status_code == 200
    assert_limited(send(second, world, SEARCH))


def test_rate_limits__every_request_per_address(limited, world) -> None:
    app = limited(rate_limit_default="4/minute")
    for _ in range(4):
        assert send(app, world, REGIONS).status_code == 200
    assert_limited(send(app, world, REGIONS))
    assert_limited(app.test_client().get("/graphql", query_string={"query": REGIONS}))
    assert send(app, world, REGIONS, address="127.0.0.9").status_code == 200


def test_rate_limits__refused_tokens_then_tokens_refused_unverified(limited, world) -> None:
    app = limited(rate_limit_auth_failures="3/minute")
    bad = {"Authorization": "Bearer not-a-token"}
    for _ in range(3):
        response = send(app, world, "{ me { uid } }", headers=bad)
        assert error_codes(response.get_json()) == ["UNAUTHENTICATED"]
    assert_limited(send(app, world, "{ me { uid } }", headers=bad))
    # even a good token from that address waits; anonymous requests and other addresses don't
    assert_limited(send(app, world, "{ me { uid } }", uid=RESIDENT))
    assert send(app, world, REGIONS).status_code == 200
    assert send(app, world, "{ me { uid } }", uid=RESIDENT, address="127.0.0.3"
                ).get_json()["data"]["me"]["uid"] == RESIDENT


def test_rate_limits__booking_per_user_and_per_address(limited, world) -> None:
    app = limited(rate_limit_booking="2/minute", rate_limit_booking_per_ip="3/minute")
    book = operation("BookAppointment")

    def attempt(uid: str, key: str, address: str = "127.0.0.1"):  # noqa: ANN202
        return send(app, world, book, uid=uid, address=address, variables={
            "slotId": str(world.slots["a1-0900"]), "serviceItemId": str(world.item),
            "idempotencyKey": key})

    assert attempt(RESIDENT, "k1").status_code == 200
    assert attempt(RESIDENT, "k2").status_code == 200
    assert_limited(attempt(RESIDENT, "k3"))
    # fresh identities from one address: the address's budget stops them
    assert attempt(OTHER_RESIDENT, "k4").status_code == 200
    assert_limited(attempt("fresh-identity-1", "k5"))
    assert attempt("fresh-identity-2", "k6", address="127.0.0.4").status_code == 200


def test_rate_limits__device_registration(limited, world) -> None:
    app = limited(rate_limit_devices="2/minute")
    register = operation("RegisterDevice")
    for n in range(2):
        assert send(app, world, register, uid=RESIDENT,
                    variables={"token": f"t{n}", "platform": "ANDROID"}).status_code == 200
    assert_limited(send(app, world, register, uid=RESIDENT,
                        variables={"token": "t9", "platform": "ANDROID"}))


def test_rate_limits__reports_per_user(limited, world) -> None:
    # a second report of the same place is refused in the payload, and still spends the budget
    app = limited(rate_limit_reports="2/minute")
    report = operation("ReportPlaceIssue")

    def attempt(uid: str):  # noqa: ANN202
        return send(app, world, report, uid=uid,
                    variables={"placeId": str(world.hall_a), "reason": "CLOSED"})

    assert attempt(RESIDENT).status_code == 200
    assert attempt(RESIDENT).status_code == 200
    assert_limited(attempt(RESIDENT))
    assert attempt(OTHER_RESIDENT).status_code == 200


@pytest.mark.parametrize(("proxies", "same_budget"), [("", True), ("127.0.0.1", False)],
                         ids=["untrusted-header-ignored", "trusted-proxy"])
def test_rate_limits__forwarded_for_only_from_trusted_proxies(limited, world, proxies: str,
                                                             same_budget: bool) -> None:
    app = limited(rate_limit_search="1/minute", rate_limit_trusted_proxies=proxies)
    first = send(app, world, SEARCH, headers={"X-Forwarded-For": "203.0.113.7"})
    assert first.status_code == 200
    second = send(app, world, SEARCH, headers={"X-Forwarded-For": "203.0.113.8"})
    assert second.status_code == (429 if same_budget else 200)


def test_rate_limits__spoofed_forwarded_chain_counts_the_address_the_proxy_saw(limited, world
                                                                              ) -> None:
    app = limited(rate_limit_search="1/minute", rate_limit_trusted_proxies="127.0.0.0/8")
    assert send(app, world, SEARCH, headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
                ).status_code == 200
    # a client inventing another first hop is still 203.0.113.7
    assert_limited(send(app, world, SEARCH, headers={
        "X-Forwarded-For": "198.51.100.99, 203.0.113.7"}))


def test_rate_limits__off_when_disabled_and_in_memory_in_development(world) -> None:
    off = create_app(dataclasses.replace(world.services.settings, rate_limits_enabled=False,
                                         rate_limit_search="1/minute"))
    assert all(send(off, world, SEARCH).status_code == 200 for _ in range(5))
    memory = create_app(dataclasses.replace(world.services.settings, app_env="development",
                                            rate_limit_search="1/minute"))
    assert send(memory, world, SEARCH).status_code == 200
    assert_limited(send(memory, world, SEARCH))
