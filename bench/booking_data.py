"""The rows of the booking bench, in the bench database of the scale x store: the setup,
the correctness checks read afterwards, the reset for the raw runs and the cleanup.

Setup: one window "bench-window" at the first bench service hall, handling the first service
item (by code); BOOKING_SLOTS fresh slots (`is_manual`, so `slots generate` leaves them alone)
on the first ordinary working day at least two days ahead (both reminders are then always
queued: 3 notifications per booking, whatever the hour of the run), plus one warm-up slot.
Every earlier bench slot, appointment, notification and account (uids "bench-…") is deleted
first, and again after the run."""

from __future__ import annotations

import datetime as dt
import time

from databases import flask
from servers import FIREBASE_PROJECT, app_env

BOOKING_WINDOW = "bench-window"
BOOKING_UID = "bench-"  # every account the booking bench makes starts so
BOOKING_CLIENTS = 64
# The rush of issue 18: 100 slots x 5 places released at once, 500 residents, 64 clients.
BOOKING_SLOTS = 100
BOOKING_SLOT_MINUTES = 2  # 100 distinct start times from 08:00 (Beijing time)
BOOKING_RESIDENTS = 500  # each wants one place: as many as the places (100 x 5)
BOOKING_SEED = 20_260_605
BOOKING_RAW_CAPACITY = 1_000_000  # the raw runs measure updates, not refusals
EMULATOR_HOST = "127.0.0.1:9099"  # never contacted: firebase-admin then accepts unsigned tokens


def booking_server_env(url: str) -> dict:
    """Development sign-in, as `make run`: unsigned emulator tokens of any uid are accepted."""
    env = app_env(url)
    env.update({"APP_ENV": "development", "FIREBASE_PROJECT_ID": FIREBASE_PROJECT,
                "FIREBASE_AUTH_EMULATOR_HOST": EMULATOR_HOST})
    return env


def _booking_cleanup(session, window_ids: list[int]) -> dict:
    from sqlalchemy import delete, or_, select

    from backend.accounts.models import Account
    from backend.booking.models import Appointment, Slot
    from backend.notify.models import Notification

    bench_uid = f"{BOOKING_UID}%"
    appointments = select(Appointment.id).where(or_(Appointment.uid.like(bench_uid),
                                                    Appointment.window_id.in_(window_ids)))
    deleted = {
        "notifications": session.execute(delete(Notification).where(or_(
            Notification.uid.like(bench_uid), Notification.appointment_id.in_(appointments)))
        ).rowcount,
        "appointments": session.execute(delete(Appointment).where(
            Appointment.id.in_(appointments))).rowcount,
        "slots": session.execute(delete(Slot).where(Slot.window_id.in_(window_ids))).rowcount,
        "accounts": session.execute(delete(Account).where(Account.uid.like(bench_uid))).rowcount,
    }
    return deleted


def booking_cleanup(url: str) -> dict:
    """Delete the rows of the run, then vacuum and checkpoint, so that the tens of thousands of
    rows the raw runs wrote and deleted leave no work behind for the next measurements."""
    from sqlalchemy import select, text

    from backend.booking.models import ServiceWindow
    from backend.db import make_engine, make_session_factory, session_scope

    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            windows = list(session.scalars(select(ServiceWindow.id).where(
                ServiceWindow.name == BOOKING_WINDOW)))
            deleted = _booking_cleanup(session, windows)
        with engine.connect() as db:
            db = db.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "sqlite":
                db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            else:
                db.execute(text("VACUUM ANALYZE account, slot, appointment, notification"))
                db.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()
    return deleted


def booking_day(session, today: dt.date, horizon_days: int) -> dt.date:
    """The first ordinary working day (Mon–Fri not a statutory holiday, or a make-up working
    day) at least two days ahead, within the booking horizon."""
    from sqlalchemy import select

    from backend.places.models import HolidayDay

    kinds = dict(session.execute(select(HolidayDay.day, HolidayDay.kind).where(
        HolidayDay.day.between(today, today + dt.timedelta(days=horizon_days)))).all())
    for ahead in range(2, horizon_days + 1):
        day = today + dt.timedelta(days=ahead)
        kind = kinds.get(day)
        if kind == "workday" or (day.isoweekday() <= 5 and kind != "holiday"):
            return day
    raise RuntimeError(f"no working day within {horizon_days} days of {today}")


def prepare_booking(url: str, capacity: int, warm_capacity: int) -> dict:
    """The window, item and fresh slots of one booking run (see the module docstring)."""
    from sqlalchemy import delete, func, select

    from backend.booking.models import ServiceWindow, Slot, WindowServiceItem
    from backend.booking.rules import BookingRules
    from backend.config import Settings
    from backend.core.clock import BUSINESS_TZ, business_date, utcnow
    from backend.db import make_engine, make_session_factory, session_scope
    from backend.guidance.models import ServiceItem
    from backend.places.models import HolidayDay, Place

    started = time.perf_counter()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seeded = []
    with session_scope(factory) as session:
        items = session.scalar(select(func.count()).select_from(ServiceItem))
        holidays = session.scalar(select(func.count()).select_from(HolidayDay))
    if not items:  # `seed bench` loads places only
        seeded.append(flask(["seed", "items"], url).strip())
    if not holidays:
        seeded.append(flask(["calendar", "seed"], url).strip())
    rules = BookingRules.from_settings(Settings.from_env(booking_server_env(url)))
    try:
        with session_scope(factory) as session:
            item_id = session.scalar(select(ServiceItem.id).order_by(ServiceItem.code).limit(1))
            window = session.scalar(select(ServiceWindow).where(
                ServiceWindow.name == BOOKING_WINDOW).order_by(ServiceWindow.id).limit(1))
            if window is None:
                hall = session.scalar(select(Place.id).where(
                    Place.kind == "SERVICE_HALL", Place.source == "bench")
                    .order_by(Place.id).limit(1))
                window = ServiceWindow(place_id=hall, name=BOOKING_WINDOW, is_active=True)
                session.add(window)
                session.flush()
            window.is_active = True
            deleted = _booking_cleanup(session, [window.id])
            session.execute(delete(WindowServiceItem).where(
                WindowServiceItem.window_id == window.id))
            session.add(WindowServiceItem(window_id=window.id, service_item_id=item_id))
            now = utcnow()
            day = booking_day(session, business_date(now), rules.horizon_days)
            first = dt.datetime.combine(day, dt.time(8, 0), tzinfo=BUSINESS_TZ).astimezone(dt.UTC)
            step = dt.timedelta(minutes=BOOKING_SLOT_MINUTES)
            rows = [Slot(window_id=window.id, day=day, starts_at=first + i * step,
                         ends_at=first + (i + 1) * step, capacity=capacity, booked=0,
                         status="open", is_manual=True) for i in range(BOOKING_SLOTS)]
            session.add_all(rows)
            session.flush()
            warm = Slot(window_id=window.id, day=day, starts_at=first - 30 * step,
                        ends_at=first - 29 * step, capacity=warm_capacity, booked=0,
                        status="open", is_manual=True)
            session.add(warm)
            session.flush()
            slot_ids = sorted(slot.id for slot in rows)
            setup = {"place_id": window.place_id, "window_id": window.id,
                     "service_item_id": item_id, "day": day.isoformat(),
                     "first_start_utc": first.isoformat(), "slot_minutes": BOOKING_SLOT_MINUTES,
                     "slot_ids": [slot_ids[0], slot_ids[-1]], "warmup_slot_id": warm.id,
                     "capacity": capacity, "deleted_before": deleted}
        if slot_ids[-1] - slot_ids[0] + 1 != BOOKING_SLOTS:
            raise RuntimeError(f"bench slot ids are not contiguous: {slot_ids[:3]}…")
    finally:
        engine.dispose()
    setup["seeded_now"] = seeded
    setup["seconds"] = round(time.perf_counter() - started, 2)
    return setup


def booking_checks(url: str, setup: dict, run: dict, uid_prefix: str) -> dict:
    """Correctness read from the database after the run: no slot over its capacity, every
    slot's `booked` equal to its active appointments, one appointment per successful answer
    (the same ids), no duplicate (uid, idempotency key), 3 notifications per booking (no outbox
    row lost or duplicated)."""
    from sqlalchemy import func, select

    from backend.booking.models import ACTIVE_STATUSES, Appointment, Slot
    from backend.db import make_engine
    from backend.notify.models import Notification

    lo, hi = setup["slot_ids"]
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            active = (select(func.count()).select_from(Appointment)
                      .where(Appointment.slot_id == Slot.id,
                             Appointment.status.in_(ACTIVE_STATUSES))
                      .correlate(Slot).scalar_subquery())
            slots = db.execute(select(Slot.id, Slot.capacity, Slot.booked, active)
                               .where(Slot.id.between(lo, hi))).all()
            ours = Appointment.uid.like(f"{uid_prefix}%")
            ids = set(db.scalars(select(Appointment.id).where(ours)))
            duplicates = db.scalar(select(func.count()).select_from(
                select(Appointment.uid, Appointment.idempotency_key).where(ours)
                .group_by(Appointment.uid, Appointment.idempotency_key)
                .having(func.count() > 1).subquery()))
            notifications = db.scalar(select(func.count()).select_from(Notification).where(
                Notification.appointment_id.in_(select(Appointment.id).where(ours))))
    finally:
        engine.dispose()
    over = sum(booked > capacity for _, capacity, booked, _ in slots)
    mismatched = sum(booked != count for _, _, booked, count in slots)
    answered = run["appointment_ids"]
    checks = {
        "slots_checked": len(slots),
        "slots_over_capacity": over,
        "slots_booked_ne_active_appointments": mismatched,
        "places_taken": sum(booked for _, _, booked, _ in slots),
        "appointments": len(ids),
        "successful_answers": len(answered),
        "answers_eq_appointments": len(answered) == len(ids) == len(set(answered))
                                   and set(answered) == ids,
        "duplicate_uid_key": duplicates,
        "notifications": notifications,
        "notifications_per_appointment": round(notifications / len(ids), 2) if ids else None,
    }
    # The outbox: exactly the confirmation and both reminders of each booking, none lost
    # and none twice (the setup's day keeps both reminders due in the future).
    checks["notifications_eq_3_per_appointment"] = notifications == 3 * len(ids)
    checks["ok"] = (over == 0 and mismatched == 0 and checks["answers_eq_appointments"]
                    and duplicates == 0 and run["other_errors"] == 0
                    and checks["places_taken"] == len(ids)
                    and checks["notifications_eq_3_per_appointment"])
    return checks


def reset_booking_slots(url: str, setup: dict, capacity: int) -> None:
    """Empty the bench slots (appointments, their notifications and accounts deleted first)
    and give them `capacity`."""
    from sqlalchemy import update

    from backend.booking.models import Slot
    from backend.db import make_engine, make_session_factory, session_scope

    lo, hi = setup["slot_ids"]
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _booking_cleanup(session, [])
            session.execute(update(Slot).where(Slot.id.between(lo, hi))
                            .values(booked=0, capacity=capacity))
    finally:
        engine.dispose()
