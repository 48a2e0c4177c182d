"""Booking's part in what happens to places: an archived place takes no more bookings (its
future slots close and their appointments are cancelled, the residents told through
AppointmentCancelled); a restored one opens again the slots its archiving closed. A day of the
holiday calendar changed by hand: its slots follow at once (no waiting for `slots generate`)."""

from __future__ import annotations

from sqlalchemy import exists, func, select, update

from backend.booking.events import BookedOnHoliday
from backend.booking.models import Appointment, ScheduleTemplate, ServiceWindow, Slot
from backend.booking.schedule import GenerationResult, generate_window_slots
from backend.booking.staff import close_slot_cancelling
from backend.core.clock import business_date
from backend.core.unit_of_work import UnitOfWork
from backend.guidance.models import ServiceItem
from backend.places.events import (
    CalendarDayChanged,
    HolidayAppointment,
    PlaceArchived,
    PlaceRestored,
)
from backend.places.models import Place

# The closing reason of slots closed by archiving their place: what restoring reopens.
ARCHIVED_PREFIX = "场所已停用"


def _future_slots(place_id: int, at):  # noqa: ANN001, ANN202
    windows = select(ServiceWindow.id).where(ServiceWindow.place_id == place_id)
    return (Slot.window_id.in_(windows), Slot.starts_at > at)


def on_place_archived(uow: UnitOfWork, event: PlaceArchived) -> None:
    reason = f"{ARCHIVED_PREFIX}：{event.reason}"[:200]
    slots = uow.session.scalars(select(Slot).where(
        *_future_slots(event.place_id, event.at), Slot.status == "open").order_by(Slot.id))
    for slot in list(slots):
        close_slot_cancelling(uow, slot, reason, event.at)


def on_place_restored(uow: UnitOfWork, event: PlaceRestored) -> None:
    uow.session.execute(update(Slot).where(
        *_future_slots(event.place_id, event.at), Slot.status == "closed",
        Slot.closed_reason.startswith(ARCHIVED_PREFIX),
    ).values(status="open", closed_reason=None).execution_options(synchronize_session=False))


# The closing reason of booked slots left on a new holiday: what clearing the holiday reopens.
HOLIDAY_PREFIX = "节假日不办理"


def _windows_to_regenerate(session, event: CalendarDayChanged) -> list[int]:  # noqa: ANN001
    """Windows with slots on the day, and active windows with templates whose generated slots
    already reach it (the others get the day from the daily generation, which follows the
    calendar anyway)."""
    on_day = select(Slot.window_id).where(Slot.day == event.day)
    reaching = (
        select(Slot.window_id)
        .where(Slot.window_id.in_(select(ServiceWindow.id).where(
            ServiceWindow.is_active,
            exists().where(ScheduleTemplate.window_id == ServiceWindow.id))))
        .group_by(Slot.window_id).having(func.max(Slot.day) >= event.day)
    )
    return sorted(set(session.scalars(on_day)) | set(session.scalars(reaching)))


def on_calendar_day_changed(uow: UnitOfWork, event: CalendarDayChanged) -> None:
    """Generation (schedule.py) over the one day; then, on a holiday, the slots generation must
    keep (booked, or changed by staff) are closed so nobody else books them, and what stays
    booked is reported to the window's staff. Past days are history: left alone."""
    if event.day < business_date(event.at):
        return
    session, report = uow.session, event.follow_through
    holiday = event.kind == "holiday"
    if not holiday:
        report.slots_reopened = session.execute(update(Slot).where(
            Slot.day == event.day, Slot.status == "closed",
            Slot.closed_reason.startswith(HOLIDAY_PREFIX),
        ).values(status="open", closed_reason=None)
            .execution_options(synchronize_session=False)).rowcount
    windows = _windows_to_regenerate(session, event)
    total = GenerationResult()
    for window_id in windows:
        total.add(generate_window_slots(session, window_id, event.day, event.day))
    report.windows = len(windows)
    report.slots_created, report.slots_removed = total.created, total.removed
    if not holiday:
        return
    report.slots_closed = session.execute(update(Slot).where(
        Slot.day == event.day, Slot.status == "open",
    ).values(status="closed", closed_reason=f"{HOLIDAY_PREFIX}：{event.name}"[:200])
        .execution_options(synchronize_session=False)).rowcount
    rows = session.execute(
        select(Appointment.id, Appointment.window_id, ServiceWindow.name, Place.name,
               ServiceItem.name, Slot.starts_at)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(ServiceWindow, ServiceWindow.id == Appointment.window_id)
        .join(Place, Place.id == ServiceWindow.place_id)
        .join(ServiceItem, ServiceItem.id == Appointment.service_item_id)
        .where(Appointment.day == event.day, Appointment.status == "booked")
        .order_by(Slot.starts_at, Appointment.window_id, Appointment.id)
    ).all()
    report.appointments = [HolidayAppointment(*row) for row in rows]
    by_window: dict[int, list[HolidayAppointment]] = {}
    for appointment in report.appointments:
        by_window.setdefault(appointment.window_id, []).append(appointment)
    uow.record(*(BookedOnHoliday(window_id, event.day, event.name, tuple(booked), event.at)
                 for window_id, booked in by_window.items()))


# Wired by the composition root (backend/app.py).
HANDLERS = {PlaceArchived: [on_place_archived], PlaceRestored: [on_place_restored],
            CalendarDayChanged: [on_calendar_day_changed]}
