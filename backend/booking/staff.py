"""Window staff's side: close slots and days, change capacity, check in, no-show, complete,
and the day's list."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.booking.appointments import MAX_REASON, cancel_booked, normalize_code
from backend.booking.errors import BookingError
from backend.booking.models import ACTIVE_STATUSES, Appointment, Slot
from backend.booking.permissions import (
    NOT_FOUND_MESSAGE,
    require_clerk_of,
    require_resident,
    require_some_window_clerk,
    require_window_clerk,
)
from backend.booking.windows import require_window
from backend.core.clock import as_utc, business_date, utcnow
from backend.core.unit_of_work import UnitOfWork

MAX_CAPACITY = 100


def _require_slot(session: Session, principal: Principal, slot_id: int) -> Slot:
    require_resident(principal)
    slot = session.get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise BookingError("NOT_FOUND", "未找到该时段", "slotId")
    return slot


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise BookingError("INVALID_INPUT", f"请填写原因（1–{MAX_REASON} 个字符）", "reason")
    return reason


def close_slot_cancelling(uow: UnitOfWork, slot: Slot, reason: str, now: datetime) -> int:
    """Close a slot (taking its row lock first) and cancel every booked appointment in it;
    returns how many were cancelled. Checked-in residents are already being served."""
    session = uow.session
    session.execute(update(Slot).where(Slot.id == slot.id)
                    .values(status="closed", closed_reason=reason, is_manual=True))
    cancelled = 0
    for appointment in session.scalars(select(Appointment).where(
            Appointment.slot_id == slot.id, Appointment.status == "booked")):
        cancelled += cancel_booked(uow, appointment, reason, by_window=True, now=now)
    session.refresh(slot)
    return cancelled


def close_slot(uow: UnitOfWork, principal: Principal, *, slot_id: int, reason: str,
               now: datetime | None = None) -> Slot:
    with uow:
        slot = _require_slot(uow.session, principal, slot_id)
        require_window_clerk(principal, slot.window_id)
        reason = _check_reason(reason)
        close_slot_cancelling(uow, slot, reason, now or utcnow())
        uow.commit()
    return slot


def close_day(uow: UnitOfWork, principal: Principal, *, window_id: int, day: date,
              reason: str, now: datetime | None = None) -> list[Slot]:
    require_resident(principal)
    with uow:
        window = require_window(uow.session, window_id)
        require_window_clerk(principal, window.id)
        reason = _check_reason(reason)
        slots = list(uow.session.scalars(
            select(Slot).where(Slot.window_id == window.id, Slot.day == day)
            .order_by(Slot.starts_at)))
        if not slots:
            raise BookingError("NOT_FOUND", "该窗口当天没有号源", "date")
        for slot in slots:
            close_slot_cancelling(uow, slot, reason, now or utcnow())
        uow.commit()
    return slots


def _reopen(session: Session, slot: Slot) -> bool:
    """Open a closed slot again (conditional: a concurrent reopening counts once). It stays
    marked as changed by hand, so generation keeps leaving it alone."""
    return bool(session.execute(
        update(Slot).where(Slot.id == slot.id, Slot.status == "closed")
        .values(status="open", closed_reason=None, is_manual=True)
    ).rowcount)


def reopen_slot(uow: UnitOfWork, principal: Principal, *, slot_id: int,
                now: datetime | None = None) -> Slot:
    """A closed slot that has not started becomes bookable again (residents whose
    appointments the closing cancelled are not rebooked: they were told, and book again)."""
    now = now or utcnow()
    with uow:
        session = uow.session
        slot = _require_slot(session, principal, slot_id)
        require_window_clerk(principal, slot.window_id)
        if slot.status != "closed":
            raise BookingError("NOT_CLOSED", field="slotId")
        if as_utc(slot.starts_at) <= now:
            raise BookingError("SLOT_STARTED", field="slotId")
        _reopen(session, slot)
        session.refresh(slot)
        uow.commit()
    return slot


def reopen_day(uow: UnitOfWork, principal: Principal, *, window_id: int, day: date,
               now: datetime | None = None) -> list[Slot]:
    """Every closed slot of the window's day that has not started is open again; the
    day's slots are returned (those already started stay as they were)."""
    require_resident(principal)
    now = now or utcnow()
    with uow:
        session = uow.session
        window = require_window(session, window_id)
        require_window_clerk(principal, window.id)
        slots = list(session.scalars(
            select(Slot).where(Slot.window_id == window.id, Slot.day == day)
            .order_by(Slot.starts_at)))
        reopenable = [slot for slot in slots
                      if slot.status == "closed" and as_utc(slot.starts_at) > now]
        if not reopenable:
            if any(slot.status == "closed" for slot in slots):
                raise BookingError("SLOT_STARTED", "当天已停约的时段都已开始，不能再开放", "date")
            raise BookingError("NOT_CLOSED", "该窗口当天没有已停约的时段", "date")
        for slot in reopenable:
            _reopen(session, slot)
            session.refresh(slot)
        uow.commit()
    return slots


def close_out_day(uow: UnitOfWork, principal: Principal, *, window_id: int, day: date,
                  expected_count: int | None = None, now: datetime | None = None) -> int:
    """End of the day: every appointment of the window's day still booked whose slot has
    ended becomes a no-show, in one statement; returns how many. With `expected_count` (the
    number the clerk confirmed), a different number refuses and changes nothing."""
    require_resident(principal)
    now = now or utcnow()
    with uow:
        session = uow.session
        window = require_window(session, window_id)
        require_window_clerk(principal, window.id)
        if expected_count is not None and expected_count < 0:
            raise BookingError("INVALID_INPUT", "确认人数不能为负数", "expectedCount")
        ended = select(Slot.id).where(Slot.window_id == window.id, Slot.day == day,
                                      Slot.ends_at <= now)
        changed = session.execute(
            update(Appointment).where(Appointment.window_id == window.id,
                                      Appointment.status == "booked",
                                      Appointment.slot_id.in_(ended))
            .values(status="no_show", updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if expected_count is not None and changed != expected_count:
            # decided on what the update itself changed (no count read before it that a
            # check-in could overtake); raising rolls the update back
            raise BookingError(
                "COUNT_CHANGED",
                f"现有 {changed} 个预约待标记爽约（确认时为 {expected_count} 个），"
                "请刷新后重新确认", "expectedCount")
        uow.commit()
    return changed


def set_slot_capacity(uow: UnitOfWork, principal: Principal, *, slot_id: int,
                      capacity: int) -> Slot:
    with uow:
        session = uow.session
        slot = _require_slot(session, principal, slot_id)
        require_window_clerk(principal, slot.window_id)
        if not 0 <= capacity <= MAX_CAPACITY:
            raise BookingError("INVALID_INPUT", f"容量须为 0–{MAX_CAPACITY}", "capacity")
        changed = session.execute(
            update(Slot).where(Slot.id == slot.id, Slot.booked <= capacity)
            .values(capacity=capacity, is_manual=True)
        ).rowcount
        session.refresh(slot)
        if not changed:
            raise BookingError("CAPACITY_BELOW_BOOKED",
                               f"已有 {slot.booked} 人预约，容量不能少于此数", "capacity")
        uow.commit()
    return slot


def _staff_appointment(session: Session, principal: Principal,
                       appointment_id: int) -> Appointment:
    require_some_window_clerk(principal)
    appointment = session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None:
        raise BookingError("NOT_FOUND", NOT_FOUND_MESSAGE, "appointmentId")
    require_clerk_of(principal, appointment, "appointmentId")
    return appointment


def _set_status(session: Session, appointment: Appointment, before: str, after: str,
                now: datetime, **values) -> None:
    changed = session.execute(
        update(Appointment).where(Appointment.id == appointment.id, Appointment.status == before)
        .values(status=after, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(appointment)
    if not changed:
        raise BookingError("INVALID_STATUS", field="appointmentId")


INVALID_CODE = "核验码无效或预约已结束"


def check_in(uow: UnitOfWork, principal: Principal, *, code: str,
             now: datetime | None = None) -> Appointment:
    """Staff check a resident in by the code of their appointment, on its day."""
    require_some_window_clerk(principal)
    now = now or utcnow()
    normalized = normalize_code(code or "")
    with uow:
        session = uow.session
        appointment = session.scalar(select(Appointment).where(
            Appointment.code == normalized, Appointment.status.in_(ACTIVE_STATUSES)))
        if appointment is None:
            raise BookingError("NOT_FOUND", INVALID_CODE, "code")
        require_clerk_of(principal, appointment, "code", INVALID_CODE)
        if appointment.status == "checked_in":
            uow.commit()
            return appointment  # scanned twice: same answer
        if appointment.day != business_date(now):
            raise BookingError("WRONG_DAY", f"该预约的日期是 {appointment.day.isoformat()}",
                               "code")
        _set_status(session, appointment, "booked", "checked_in", now, checked_in_at=now)
        uow.commit()
    return appointment


def mark_no_show(uow: UnitOfWork, principal: Principal, *, appointment_id: int,
                 now: datetime | None = None) -> Appointment:
    now = now or utcnow()
    with uow:
        appointment = _staff_appointment(uow.session, principal, appointment_id)
        slot = uow.session.get(Slot, appointment.slot_id)
        if as_utc(slot.starts_at) > now:
            raise BookingError("TOO_EARLY", field="appointmentId")
        _set_status(uow.session, appointment, "booked", "no_show", now)
        uow.commit()
    return appointment


def complete(uow: UnitOfWork, principal: Principal, *, appointment_id: int,
             now: datetime | None = None) -> Appointment:
    with uow:
        appointment = _staff_appointment(uow.session, principal, appointment_id)
        if appointment.status != "checked_in":
            raise BookingError("INVALID_STATUS", "须先核验签到，才能办结", "appointmentId")
        _set_status(uow.session, appointment, "checked_in", "completed", now or utcnow())
        uow.commit()
    return appointment


def window_appointments(session: Session, principal: Principal, *, window_id: int,
                        day: date) -> list[Appointment]:
    require_resident(principal)
    window = require_window(session, window_id)
    require_window_clerk(principal, window.id)
    return list(session.scalars(
        select(Appointment).join(Slot, Slot.id == Appointment.slot_id)
        .where(Appointment.window_id == window.id, Slot.day == day)
        .order_by(Slot.starts_at, Appointment.id)
    ))


def window_slots(session: Session, principal: Principal, *, window_id: int, start: date,
                 end: date) -> list[Slot]:
    """Every slot of a window in a range, with occupancy (staff view)."""
    require_resident(principal)
    window = require_window(session, window_id)
    require_window_clerk(principal, window.id)
    if start > end or (end - start).days > 92:
        raise BookingError("INVALID_INPUT", "日期范围须为 1–93 天", "to")
    return list(session.scalars(
        select(Slot).where(Slot.window_id == window.id, Slot.day.between(start, end))
        .order_by(Slot.starts_at)
    ))
