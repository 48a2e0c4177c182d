"""The booking rush's hot path (issue 18): the statements of one booking through the API,
counted (not timed), and the check-in code drawn again on a collision with an active code
instead of a SELECT per code, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.accounts.principal import Principal
from backend.booking import appointments
from backend.booking.models import Appointment, Slot
from backend.notify.models import Notification
from tests.booking.conftest import OTHER_RESIDENT, RESIDENT, World
from tests.booking.test_booking_rules import BOOK, CANCEL
from tests.helpers import counting_statements, operation, uow_of

# Of one new booking through the trusted BookAppointment document, with its AppointmentCard:
# the caller's grants, the read of item + slot + window + hall with the resident's lock (one
# statement on PostgreSQL: the lock is a CTE of the read; two on SQLite), the
# resident's appointments, the place and the appointment (one statement on PostgreSQL, two
# on SQLite), the outbox rows. The answer's slot, item, window and hall are the rows the
# booking read. Before issue 18: 17 on both stores.
STATEMENTS = {"postgresql": 5, "sqlite": 7}


def _store(world: World) -> str:
    return world.services.engine.dialect.name


def test_book__one_booking_through_the_api__at_most_the_counted_statements(world: World):
    world.gql("{ me { uid } }", uid="warm-up")  # token certificates fetched before counting
    variables = {"slotId": str(world.slots["a1-0900"]), "serviceItemId": str(world.item),
                 "idempotencyKey": "count-1"}
    with counting_statements(world.app) as statements:
        body = world.gql(operation("BookAppointment"), variables, uid=RESIDENT)
    payload = body["data"]["bookAppointment"]
    assert payload["errors"] == [], body
    card = payload["appointment"]
    assert card["slot"]["id"] == str(world.slots["a1-0900"])
    assert card["serviceItem"]["id"] == str(world.item)
    assert card["window"]["id"] == str(world.window_a1)
    assert (card["place"]["id"], card["place"]["name"]) == (str(world.hall_a), "西湖区政务服务中心")
    assert len(statements) <= STATEMENTS[_store(world)], "\n".join(statements)
    # The same key again: the earlier appointment, the same card.
    again = world.gql(operation("BookAppointment"), variables, uid=RESIDENT)
    assert again["data"]["bookAppointment"]["appointment"] == card


def test_book__answer_shows_the_places_left_after_this_booking(world: World):
    slot = world.slots["a1-0900"]
    for n, uid in enumerate((RESIDENT, OTHER_RESIDENT)):
        body = world.gql(BOOK, {"slot": slot, "item": world.item, "key": f"k{n}"}, uid=uid)
        answer = body["data"]["bookAppointment"]["appointment"]["slot"]
        assert (answer["booked"], answer["remaining"]) == (n + 1, 1 - n)
    assert world.slot(slot).booked == 2


def _codes(monkeypatch, *codes: str) -> list[str]:
    """Make the next draws of a check-in code give `codes`, in order; returns what is left."""
    left = list(codes)
    monkeypatch.setattr(appointments, "new_check_in_code", lambda: left.pop(0))
    return left


def _book(world: World, uid: str, slot: str, key: str) -> dict:
    body = world.gql(BOOK, {"slot": world.slots[slot], "item": world.item, "key": key}, uid=uid)
    return body["data"]["bookAppointment"]


@pytest.mark.parametrize("held_draws", [1, 2])
def test_book__code_held_by_an_active_appointment__drawn_again_one_place_taken(
        world: World, monkeypatch, held_draws: int):
    held = _book(world, OTHER_RESIDENT, "a1-0930", "other")["appointment"]["code"]
    left = _codes(monkeypatch, *[held] * held_draws, "FRESH234", "UNUSED56")
    payload = _book(world, RESIDENT, "a1-0900", "mine")
    assert payload["errors"] == []
    assert payload["appointment"]["code"] == "FRESH234"
    assert left == ["UNUSED56"]
    assert payload["appointment"]["slot"]["booked"] == 1
    assert world.slot(world.slots["a1-0900"]).booked == 1
    mine = world.appointments(uid=RESIDENT)
    assert [(a.code, a.status) for a in mine] == [("FRESH234", "booked")]
    # The outbox speaks of the code the appointment has, once.
    confirmations = world.notifications(uid=RESIDENT, kind="booking_confirmed")
    assert len(confirmations) == 1 and "FRESH234" in confirmations[0].body


def test_book__code_of_a_cancelled_appointment__may_return(world: World, monkeypatch):
    earlier = _book(world, OTHER_RESIDENT, "a1-0930", "other")["appointment"]
    cancelled = world.gql(CANCEL, {"id": earlier["id"]}, uid=OTHER_RESIDENT)
    assert cancelled["data"]["cancelAppointment"]["errors"] == []
    left = _codes(monkeypatch, earlier["code"], "UNUSED56")
    payload = _book(world, RESIDENT, "a1-0900", "mine")
    assert payload["errors"] == [] and payload["appointment"]["code"] == earlier["code"]
    assert left == ["UNUSED56"]


def test_book__no_free_code_at_all__nothing_written(world: World, monkeypatch):
    held = _book(world, OTHER_RESIDENT, "a1-0930", "other")["appointment"]["code"]
    _codes(monkeypatch, *[held] * (appointments.CODE_ATTEMPTS + 1))
    slot = world.slots["a1-0900"]
    # Raised through the session's scope: rolled back, the place with it.
    with pytest.raises(RuntimeError, match="check-in code"), world.session() as session:
        appointments.book(uow_of(session), Principal(uid=RESIDENT), world.rules, slot_id=slot,
                          service_item_id=world.item, idempotency_key="mine")
    assert world.slot(slot).booked == 0
    assert world.appointments(uid=RESIDENT) == []
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.uid == RESIDENT)) == 0
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1
        assert session.get(Slot, world.slots["a1-0930"]).booked == 1
