"""The dispatcher through the real firebase-admin against the fake FCM server: what each
answer of FCM does to the outbox and the devices, backoff, quiet hours, reminders."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from backend.core.clock import BUSINESS_TZ, utcnow
from backend.notify.dispatcher import NO_DEVICE, SUPERSEDED, Dispatcher, DispatchPolicy
from backend.notify.models import Delivery, Device, Notification
from tests.booking.conftest import (
    OTHER_RESIDENT,
    RESIDENT,
    World,
    business_time,
    next_ordinary_weekday,
)
from tests.helpers import operation
from tests.notify.fake_fcm import (
    INTERNAL,
    INVALID_ARGUMENT,
    SENDER_ID_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    FakeFcm,
    quota_exceeded,
    slow,
)

RETRY_BASE = timedelta(seconds=10)
POLICY = DispatchPolicy(batch_size=100, lease=timedelta(seconds=60), max_attempts=3,
                        retry_base=RETRY_BASE, retry_max=timedelta(minutes=10),
                        send_margin=timedelta(seconds=2), quiet_hours=None)


class Clock:
    """The dispatcher's clock, moved by the test."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _dispatcher(world: World, provider, clock: Clock, policy: DispatchPolicy = POLICY,
                worker_id: str = "worker-1") -> Dispatcher:
    return Dispatcher(world.services.session_factory, provider, policy, worker_id=worker_id,
                      clock=clock, rng=random.Random(7))


def _notify(world: World, uid: str = RESIDENT, *, kind: str = "booking_confirmed",
            due_at: datetime | None = None, urgent: bool = False,
            appointment_id: int | None = None) -> int:
    due = due_at or utcnow() - timedelta(seconds=1)
    with world.session() as session:
        row = Notification(uid=uid, kind=kind, dedupe_key=f"{kind}:{random.random()}",
                           title="预约成功", body="西湖区政务服务中心，12月1日 09:00",
                           data={"kind": kind, "appointmentId": str(appointment_id or 0)},
                           appointment_id=appointment_id, is_urgent=urgent, due_at=due,
                           next_attempt_at=due, created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def _device(world: World, token: str, uid: str = RESIDENT, platform: str = "android") -> None:
    now = utcnow()
    with world.session() as session:
        session.add(Device(token=token, uid=uid, platform=platform, created_at=now,
                           last_seen_at=now))


def _row(world: World, notification_id: int) -> Notification:
    with world.session() as session:
        return session.get(Notification, notification_id)


def _tokens(world: World) -> list[str]:
    with world.session() as session:
        return list(session.scalars(select(Device.token).order_by(Device.token)))


def _deliveries(world: World) -> list[tuple]:
    with world.session() as session:
        return [tuple(row) for row in session.execute(
            select(Delivery.notification_id, Delivery.token, Delivery.status,
                   Delivery.provider_message_id).order_by(Delivery.token))]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_dispatch__fcm_accepts__sent_with_its_message_id_and_platform_options(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    _device(world, "tok-android", platform="android")
    _device(world, "tok-ios", platform="ios")
    note = _notify(world, urgent=True, appointment_id=None)
    # when
    report = _dispatcher(world, fcm_provider, Clock()).run_once()
    # then
    assert (report.claimed, report.sent, report.pushes) == (1, 1, 2)
    row = _row(world, note)
    assert row.status == "sent" and row.sent_at is not None and row.lease_owner is None
    names = {received.token: received.name for received in fake_fcm.requests}
    assert _deliveries(world) == [(note, "tok-android", "sent", names["tok-android"]),
                                  (note, "tok-ios", "sent", names["tok-ios"])]
    message = fake_fcm.delivered("tok-ios")[0]
    assert message["notification"] == {"title": "预约成功",
                                       "body": "西湖区政务服务中心，12月1日 09:00"}
    assert message["data"]["notificationId"] == str(note)
    assert message["data"]["kind"] == "booking_confirmed"
    assert message["android"]["priority"] == "high"        # urgent
    assert message["android"]["collapse_key"] == f"notification-{note}"
    assert message["apns"]["headers"]["apns-priority"] == "10"
    assert message["apns"]["headers"]["apns-collapse-id"] == f"notification-{note}"
    assert message["webpush"]["headers"]["Urgency"] == "high"


@pytest.mark.parametrize(("reply", "error"), [(UNREGISTERED, "UnregisteredError"),
                                              (SENDER_ID_MISMATCH, "SenderIdMismatchError")],
                         ids=["unregistered", "sender_id_mismatch"])
def test_dispatch__token_not_ours_any_more__device_deleted_not_retried(
        world: World, fake_fcm: FakeFcm, fcm_provider, reply, error):
    _device(world, "tok-gone")
    _device(world, "tok-other-user", uid=OTHER_RESIDENT)
    fake_fcm.always("tok-gone", reply)
    note = _notify(world)
    clock = Clock()
    # when
    report = _dispatcher(world, fcm_provider, clock).run_once()
    clock.advance(timedelta(hours=2))
    _dispatcher(world, fcm_provider, clock).run_once()
    # then
    assert report.tokens_removed == 1
    assert _tokens(world) == ["tok-other-user"]
    row = _row(world, note)
    assert row.status == "dead" and row.last_error.startswith(error)
    assert [received.token for received in fake_fcm.requests] == ["tok-gone"]
    assert _deliveries(world)[0][:3] == (note, "tok-gone", "failed")


def test_dispatch__invalid_argument__dead_at_once_device_kept(world: World, fake_fcm: FakeFcm,
                                                              fcm_provider):
    _device(world, "tok-1")
    fake_fcm.always("tok-1", INVALID_ARGUMENT)
    note = _notify(world)
    # when
    report = _dispatcher(world, fcm_provider, Clock()).run_once()
    # then
    row = _row(world, note)
    assert (report.dead, row.status, row.attempts) == (1, "dead", 1)
    assert "InvalidArgumentError" in row.last_error
    assert _tokens(world) == ["tok-1"]
    assert len(fake_fcm.requests) == 1


@pytest.mark.parametrize("reply", [INTERNAL, UNAVAILABLE, quota_exceeded(None), slow(3)],
                         ids=["internal", "unavailable", "quota_without_retry_after",
                              "timeout"])
def test_dispatch__transient_failure__retried_after_backoff_then_sent(
        world: World, fake_fcm: FakeFcm, fcm_provider, reply):
    _device(world, "tok-1")
    fake_fcm.plan("tok-1", reply)
    note = _notify(world)
    clock = Clock()
    dispatcher = _dispatcher(world, fcm_provider, clock)
    # when
    first = dispatcher.run_once()
    # then: back in the queue, due after half to all of the first backoff step
    row = _row(world, note)
    assert (first.retrying, row.status, row.attempts, row.lease_owner) == (1, "pending", 1, None)
    wait = _aware(row.next_attempt_at) - clock.now
    assert RETRY_BASE / 2 <= wait <= RETRY_BASE
    assert row.last_error
    assert dispatcher.run_once().claimed == 0        # not due yet
    # when the backoff has passed
    clock.advance(RETRY_BASE)
    second = dispatcher.run_once()
    # then
    assert second.sent == 1 and _row(world, note).status == "sent"
    assert _row(world, note).attempts == 2
    oks = [received for received in fake_fcm.requests if received.reply.ok
           and received.reply.delay == 0]
    assert len(oks) == 1 and len(_deliveries(world)) == 1


def test_dispatch__quota_exceeded_with_retry_after__waits_at_least_that_long(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    _device(world, "tok-1")
    fake_fcm.plan("tok-1", quota_exceeded(600))
    note = _notify(world)
    clock = Clock()
    # when
    _dispatcher(world, fcm_provider, clock).run_once()
    # then
    row = _row(world, note)
    assert row.status == "pending" and "QuotaExceededError" in row.last_error
    assert _aware(row.next_attempt_at) - clock.now == timedelta(seconds=600)


def test_dispatch__failing_every_time__dead_after_max_attempts_with_the_error(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    _device(world, "tok-1")
    fake_fcm.always("tok-1", UNAVAILABLE)
    note = _notify(world)
    clock = Clock()
    dispatcher = _dispatcher(world, fcm_provider, clock)
    waits = []
    # when
    for _ in range(POLICY.max_attempts):
        dispatcher.run_once()
        row = _row(world, note)
        if row.status == "pending":
            waits.append(_aware(row.next_attempt_at) - clock.now)
        clock.advance(timedelta(hours=1))
    # then
    row = _row(world, note)
    assert (row.status, row.attempts) == ("dead", POLICY.max_attempts)
    assert row.last_error.startswith(f"{POLICY.max_attempts} 次尝试后放弃")
    assert "UnavailableError" in row.last_error
    assert len(fake_fcm.requests) == POLICY.max_attempts
    # exponential: each wait within [step/2, step] of base·2^(n-1)
    for number, wait in enumerate(waits, start=1):
        step = RETRY_BASE * 2 ** (number - 1)
        assert step / 2 <= wait <= step
    assert dispatcher.run_once().claimed == 0


def test_dispatch__one_of_two_devices_fails__retry_pushes_only_to_that_one(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    _device(world, "tok-ok")
    _device(world, "tok-flaky")
    fake_fcm.plan("tok-flaky", INTERNAL)
    note = _notify(world)
    clock = Clock()
    dispatcher = _dispatcher(world, fcm_provider, clock)
    # when
    dispatcher.run_once()
    clock.advance(timedelta(minutes=5))
    dispatcher.run_once()
    # then
    assert _row(world, note).status == "sent"
    assert len(fake_fcm.delivered("tok-ok")) == 1
    assert len(fake_fcm.delivered("tok-flaky")) == 1
    assert [token for _, token, status, _ in _deliveries(world) if status == "sent"] == [
        "tok-flaky", "tok-ok"]


def test_dispatch__fcm_unreachable__retried_not_lost(world: World, fake_fcm: FakeFcm,
                                                     fcm_settings):
    from backend.config import Settings
    from backend.notify.providers.fcm import FcmProvider

    # A port nothing listens on: the connection is refused before anything is sent.
    settings = Settings(database_url="sqlite://",
                        **{**fcm_settings, "fcm_endpoint": "http://127.0.0.1:9"})
    _device(world, "tok-1")
    note = _notify(world)
    # when
    report = _dispatcher(world, FcmProvider.from_settings(settings), Clock()).run_once()
    # then
    row = _row(world, note)
    assert report.retrying == 1 and row.status == "pending"
    assert "UnavailableError" in row.last_error
    assert _deliveries(world) == []


def test_dispatch__user_without_devices__dead_but_in_the_inbox(world: World, fake_fcm: FakeFcm,
                                                               fcm_provider):
    note = _notify(world)
    # when
    _dispatcher(world, fcm_provider, Clock()).run_once()
    # then
    row = _row(world, note)
    assert (row.status, row.last_error) == ("dead", NO_DEVICE)
    assert fake_fcm.requests == []
    inbox = world.gql(operation("MyNotifications"), uid=RESIDENT)["data"]["me"]
    edges = inbox["notifications"]["edges"]
    assert [(edge["node"]["id"], edge["node"]["pushStatus"]) for edge in edges] == [
        (str(note), "FAILED")]


def _beijing(day_offset: int, clock: str) -> datetime:
    day = datetime.now(BUSINESS_TZ).date() + timedelta(days=day_offset)
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute,
                    tzinfo=BUSINESS_TZ).astimezone(UTC)


@pytest.mark.parametrize(("at", "quiet_end"), [("22:00", (1, "07:00")), ("23:30", (1, "07:00")),
                                               ("03:15", (0, "07:00")), ("06:59", (0, "07:00"))])
def test_dispatch__quiet_hours__non_urgent_waits_until_seven_urgent_goes(
        world: World, fake_fcm: FakeFcm, fcm_provider, at, quiet_end):
    _device(world, "tok-1")
    clock = Clock(_beijing(1, at))
    calm = _notify(world, due_at=clock.now - timedelta(minutes=1))
    urgent = _notify(world, due_at=clock.now - timedelta(minutes=1), urgent=True,
                     kind="booking_cancelled")
    policy = replace(POLICY, quiet_hours=DispatchPolicy().quiet_hours)
    # when
    report = _dispatcher(world, fcm_provider, clock, policy).run_once()
    # then
    assert (report.deferred, report.sent) == (1, 1)
    assert _row(world, urgent).status == "sent"
    waiting = _row(world, calm)
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == ("pending", 0, None)
    assert _aware(waiting.next_attempt_at) == _beijing(1 + quiet_end[0], quiet_end[1])
    # when quiet hours end
    clock.now = _beijing(1 + quiet_end[0], quiet_end[1])
    _dispatcher(world, fcm_provider, clock, policy).run_once()
    assert _row(world, calm).status == "sent"


def test_dispatch__outside_quiet_hours__non_urgent_sent_at_once(world: World, fake_fcm: FakeFcm,
                                                                fcm_provider):
    _device(world, "tok-1")
    clock = Clock(_beijing(1, "07:00"))
    note = _notify(world, due_at=clock.now - timedelta(minutes=1))
    policy = replace(POLICY, quiet_hours=DispatchPolicy().quiet_hours)
    report = _dispatcher(world, fcm_provider, clock, policy).run_once()
    assert report.sent == 1 and _row(world, note).status == "sent"


def _far_slots(world: World) -> date:
    """Two slots of window A1 on an ordinary weekday at least two days ahead (so the 24-hour
    reminder is still to come): "far-0900" and "far-0930"."""
    with world.session() as session:
        day = next_ordinary_weekday(world.day + timedelta(days=2), session)
    world.add_slot(world.window_a1, day, "09:00", name="far-0900")
    world.add_slot(world.window_a1, day, "09:30", name="far-0930")
    return day


def _book(world: World, slot: str, key: str) -> str:
    body = world.gql(operation("BookAppointment"), {
        "slotId": str(world.slots[slot]), "serviceItemId": str(world.item),
        "idempotencyKey": key}, uid=RESIDENT)
    return body["data"]["bookAppointment"]["appointment"]["id"]


def test_reminders__booked_appointment__24h_and_1h_pushed_when_due(world: World,
                                                                  fake_fcm: FakeFcm,
                                                                  fcm_provider):
    _device(world, "tok-1")
    day = _far_slots(world)
    appointment = _book(world, "far-0900", "remind-1")
    starts = business_time(day, "09:00")
    clock = Clock()
    dispatcher = _dispatcher(world, fcm_provider, clock)
    dispatcher.run_once()                            # the confirmation
    kinds = [message["data"]["kind"] for message in fake_fcm.delivered()]
    assert kinds == ["booking_confirmed"]
    # when: a day before, then an hour before
    clock.now = starts - timedelta(hours=24)
    dispatcher.run_once()
    clock.now = starts - timedelta(hours=1)
    dispatcher.run_once()
    # then
    messages = fake_fcm.delivered()
    assert [m["data"]["kind"] for m in messages] == ["booking_confirmed", "reminder_24h",
                                                     "reminder_1h"]
    assert all(m["data"]["appointmentId"] == appointment for m in messages)
    assert {m["android"]["collapse_key"] for m in messages} == {f"appointment-{appointment}"}
    day_before, hour_before = messages[1], messages[2]
    assert day_before["android"]["priority"] == "normal"
    assert hour_before["android"]["priority"] == "high"
    # A reminder is worth showing until the appointment begins: TTL ≈ what is left of it.
    assert abs(float(day_before["android"]["ttl"].rstrip("s")) - 24 * 3600) < 600
    assert abs(float(hour_before["android"]["ttl"].rstrip("s")) - 3600) < 600


@pytest.mark.parametrize("change", ["cancelled", "rescheduled", "started"])
def test_reminders__appointment_changed_first__not_pushed(world: World, fake_fcm: FakeFcm,
                                                          fcm_provider, change):
    _device(world, "tok-1")
    day = _far_slots(world)
    appointment = _book(world, "far-0900", f"remind-{change}")
    starts = business_time(day, "09:00")
    if change == "cancelled":
        world.gql(operation("CancelAppointment"), {"id": appointment, "reason": "有事"},
                  uid=RESIDENT)
    elif change == "rescheduled":
        world.gql(operation("RescheduleAppointment"), {
            "id": appointment, "newSlotId": str(world.slots["far-0930"])}, uid=RESIDENT)
    old_reminders = [row.id for row in world.notifications(kind="reminder_1h")][:1]
    # "started": the worker was down; the reminders are due but the appointment has begun.
    clock = Clock(starts + timedelta(minutes=1) if change == "started"
                  else starts - timedelta(minutes=59))
    # when
    _dispatcher(world, fcm_provider, clock).run_once()
    # then: the first reminder of the first booking was never pushed
    row = _row(world, old_reminders[0])
    assert row.status == "dropped"
    pushed = {m["data"]["notificationId"] for m in fake_fcm.delivered()}
    assert str(row.id) not in pushed


def test_worker_cli__once_with_the_log_provider__sends_due_and_exits(world: World, caplog):
    _device(world, "tok-cli")
    note = _notify(world, urgent=True)
    caplog.set_level(logging.INFO, logger="servicemap.push")
    # when
    result = world.app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    # then
    assert result.exit_code == 0, result.output
    assert "provider log" in result.output and "sent 1" in result.output
    assert _row(world, note).status == "sent"
    pushed = [record.getMessage() for record in caplog.records]
    assert any(f"push log-{note}-" in message for message in pushed), pushed
    assert not any("tok-cli" in message for message in pushed)  # never a device token


def test_worker_cli__production_with_the_log_provider__refused(world: World):
    from backend.app import create_app
    from backend.config import Settings

    settings = world.services.settings
    app = create_app(Settings(database_url=settings.database_url, app_env="production",
                              firebase_project_id="demo-servicemap", rate_limits_enabled=False))
    note = _notify(world, urgent=True)
    result = app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    assert result.exit_code != 0 and "PUSH_PROVIDER=log" in result.output
    assert _row(world, note).status == "pending"
    app.extensions["servicemap"].engine.dispose()


def test_dispatch__lease_lost_to_another_worker__its_results_stand(world: World,
                                                                   fake_fcm: FakeFcm,
                                                                   fcm_provider):
    _device(world, "tok-1")
    note = _notify(world)
    clock = Clock()

    class TakeOver:
        """A provider call so slow that another worker claims the message meanwhile."""

        name, max_batch = "slow", 500

        def send(self, messages):
            with world.session() as session:
                session.execute(update(Notification).where(Notification.id == note)
                                .values(lease_owner="worker-2", attempts=2))
            return fcm_provider.send(messages)

        def close(self):
            pass

    # when
    report = _dispatcher(world, TakeOver(), clock).run_once()
    # then: the push is recorded (never sent again) but the row is worker-2's to finish
    assert report.lease_lost == 1
    row = _row(world, note)
    assert (row.status, row.lease_owner) == ("pending", "worker-2")
    assert [status for _, _, status, _ in _deliveries(world)] == ["sent"]


def test_dispatch__confirmation_held_by_quiet_hours_then_cancelled__only_the_cancel_pushed(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    _device(world, "tok-1")
    day = _far_slots(world)
    appointment = _book(world, "far-0900", "quiet-then-cancel")
    policy = replace(POLICY, quiet_hours=DispatchPolicy().quiet_hours)
    night = Clock(_beijing(0, "23:30") if datetime.now(BUSINESS_TZ).hour < 23
                  else _beijing(1, "23:30"))
    night.now = max(night.now, utcnow())
    _dispatcher(world, fcm_provider, night, policy).run_once()      # the confirmation waits
    world.gql(operation("CancelAppointment"), {"id": appointment, "reason": "计划有变"},
              uid=RESIDENT)
    # when the quiet hours end
    morning = Clock(business_time(day, "07:00") - timedelta(days=1))
    morning.now = max(morning.now, night.now + timedelta(hours=8))
    report = _dispatcher(world, fcm_provider, morning, policy).run_once()
    # then
    assert [m["data"]["kind"] for m in fake_fcm.delivered()] == ["booking_cancelled"]
    assert report.dropped == 1
    confirmed = world.notifications(kind="booking_confirmed")[0]
    assert (confirmed.status, confirmed.last_error) == ("dropped", SUPERSEDED)
    page = world.gql(operation("MyNotifications"), uid=RESIDENT)["data"]["me"]["notifications"]
    assert [(e["node"]["kind"], e["node"]["pushStatus"]) for e in page["edges"]] == [
        ("booking_cancelled", "SENT"), ("booking_confirmed", "SKIPPED")]


def test_worker_loop__polls_until_stopped__sends_what_becomes_due(world: World,
                                                                  fake_fcm: FakeFcm,
                                                                  fcm_provider):
    _device(world, "tok-loop")
    dispatcher = Dispatcher(world.services.session_factory, fcm_provider, POLICY,
                            worker_id="loop")
    stop = threading.Event()
    reports = []
    worker = threading.Thread(target=lambda: reports.append(dispatcher.run(stop, 0.05)))
    worker.start()
    try:
        # when a notification is queued while the worker idles
        note = _notify(world, urgent=True)
        deadline = time.monotonic() + 10
        while _row(world, note).status == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    # then
    assert not worker.is_alive()
    assert _row(world, note).status == "sent"
    assert reports[0].sent == 1 and len(fake_fcm.delivered("tok-loop")) == 1
