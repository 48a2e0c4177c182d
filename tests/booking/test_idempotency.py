"""Booking semantics of idempotency keys, sign-in and free slots, over HTTP on both stores:
a key is a retry only with the same request (Stripe's rule), a cancelled appointment's key
books nothing, one place of a slot per resident, sign-in checked before any id is looked at,
free slots public; and retries raced from threads."""

from __future__ import annotations

from functools import partial

import pytest

from backend.booking.models import Appointment
from tests.booking.conftest import RESIDENT, World
from tests.booking.test_booking_rules import (
    BOOK,
    book_http,
    booked_id,
    cancel_http,
    reschedule_http,
    state,
    user_error,
)
from tests.booking.test_concurrency import Answer, add_slot_at, call, outcomes, together
from tests.helpers import error_codes, operation


@pytest.mark.parametrize(("slot", "item", "key", "code", "field", "words"), [
    ("a1-0930", "item", "k", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey", "时段或事项不同"),
    ("a1-0900", "other_item", "k", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey", "时段或事项不同"),
    ("a1-0900", "other_item", "k2", "ALREADY_BOOKED", "slotId", "该时段"),
], ids=["same-key-other-slot", "same-key-other-item", "second-place-of-the-slot"])
def test_book__after_a_booking__refused_nothing_changed(world: World, slot, item, key, code,
                                                        field, words):
    # given: a booking of a1-0900 for `item` with key "k"
    booked_id(world, world.slots["a1-0900"], world.item, key="k")
    before = state(world)
    # when
    payload = book_http(world, world.slots[slot], getattr(world, item), key=key)
    # then
    assert user_error(payload) == (code, field)
    assert words in payload["errors"][0]["message"]
    assert state(world) == before


def test_book__key_again_after_a_reschedule__same_appointment(world: World):
    # A retry of the original request (its slot) still answers the appointment it made.
    appointment = booked_id(world, world.slots["a1-0900"], world.item, key="k")
    assert reschedule_http(world, appointment, world.slots["a1-0930"])["errors"] == []
    before = state(world)
    payload = book_http(world, world.slots["a1-0900"], world.item, key="k")
    assert payload["errors"] == [] and int(payload["appointment"]["id"]) == appointment
    assert state(world) == before


def test_book__key_of_a_cancelled_appointment__refused_a_new_key_books(world: World):
    appointment = booked_id(world, world.slots["a1-0900"], world.item, key="k")
    assert cancel_http(world, appointment)["errors"] == []
    before = state(world)
    payload = book_http(world, world.slots["a1-0900"], world.item, key="k")
    assert user_error(payload) == ("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    assert "已取消" in payload["errors"][0]["message"]
    assert state(world) == before
    assert booked_id(world, world.slots["a1-0900"], world.item, key="k2") != appointment


def test_book__anonymous_with_an_impossible_id__unauthenticated_first(world: World):
    body = world.gql(BOOK, {"slot": "1" * 23, "item": "x", "key": "k"})
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert body["data"] is None


def test_available_slots__public_counts_of_places(world: World):
    variables = {"serviceItemId": str(world.item), "windowId": str(world.window_a1),
                 "from": world.day.isoformat(), "to": world.day.isoformat()}
    anonymous = world.gql(operation("AvailableSlots"), variables)
    assert "errors" not in anonymous, anonymous
    assert anonymous == world.gql(operation("AvailableSlots"), variables, uid=RESIDENT)
    assert {slot["id"] for slot in anonymous["data"]["availableSlots"]} >= {
        str(world.slots["a1-0900"]), str(world.slots["a1-0930"])}


def test_book__one_key_raced_with_two_slots__one_appointment_the_rest_reused(world: World):
    # 8 retries of one key at once, half naming another slot: one appointment; the retries
    # of its slot answer it, those of the other slot are IDEMPOTENCY_KEY_REUSED.
    first = add_slot_at(world, world.window_a1, 600, 5, minutes=30)
    second = add_slot_at(world, world.window_a1, 630, 5, minutes=30)
    headers = world.headers(RESIDENT)
    requests = [partial(call, query=BOOK, variables={"slot": str(slot), "item": str(world.item),
                                                     "key": "raced"},
                        headers=headers, field="bookAppointment")
                for slot in (first, second) * 4]
    answers: list[Answer] = together(world.app, requests)
    rows = world.appointments(uid=RESIDENT)
    assert len(rows) == 1
    (row,) = rows
    winner = [answer for answer, request in zip(answers, requests, strict=True)
              if request.keywords["variables"]["slot"] == str(row.slot_id)]
    assert outcomes(winner) == {"ok": 4}
    assert {answer.appointment_id for answer in winner} == {row.id}
    assert outcomes(answers) == {"ok": 4, "IDEMPOTENCY_KEY_REUSED": 4}
    with world.session() as session:
        assert session.get(Appointment, row.id).booked_slot_id == row.slot_id
