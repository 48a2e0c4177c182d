"""Booking under contention (DESIGN.md §6 "Booking"): real threads released together by a
barrier, each with its own Flask test client (or its own session for domain calls), on SQLite
and on PostgreSQL. Capacity is never overbooked, a raced idempotency key gives one appointment,
a raced cancellation releases one place, and `slot.booked` always equals the active
appointments of the slot."""

from __future__ import annotations

import json
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from backend.accounts.principal import Principal
from backend.booking.appointments import book
from backend.booking.models import ACTIVE_STATUSES, Appointment, Slot
from backend.notify.models import Notification
from tests.booking.conftest import STAFF, business_time
from tests.helpers import uow_of

RESIDENTS = 32
CAPACITY = 5
ROUNDS = 3
# Generous: a thread that waits this long at a barrier means another one is stuck.
BARRIER_TIMEOUT = 120

BOOK = """mutation Book($slot: ID!, $item: ID!, $key: String!) {
  bookAppointment(slotId: $slot, serviceItemId: $item, idempotencyKey: $key) {
    appointment { id status slot { id } }
    errors { code field }
  }
}"""
CANCEL = """mutation Cancel($id: ID!) {
  cancelAppointment(id: $id) { appointment { id status } errors { code field } }
}"""
RESCHEDULE = """mutation Move($id: ID!, $slot: ID!) {
  rescheduleAppointment(id: $id, newSlotId: $slot) {
    appointment { id status slot { id } }
    errors { code field }
  }
}"""


@pytest.fixture(autouse=True)
def warm_certificates(world):  # noqa: ANN001, ANN201
    """The token certificates are served cacheable, as Google's endpoint does: one warm-up
    request fills firebase-admin's cache, so the barrier releases requests that reach the
    database together instead of queueing on the test's certificate server."""
    assert world.gql("{ me { uid } }", uid="warm-up")["data"]["me"]["uid"] == "warm-up"


# -- helpers ----------------------------------------------------------------------------------

class Answer:
    """One mutation's outcome: "ok", the payload's error codes ("SLOT_FULL"), or a description
    of anything else (HTTP status, GraphQL error, exception raised in the app)."""

    def __init__(self, outcome: str, payload: dict | None = None) -> None:
        self.outcome = outcome
        self.payload = payload or {}

    @property
    def appointment_id(self) -> int | None:
        appointment = self.payload.get("appointment")
        return None if appointment is None else int(appointment["id"])

    def __repr__(self) -> str:
        return f"Answer({self.outcome!r}, {self.payload!r})"


def call(client, query: str, variables: dict, headers: dict, field: str) -> Answer:  # noqa: ANN001
    """POST /graphql and classify the answer; never raises (a thread must reach its barrier)."""
    try:
        response = client.post("/graphql", data=json.dumps({"query": query,
                                                             "variables": variables}),
                               content_type="application/json", headers=headers)
    except Exception:  # noqa: BLE001 - with TESTING, an app error propagates to the client
        return Answer(f"exception: {traceback.format_exc(limit=3)[-600:]}")
    text = response.get_data(as_text=True)
    if response.status_code != 200:
        return Answer(f"HTTP {response.status_code}: {text[:300]}")
    body = response.get_json()
    if body.get("errors"):
        return Answer("GraphQL errors: " + "; ".join(
            f"{error.get('extensions', {}).get('code')} {error['message']}"
            for error in body["errors"]))
    payload = body["data"][field]
    codes = [error["code"] for error in payload["errors"]]
    return Answer("+".join(codes) if codes else "ok", payload)


def together(app, actions: list[Callable]) -> list:  # noqa: ANN001
    """Run each action(client) in a thread of its own with its own test client, all released
    at once by a barrier; the results in the order of `actions`."""
    barrier = threading.Barrier(len(actions), timeout=BARRIER_TIMEOUT)

    def run(action: Callable):  # noqa: ANN202
        client = app.test_client()
        barrier.wait()
        return action(client)

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(run, action) for action in actions]
        return [future.result() for future in futures]


def outcomes(answers: list[Answer]) -> Counter:
    return Counter(answer.outcome for answer in answers)


def headers_for(world, uids: list[str]) -> dict[str, dict]:  # noqa: ANN001
    """Signed before the threads start, so the barrier releases requests, not RSA work."""
    return {uid: world.headers(uid) for uid in uids}


def book_directly(world, uid: str, slot_id: int, key: str | None = None,  # noqa: ANN001
                  item: int | None = None) -> int:
    with world.session() as session:
        return book(uow_of(session), Principal(uid=uid), world.rules, slot_id=slot_id,
                    service_item_id=item or world.item,
                    idempotency_key=key or f"setup-{uid}").id


def add_slot_at(world, window_id: int, minutes_after_eight: int, capacity: int,  # noqa: ANN001
                minutes: int = 5) -> int:
    """A slot on `world.day` at 08:00 + `minutes_after_eight` (Beijing time)."""
    starts = business_time(world.day, "08:00") + timedelta(minutes=minutes_after_eight)
    with world.session() as session:
        slot = Slot(window_id=window_id, day=world.day, starts_at=starts,
                    ends_at=starts + timedelta(minutes=minutes), capacity=capacity, booked=0,
                    status="open", is_manual=False)
        session.add(slot)
        session.flush()
        return slot.id


def slot_state(world, slot_id: int) -> tuple[int, int, int]:  # noqa: ANN001
    """(booked, active appointments in the slot, capacity), read in one session."""
    with world.session() as session:
        slot = session.get(Slot, slot_id)
        active = session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.slot_id == slot_id, Appointment.status.in_(ACTIVE_STATUSES)))
        return slot.booked, active, slot.capacity


def notifications_of(world, kind: str, appointment_ids) -> list[Notification]:  # noqa: ANN001
    with world.session() as session:
        return list(session.scalars(select(Notification).where(
            Notification.kind == kind, Notification.appointment_id.in_(list(appointment_ids)))))


# -- capacity: 32 residents, 5 places ---------------------------------------------------------

def test_book__32_residents_at_once_on_capacity_5__5_booked_27_slot_full(world):
    for round_ in range(ROUNDS):
        # given: a fresh slot of capacity 5 (11:00, 11:30, 12:00 at A1) and 32 residents who
        # have booked nothing
        slot_id = add_slot_at(world, world.window_a1, 180 + 30 * round_, CAPACITY, minutes=30)
        uids = [f"rush-{round_}-{index:02d}" for index in range(RESIDENTS)]
        headers = headers_for(world, uids)

        # when: all of them book it at once
        answers = together(world.app, [
            partial(call, query=BOOK, variables={"slot": str(slot_id), "item": str(world.item),
                                                 "key": f"key-{uid}"},
                    headers=headers[uid], field="bookAppointment")
            for uid in uids])

        # then: exactly 5 bookings, 27 SLOT_FULL and nothing else (no 500, no locked database)
        assert outcomes(answers) == {"ok": CAPACITY, "SLOT_FULL": RESIDENTS - CAPACITY}, \
            f"round {round_}"
        assert all(answer.payload["errors"][0]["field"] == "slotId"
                   for answer in answers if answer.outcome == "SLOT_FULL")
        winners = {uid: answer.appointment_id for uid, answer in zip(uids, answers, strict=True)
                   if answer.outcome == "ok"}
        assert {(row.uid, row.id, row.status) for row in world.appointments(slot_id=slot_id)} \
            == {(uid, appointment_id, "booked") for uid, appointment_id in winners.items()}
        assert slot_state(world, slot_id) == (CAPACITY, CAPACITY, CAPACITY)
        confirmations = notifications_of(world, "booking_confirmed", winners.values())
        assert sorted(n.appointment_id for n in confirmations) == sorted(winners.values())


def _book_and_tell(world, uid: str, slot_id: int, _client) -> str:  # noqa: ANN001
    try:
        book_directly(world, uid, slot_id, key=f"k-{uid}")
    except Exception as error:  # noqa: BLE001
        return getattr(error, "code", None) or repr(error)
    return "ok"


def test_book__32_domain_calls_at_once_each_own_session__5_booked_27_slot_full(world):
    for round_ in range(ROUNDS):
        # given
        slot_id = add_slot_at(world, world.window_a2, 180 + 30 * round_, CAPACITY, minutes=30)
        uids = [f"domain-{round_}-{index:02d}" for index in range(RESIDENTS)]

        # when: book() called directly, one session per thread
        results = together(world.app, [partial(_book_and_tell, world, uid, slot_id)
                                       for uid in uids])

        # then
        assert Counter(results) == {"ok": CAPACITY, "SLOT_FULL": RESIDENTS - CAPACITY}, \
            f"round {round_}"
        assert slot_state(world, slot_id) == (CAPACITY, CAPACITY, CAPACITY)


# -- capacity: 32 reschedules into 5 places ---------------------------------------------------

def test_reschedule__32_residents_at_once_into_capacity_5__5_moved_27_keep_their_slot(world):
    for round_ in range(ROUNDS):
        # given: 32 residents, each booked alone in a slot of capacity 1 at window A1 (from
        # 10:00, 5 minutes apart), and an empty target of capacity 5 at window A2 the same day
        uids = [f"mover-{round_}-{index:02d}" for index in range(RESIDENTS)]
        old_slots = [add_slot_at(world, world.window_a1,
                                 120 + 5 * (RESIDENTS * round_ + index), 1)
                     for index in range(RESIDENTS)]
        appointment_ids = [book_directly(world, uid, slot_id)
                           for uid, slot_id in zip(uids, old_slots, strict=True)]
        target = add_slot_at(world, world.window_a2, 360 + 30 * round_, CAPACITY, minutes=30)
        headers = headers_for(world, uids)

        # when: all of them move to the target at once
        answers = together(world.app, [
            partial(call, query=RESCHEDULE,
                    variables={"id": str(appointment_id), "slot": str(target)},
                    headers=headers[uid], field="rescheduleAppointment")
            for uid, appointment_id in zip(uids, appointment_ids, strict=True)])

        # then: 5 moved, 27 SLOT_FULL, nothing else
        assert outcomes(answers) == {"ok": CAPACITY, "SLOT_FULL": RESIDENTS - CAPACITY}, \
            f"round {round_}"
        assert all(answer.payload["errors"][0]["field"] == "newSlotId"
                   for answer in answers if answer.outcome == "SLOT_FULL")
        moved = {index for index, answer in enumerate(answers) if answer.outcome == "ok"}
        assert all(answers[index].payload["appointment"]["slot"]["id"] == str(target)
                   for index in moved)
        with world.session() as session:
            for index in range(RESIDENTS):
                appointment = session.get(Appointment, appointment_ids[index])
                old = session.get(Slot, old_slots[index])
                assert appointment.status == "booked"
                if index in moved:
                    assert (appointment.slot_id, appointment.window_id, appointment.revision) \
                        == (target, world.window_a2, 1)
                    assert old.booked == 0, f"round {round_}: old slot of a winner kept"
                else:
                    assert (appointment.slot_id, appointment.revision) == (old_slots[index], 0)
                    assert old.booked == 1, f"round {round_}: old slot of a loser released"
        assert slot_state(world, target) == (CAPACITY, CAPACITY, CAPACITY)
        changed = notifications_of(world, "booking_changed", appointment_ids)
        assert sorted(n.appointment_id for n in changed) == sorted(
            appointment_ids[index] for index in moved)


# -- idempotency: the same key from 8 threads -------------------------------------------------

def test_book__same_key_from_8_threads_at_once__one_appointment(world):
    slot_id = add_slot_at(world, world.window_a1, 600, CAPACITY, minutes=30)
    for round_ in range(4):
        # given: a resident and a fresh key; in rounds 1 and 3 a resident who already has an
        # account row (from a booking of another item), in rounds 0 and 2 a new one
        uid, key = f"retrier-{round_}", f"same-key-{round_}"
        if round_ % 2:
            book_directly(world, uid, add_slot_at(world, world.window_b1, 30 * round_, 1),
                          item=world.other_item)
        booked_before = slot_state(world, slot_id)[0]
        request = partial(call, query=BOOK, variables={"slot": str(slot_id),
                                                       "item": str(world.item), "key": key},
                          headers=world.headers(uid), field="bookAppointment")

        # when: the same request 8 times at once
        answers = together(world.app, [request] * 8)

        # then: one appointment, answered 8 times
        assert outcomes(answers) == {"ok": 8}, f"round {round_}"
        ids = {answer.appointment_id for answer in answers}
        rows = world.appointments(uid=uid, slot_id=slot_id)
        assert len(ids) == 1 and [row.id for row in rows] == list(ids), f"round {round_}"
        assert rows[0].idempotency_key == key
        assert slot_state(world, slot_id)[0] == booked_before + 1
        assert len(notifications_of(world, "booking_confirmed", ids)) == 1


# -- cancellation raced by its owner ----------------------------------------------------------

def test_cancel__same_appointment_from_8_threads_at_once__released_once(world):
    for round_ in range(ROUNDS):
        # given: a slot with two bookings, so that a double release would show (1 → 0), not
        # hide behind the `booked > 0` floor of the release
        slot_id = add_slot_at(world, world.window_a1, 240 + 30 * round_, 3, minutes=30)
        owner = f"canceller-{round_}"
        appointment_id = book_directly(world, owner, slot_id)
        book_directly(world, f"neighbour-{round_}", slot_id)
        request = partial(call, query=CANCEL, variables={"id": str(appointment_id)},
                          headers=world.headers(owner), field="cancelAppointment")

        # when
        answers = together(world.app, [request] * 8)

        # then
        assert outcomes(answers) == {"ok": 1, "NOT_CANCELLABLE": 7}, f"round {round_}"
        assert world.appointments(id=appointment_id)[0].status == "cancelled"
        assert slot_state(world, slot_id) == (1, 1, 3)
        assert len(notifications_of(world, "booking_cancelled", [appointment_id])) == 1


# -- mixed: booking, cancelling and rebooking on a capacity-3 slot ----------------------------

def test_mixed__16_booking_16_cancelling_and_rebooking__booked_matches_appointments(world):
    capacity, threads, rounds = 3, 32, 4
    half = threads // 2
    slot_id = add_slot_at(world, world.window_a1, 420, capacity, minutes=30)
    uids = [f"{'booker' if index < half else 'churner'}-{index:02d}" for index in range(threads)]
    headers = headers_for(world, uids)
    # given: three churners hold the three places
    holding: dict[str, int | None] = dict.fromkeys(uids)
    for uid in uids[half:half + capacity]:
        holding[uid] = book_directly(world, uid, slot_id)
    log: list[tuple[str, Answer]] = []
    checks: list[tuple] = []
    stop = threading.Event()

    def expected(kind: str, answer: Answer) -> bool:
        return answer.outcome in ({"ok"} if kind == "cancel" else {"ok", "SLOT_FULL"})

    def at_rest() -> None:
        """Barrier action, run while every thread waits: the database is at rest."""
        booked, active, cap = slot_state(world, slot_id)
        holders = {uid for uid, held in holding.items() if held is not None}
        rows = {row.uid for row in world.appointments(slot_id=slot_id)
                if row.status in ACTIVE_STATUSES}
        checks.append((booked, active, cap, holders == rows))
        if not all(expected(kind, answer) for kind, answer in log):
            stop.set()  # everyone leaves at the same barrier: no 30-second waits per round

    barrier = threading.Barrier(threads, action=at_rest, timeout=BARRIER_TIMEOUT)

    def play(index: int) -> None:
        """A booker cancels when it holds a place and books when it does not; a churner
        cancels and books again at once."""
        uid = uids[index]
        client = world.app.test_client()
        for round_ in range(rounds + 1):
            barrier.wait()
            if stop.is_set() or round_ == rounds:
                return
            held = holding[uid]
            if held is not None:
                answer = call(client, CANCEL, {"id": str(held)}, headers[uid],
                              "cancelAppointment")
                log.append(("cancel", answer))
                if answer.outcome != "ok":
                    continue
                holding[uid] = None
                if index < half:
                    continue
            answer = call(client, BOOK, {"slot": str(slot_id), "item": str(world.item),
                                         "key": f"{uid}-{round_}"}, headers[uid],
                          "bookAppointment")
            log.append(("book", answer))
            if answer.outcome == "ok":
                holding[uid] = answer.appointment_id

    # when
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(play, index) for index in range(threads)]:
            future.result()

    # then: every answer was an expected one, and at every rest point booked == active ≤ 3
    assert Counter(f"{kind}: {answer.outcome}" for kind, answer in log
                   if not expected(kind, answer)) == {}
    assert len(checks) == rounds + 1
    for booked, active, cap, holders_match in checks:
        assert booked == active <= cap and holders_match, checks
    done = Counter(kind for kind, answer in log if answer.outcome == "ok")
    assert done["cancel"] >= rounds and done["book"] >= rounds, done  # there was churn
    booked_ok = [answer.appointment_id for kind, answer in log
                 if kind == "book" and answer.outcome == "ok"]
    cancelled = [answer.appointment_id for kind, answer in log
                 if kind == "cancel" and answer.outcome == "ok"]
    assert len(notifications_of(world, "booking_confirmed", booked_ok)) == len(booked_ok)
    assert len(notifications_of(world, "booking_cancelled", cancelled)) == len(cancelled)


# -- staff closing a slot while its residents cancel and move out -----------------------------

CLOSE = """mutation($slot: ID!) {
  closeSlot(slotId: $slot, reason: "设备故障") { slot { id status } errors { code field } }
}"""


@pytest.mark.parametrize("round_", range(3))
def test_close_slot__while_residents_cancel_and_reschedule__no_deadlock_invariants_hold(
        world, round_):
    """closeSlot locks the slot, then each appointment; a resident's cancel or reschedule
    locks the resident, then the slot(s), then the appointment. With one lock order there is
    no deadlock (PostgreSQL would abort one side with an error), and every appointment ends
    either cancelled by its resident, moved out, or cancelled by the window — never twice."""
    # given: 12 residents in one slot of capacity 12, and a free target slot elsewhere
    closing = add_slot_at(world, world.window_a1, 300 + round_ * 20, 12)
    target = add_slot_at(world, world.window_a2, 310 + round_ * 20, 12)
    uids = [f"close-{round_}-{i}" for i in range(12)]
    appointments = {uid: book_directly(world, uid, closing) for uid in uids}
    headers = headers_for(world, [*uids, STAFF])

    def cancel_as(uid: str) -> Callable:
        return lambda client: call(client, CANCEL, {"id": str(appointments[uid])},
                                   headers[uid], "cancelAppointment")

    def move_as(uid: str) -> Callable:
        return lambda client: call(client, RESCHEDULE, {"id": str(appointments[uid]),
                                                        "slot": str(target)},
                                   headers[uid], "rescheduleAppointment")

    actions = [cancel_as(uid) if i % 2 else move_as(uid) for i, uid in enumerate(uids)]
    actions.append(lambda client: call(client, CLOSE, {"slot": str(closing)}, headers[STAFF],
                                       "closeSlot"))
    # when: all at once
    answers = together(world.app, actions)
    # then: only domain answers (the close always succeeds; a resident may come too late)
    assert answers[-1].outcome == "ok", answers[-1]
    assert set(outcomes(answers[:-1])) <= {"ok", "NOT_CANCELLABLE", "SLOT_CLOSED"}, answers
    # and: the closed slot holds nobody, the target holds exactly the moved ones
    assert slot_state(world, closing)[:2] == (0, 0)
    moved = [a for a in world.appointments(slot_id=target) if a.status == "booked"]
    assert slot_state(world, target)[:2] == (len(moved), len(moved))
    # and: each resident's appointment is in exactly one end state, with one cancellation
    # notice at most
    for uid in uids:
        [appointment] = world.appointments(uid=uid)
        assert (appointment.slot_id, appointment.status) in {
            (target, "booked"), (closing, "cancelled")}, appointment
        cancelled = notifications_of(world, "booking_cancelled", [appointment.id])
        assert len(cancelled) == (appointment.status == "cancelled")
