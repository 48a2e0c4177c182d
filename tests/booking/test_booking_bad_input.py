"""Malformed dates and ids in the booking API: refused with a Chinese message and a stable code,
never a 500; queries answer BAD_USER_INPUT, mutations a NOT_FOUND in their payload."""

from __future__ import annotations

import pytest

from tests.booking.conftest import RESIDENT, STAFF, World

SLOTS = """query($w: ID, $p: ID, $i: ID!, $f: Date!, $t: Date!) {
  availableSlots(windowId: $w, placeId: $p, serviceItemId: $i, from: $f, to: $t) { id }
}"""


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "2026-02-30", "2026-12-1",
                                 "2026-12-01T09:00", 20261201])
def test_available_slots__malformed_date_variable__bad_user_input_in_chinese(world: World, bad):
    body = world.gql(SLOTS, {"w": str(world.window_a1), "i": str(world.item), "f": bad,
                             "t": "2026-12-31"}, uid=RESIDENT)
    assert body.get("data") is None
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert "日期格式无效" in body["errors"][0]["message"]


def test_window_appointments__malformed_date_literal__bad_user_input(world: World):
    window = world.window_a1
    body = world.gql(f'{{ windowAppointments(windowId: "{window}", date: "2026-13-01") {{ id }} }}',
                     uid=STAFF)
    assert body.get("data") is None
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert "日期格式无效" in body["errors"][0]["message"]


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "99999999999", " "])
def test_available_slots__malformed_ids__bad_user_input_with_field(world: World, bad):
    for variables, field in (({"w": bad, "i": str(world.item)}, "windowId"),
                             ({"p": bad, "i": str(world.item)}, "placeId"),
                             ({"w": str(world.window_a1), "i": bad}, "serviceItemId")):
        body = world.gql(SLOTS, {**variables, "f": world.day.isoformat(),
                                 "t": world.day.isoformat()}, uid=RESIDENT)
        assert _codes(body) == ["BAD_USER_INPUT"], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field


@pytest.mark.parametrize("bad", ["abc", "0", "99999999999"])
def test_book_appointment__malformed_ids__not_found_in_payload_nothing_written(world: World,
                                                                              bad):
    # when
    body = world.gql("""mutation($s: ID!, $i: ID!) { bookAppointment(slotId: $s,
        serviceItemId: $i, idempotencyKey: "k") { appointment { id } errors { code field } } }""",
                     {"s": bad, "i": str(world.item)}, uid=RESIDENT)
    # then
    payload = body["data"]["bookAppointment"]
    assert payload == {"appointment": None, "errors": [{"code": "NOT_FOUND", "field": "slotId"}]}
    assert world.appointments() == [] and world.notifications() == []
