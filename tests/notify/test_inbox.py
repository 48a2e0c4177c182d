"""me.notifications and markNotificationsRead: pages against a brute-force oracle, what is in
the inbox (due, not dropped, pushed or not), bad input refused with nothing changed."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import utcnow
from backend.notify.models import Notification
from tests.booking.conftest import OTHER_RESIDENT, RESIDENT, World
from tests.helpers import operation

INBOX = operation("MyNotifications")
MARK = operation("MarkNotificationsRead")
BOOK = operation("BookAppointment")


def _add(world: World, rows: list[dict]) -> list[int]:
    now = utcnow()
    with world.session() as session:
        made = []
        for number, row in enumerate(rows):
            due = row.pop("due_at", now)
            made.append(Notification(
                uid=row.pop("uid", RESIDENT), kind=row.pop("kind", "booking_confirmed"),
                dedupe_key=f"test:{number}:{random.random()}", title=row.pop("title", "标题"),
                body="正文", data={"kind": "booking_confirmed"}, due_at=due,
                next_attempt_at=due, created_at=now, **row))
        session.add_all(made)
        session.flush()
        return [row.id for row in made]


def _page(world: World, uid: str = RESIDENT, **variables) -> dict:
    body = world.gql(INBOX, variables, uid=uid)
    assert "errors" not in body, body
    return body["data"]["me"]["notifications"]


def _all_pages(world: World, first: int, unread_only: bool = False) -> list[str]:
    seen, after = [], None
    while True:
        page = _page(world, first=first, after=after, unreadOnly=unread_only)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert len(page["edges"]) <= first
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


def _read_state(world: World) -> list[tuple]:
    with world.session() as session:
        return list(session.execute(select(Notification.id, Notification.read_at)
                                    .order_by(Notification.id)))


@pytest.mark.parametrize("seed", [1, 2])
def test_inbox__random_notifications__pages_equal_brute_force(world: World, seed: int):
    rng = random.Random(seed)
    now = utcnow()
    # Ties in due_at on purpose: the order is (due_at desc, id desc).
    times = [now - timedelta(minutes=rng.randrange(0, 600)) for _ in range(12)]
    specs = []
    for _ in range(70):
        specs.append({
            "uid": rng.choice([RESIDENT, RESIDENT, OTHER_RESIDENT]),
            "due_at": rng.choice(times + [now + timedelta(hours=rng.randrange(1, 48))]),
            "status": rng.choice(["pending", "sent", "sent", "dead", "dropped"]),
            "kind": rng.choice(["booking_confirmed", "booking_cancelled", "reminder_24h",
                                "reminder_1h"]),
            "read_at": rng.choice([None, None, now - timedelta(minutes=1)]),
        })
    ids = _add(world, [dict(spec) for spec in specs])
    expected = sorted(
        ((spec["due_at"], row_id, spec["read_at"]) for spec, row_id in zip(specs, ids, strict=True)
         if spec["uid"] == RESIDENT and spec["due_at"] <= now
         # a dropped reminder is not in the inbox; a superseded (dropped) event message is
         and (spec["status"] != "dropped" or not spec["kind"].startswith("reminder"))),
        key=lambda entry: (entry[0], entry[1]), reverse=True)
    # when / then
    for first in (1, 7, 100):
        assert _all_pages(world, first) == [str(row_id) for _, row_id, _ in expected]
        assert _all_pages(world, first, unread_only=True) == [
            str(row_id) for _, row_id, read in expected if read is None]
    assert _page(world, first=1)["unreadCount"] == sum(1 for *_, read in expected if read is None)


def test_inbox__booking__confirmation_now_reminders_only_when_due(world: World):
    # when: a booking queues a confirmation (due now) and reminders (due before the slot)
    body = world.gql(BOOK, {"slotId": str(world.slots["a1-0900"]),
                            "serviceItemId": str(world.item), "idempotencyKey": "inbox-1"},
                     uid=RESIDENT)
    appointment = body["data"]["bookAppointment"]["appointment"]
    # then
    page = _page(world)
    assert [edge["node"]["kind"] for edge in page["edges"]] == ["booking_confirmed"]
    node = page["edges"][0]["node"]
    assert node["appointment"]["id"] == appointment["id"]
    assert node["pushStatus"] == "PENDING" and node["isRead"] is False
    assert json.loads(node["data"]) == {"appointmentId": appointment["id"],
                                        "kind": "booking_confirmed"}
    assert page["unreadCount"] == 1
    reminders = [row for row in world.notifications() if row.kind.startswith("reminder")]
    assert reminders and all(row.status == "pending" for row in reminders)


def test_inbox__push_failed__still_listed_as_failed(world: World):
    _add(world, [{"status": "dead", "last_error": "没有已登记的推送设备"},
                 {"status": "sent", "due_at": utcnow() - timedelta(minutes=5)}])
    page = _page(world)
    assert [edge["node"]["pushStatus"] for edge in page["edges"]] == ["FAILED", "SENT"]


def test_mark_read__own_notifications__read_and_count_drops(world: World):
    ids = _add(world, [{}, {}, {}])
    # when
    payload = world.gql(MARK, {"ids": [str(ids[0]), str(ids[2]), str(ids[0])]},
                        uid=RESIDENT)["data"]["markNotificationsRead"]
    # then
    assert payload["errors"] == []
    assert [(n["id"], n["isRead"]) for n in payload["notifications"]] == [
        (str(ids[0]), True), (str(ids[2]), True)]
    assert payload["unreadCount"] == 1
    assert _all_pages(world, 10, unread_only=True) == [str(ids[1])]


def test_mark_read__again__keeps_the_first_read_time(world: World):
    ids = _add(world, [{}])
    first = world.gql(MARK, {"ids": [str(ids[0])]}, uid=RESIDENT)
    # when
    again = world.gql(MARK, {"ids": [str(ids[0])]}, uid=RESIDENT)
    # then
    read_at = first["data"]["markNotificationsRead"]["notifications"][0]["readAt"]
    assert again["data"]["markNotificationsRead"]["notifications"][0]["readAt"] == read_at


@pytest.mark.parametrize("case", ["someone_elses", "not_due_yet", "dropped", "no_such_id",
                                  "malformed", "empty", "too_many"])
def test_mark_read__bad_ids__refused_and_nothing_marked(world: World, case: str):
    own = _add(world, [{}])[0]
    other = _add(world, [{"uid": OTHER_RESIDENT}])[0]
    future = _add(world, [{"due_at": utcnow() + timedelta(hours=3), "kind": "reminder_1h"}])[0]
    dropped = _add(world, [{"status": "dropped", "kind": "reminder_24h"}])[0]
    ids, code = {
        "someone_elses": ([own, other], "NOT_FOUND"),
        "not_due_yet": ([own, future], "NOT_FOUND"),
        "dropped": ([own, dropped], "NOT_FOUND"),
        "no_such_id": ([own, 2_000_000_000], "NOT_FOUND"),
        "malformed": ([own, "abc"], "NOT_FOUND"),
        "empty": ([], "INVALID_INPUT"),
        "too_many": ([own] * 101, "INVALID_INPUT"),
    }[case]
    before = _read_state(world)
    # when
    payload = world.gql(MARK, {"ids": [str(value) for value in ids]},
                        uid=RESIDENT)["data"]["markNotificationsRead"]
    # then
    assert payload["notifications"] == [] and payload["unreadCount"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, "ids")]
    assert _read_state(world) == before


def test_inbox__anonymous__me_null_and_mark_read_unauthenticated(world: World):
    ids = _add(world, [{}])
    assert world.gql(INBOX, uid=None)["data"]["me"] is None
    body = world.gql(MARK, {"ids": [str(ids[0])]}, uid=None)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert _read_state(world)[0][1] is None


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 0}, "first"), ({"first": 101}, "first"), ({"after": "garbage"}, "after"),
    ({"after": "eyJvIjoiZCIsImkiOjF9"}, "after"),   # a place cursor, not an inbox one
])
def test_inbox__bad_paging__bad_user_input(world: World, variables: dict, field: str):
    body = world.gql(INBOX, variables, uid=RESIDENT)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field
