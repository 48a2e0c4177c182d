"""Alerts to a window's staff: a resident booked, cancelled or moved one of today's
appointments (kind window_today_changed); nothing for other days or for the staff's own
cancellations; pushed to the staff's devices beside the resident's own messages."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import update

from backend.accounts.grants import principal_for
from backend.booking import appointments, staff
from backend.core.clock import utcnow
from backend.notify.dispatcher import Dispatcher, DispatchPolicy
from backend.notify.models import Device, Notification
from backend.notify.outbox import WINDOW_TODAY_CHANGED
from tests.booking.conftest import OTHER_STAFF, RESIDENT, STAFF, World, business_time
from tests.helpers import uow_of
from tests.notify.fake_fcm import FakeFcm

EARLY = "08:00"  # the clock on the slots' day: before every slot and its cutoff


def _alerts(world: World) -> list[tuple[str, str, str]]:
    return [(row.uid, row.data["change"], row.data["windowId"])
            for row in world.notifications(kind=WINDOW_TODAY_CHANGED)]


def _book(world: World, slot: str, now: datetime, key: str = "k") -> int:
    with world.session() as session:
        return appointments.book(uow_of(session), principal_for(session, RESIDENT), world.rules,
                                 slot_id=world.slots[slot], service_item_id=world.item,
                                 idempotency_key=key, now=now).id


def test_window_alert__resident_books_today__staff_of_that_window_told(world: World):
    now = business_time(world.day, EARLY)
    # when
    appointment = _book(world, "a1-0900", now)
    # then: staff of A1 only (not A2's, not the editor or admin)
    assert _alerts(world) == [(STAFF, "booked", str(world.window_a1))]
    (alert,) = world.notifications(kind=WINDOW_TODAY_CHANGED)
    assert alert.appointment_id == appointment and alert.title == "今日预约有变动"
    assert "09:00" in alert.body and "新增预约" in alert.body
    assert alert.is_urgent is False


def test_window_alert__booking_for_another_day__no_alert(world: World):
    _book(world, "a1-0900", business_time(world.day - timedelta(days=1), EARLY))
    assert _alerts(world) == []
    assert len(world.notifications(kind="booking_confirmed")) == 1


def test_window_alert__resident_cancels_today__told_staff_cancelling_is_not(world: World):
    now = business_time(world.day, EARLY)
    first = _book(world, "a1-0900", now, key="first")
    # when the resident cancels one, and staff close the other's slot
    with world.session() as session:
        appointments.cancel(uow_of(session), principal_for(session, RESIDENT), world.rules,
                            appointment_id=first, now=now + timedelta(minutes=5))
    second = _book(world, "a1-0930", now + timedelta(minutes=6), key="second")
    with world.session() as session:
        staff.close_slot(uow_of(session), principal_for(session, STAFF),
                         slot_id=world.slots["a1-0930"], reason="系统维护",
                         now=now + timedelta(minutes=7))
    # then
    assert _alerts(world) == [(STAFF, "booked", str(world.window_a1)),
                              (STAFF, "cancelled", str(world.window_a1)),
                              (STAFF, "booked", str(world.window_a1))]
    assert [row.status for row in world.appointments()] == ["cancelled", "cancelled"]
    assert world.appointments()[1].id == second


def _book_then_move_to_a2(world: World) -> int:
    """RESIDENT books today at A1 (09:00), then moves it to A2 (09:00)."""
    now = business_time(world.day, EARLY)
    appointment = _book(world, "a1-0900", now)
    with world.session() as session:
        appointments.reschedule(uow_of(session), principal_for(session, RESIDENT), world.rules,
                                appointment_id=appointment, new_slot_id=world.slots["a2-0900"],
                                now=now + timedelta(minutes=1))
    return appointment


def test_window_alert__resident_moves_today_between_windows__both_staffs_told(world: World):
    # when
    _book_then_move_to_a2(world)
    # then
    assert _alerts(world) == [(STAFF, "booked", str(world.window_a1)),
                              (STAFF, "moved_out", str(world.window_a1)),
                              (OTHER_STAFF, "moved_in", str(world.window_a2))]


def test_window_alert__pushed_to_staff_beside_the_residents_confirmation(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    seen = utcnow()
    with world.session() as session:
        session.add_all([Device(token="resident-phone", uid=RESIDENT, platform="android",
                                created_at=seen, last_seen_at=seen),
                         Device(token="clerk-tablet", uid=STAFF, platform="web",
                                created_at=seen, last_seen_at=seen)])
    now = business_time(world.day, EARLY)
    _book(world, "a1-0900", now)
    dispatcher = Dispatcher(world.services.session_factory, fcm_provider,
                            DispatchPolicy(quiet_hours=None), clock=lambda: now,
                            rng=random.Random(1))
    # when
    report = dispatcher.run_once()
    # then: the staff alert does not supersede the resident's confirmation (other user)
    assert report.sent == 2 and report.dropped == 0
    assert [m["data"]["kind"] for m in fake_fcm.delivered("resident-phone")] == [
        "booking_confirmed"]
    assert [m["data"]["kind"] for m in fake_fcm.delivered("clerk-tablet")] == [
        WINDOW_TODAY_CHANGED]


def test_window_alert__appointment_moved_away__its_old_clerk_no_longer_reads_it(world: World):
    # given: STAFF of A1 was told of a booking, which then moved to A2
    appointment = _book_then_move_to_a2(world)
    with world.session() as session:  # the inbox lists what is due by the real clock
        session.execute(update(Notification).values(due_at=utcnow() - timedelta(hours=1)))
    query = "{ me { notifications { edges { node { kind appointment { id } } } } } }"

    def seen(uid: str) -> list[str | None]:
        body = world.gql(query, uid=uid)
        assert "errors" not in body, body
        return [edge["node"]["appointment"] and edge["node"]["appointment"]["id"]
                for edge in body["data"]["me"]["notifications"]["edges"]]

    # then: A1's clerk keeps the messages, not the appointment; A2's clerk and the resident
    # read it
    assert seen(STAFF) == [None, None]
    assert seen(OTHER_STAFF) == [str(appointment)]
    assert set(seen(RESIDENT)) == {str(appointment)}
