"""Booking's events turned into messages: the outbox rows are written by these handlers,
inside the transaction of the booking change that caused them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import RoleGrant
from backend.booking.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDetails,
    AppointmentMoved,
    BookedOnHoliday,
)
from backend.booking.models import Appointment
from backend.core.clock import as_utc, business_date, local_text
from backend.core.unit_of_work import UnitOfWork
from backend.notify.outbox import (
    BOOKING_CANCELLED,
    BOOKING_CHANGED,
    BOOKING_CONFIRMED,
    PLACE_REPORT_DISMISSED,
    PLACE_REPORT_RESOLVED,
    REMINDER_1H,
    REMINDER_24H,
    REMINDER_AHEAD,
    WINDOW_HOLIDAY_BOOKED,
    WINDOW_TODAY_CHANGED,
    OutgoingMessage,
    drop_pending_reminders,
    enqueue,
)
from backend.places.events import PlaceReportHandled


def _where(about: AppointmentDetails) -> str:
    """"Hall（window）", without repeating a window name the hall's name already carries
    (黄浦区市民服务中心（跨省通办窗口） has a window named 跨省通办窗口)."""
    if about.window.name in about.place.name:
        return about.place.name
    return f"{about.place.name}（{about.window.name}）"


def _reminders(about: AppointmentDetails, appointment: Appointment, now: datetime) -> list:
    starts = as_utc(about.slot.starts_at)
    messages = []
    for kind, title in ((REMINDER_24H, "明天有预约"), (REMINDER_1H, "预约即将开始")):
        due = starts - REMINDER_AHEAD[kind]
        if due <= now:
            continue
        messages.append(OutgoingMessage(
            uid=appointment.uid, kind=kind,
            dedupe_key=f"{kind}:{appointment.id}:r{appointment.revision}",
            title=title,
            body=f"{local_text(starts)} 在{_where(about)}办理"
                 f"「{about.item.name}」，核验码 {appointment.code}。",
            due_at=due, appointment_id=appointment.id,
            data={"appointmentId": str(appointment.id)},
        ))
    return messages


def _event_message(about: AppointmentDetails, appointment: Appointment, kind: str, title: str,
                   detail: str, now: datetime, urgent: bool = False,
                   key_suffix: str = "") -> OutgoingMessage:
    return OutgoingMessage(
        uid=appointment.uid, kind=kind,
        dedupe_key=f"{kind}:{appointment.id}{key_suffix}", title=title,
        body=f"{_where(about)}，{local_text(about.slot.starts_at)}，"
             f"「{about.item.name}」：{detail}",
        due_at=now, appointment_id=appointment.id, is_urgent=urgent,
        data={"appointmentId": str(appointment.id)},
    )


# What a window's staff are told about a resident's change to today's list.
WINDOW_CHANGES = {"booked": "新增预约", "cancelled": "预约已被取消",
                  "moved_out": "预约已改到其他时段", "moved_in": "有预约改到此时段"}


def _window_alerts(session: Session, about: AppointmentDetails, appointment: Appointment, *,
                   window_id: int, day: date, starts: datetime, change: str,
                   now: datetime) -> list[OutgoingMessage]:
    """Tell the staff of a window when a resident changes one of its appointments of today:
    the day's list they work from is no longer what they loaded."""
    if day != business_date(now):
        return []
    staff = session.scalars(select(RoleGrant.uid).where(RoleGrant.role == "staff",
                                                        RoleGrant.window_id == window_id)
                            .order_by(RoleGrant.uid)).all()
    return [OutgoingMessage(
        uid=uid, kind=WINDOW_TODAY_CHANGED,
        dedupe_key=f"{WINDOW_TODAY_CHANGED}:{appointment.id}:r{appointment.revision}:"
                   f"{change}:{window_id}:{uid}",
        title="今日预约有变动",
        body=f"{local_text(starts)}「{about.item.name}」{WINDOW_CHANGES[change]}。",
        due_at=now, appointment_id=appointment.id,
        data={"appointmentId": str(appointment.id), "windowId": str(window_id),
              "change": change},
    ) for uid in staff]


def on_booked(uow: UnitOfWork, event: AppointmentBooked) -> None:
    about, appointment, now = event.details, event.appointment, event.at
    enqueue(uow.session, [
        _event_message(about, appointment, BOOKING_CONFIRMED, "预约成功",
                       f"预约成功，核验码 {appointment.code}。请携带所需材料按时到达。", now),
        *_reminders(about, appointment, now),
        *_window_alerts(uow.session, about, appointment, window_id=about.slot.window_id,
                        day=about.slot.day, starts=as_utc(about.slot.starts_at),
                        change="booked", now=now),
    ])


def on_cancelled(uow: UnitOfWork, event: AppointmentCancelled) -> None:
    about, appointment, now = event.details, event.appointment, event.at
    drop_pending_reminders(uow.session, appointment.id)
    title = "预约已被窗口取消" if event.by_window else "预约已取消"
    enqueue(uow.session, [
        _event_message(about, appointment, BOOKING_CANCELLED, title,
                       f"预约已取消（{event.reason}）。", now, urgent=event.by_window),
        # A cancellation by the window is the staff's own doing.
        *([] if event.by_window else _window_alerts(
            uow.session, about, appointment, window_id=appointment.window_id,
            day=appointment.day, starts=as_utc(about.slot.starts_at), change="cancelled",
            now=now)),
    ])


def on_moved(uow: UnitOfWork, event: AppointmentMoved) -> None:
    about, appointment, now = event.details, event.appointment, event.at
    drop_pending_reminders(uow.session, appointment.id)
    enqueue(uow.session, [
        _event_message(about, appointment, BOOKING_CHANGED, "预约已改期",
                       f"已改期，核验码 {appointment.code}。", now,
                       key_suffix=f":r{appointment.revision}"),
        *_reminders(about, appointment, now),
        *_window_alerts(uow.session, about, appointment, window_id=event.old_window_id,
                        day=event.old_day, starts=event.old_starts_at, change="moved_out",
                        now=now),
        *_window_alerts(uow.session, about, appointment, window_id=about.slot.window_id,
                        day=about.slot.day, starts=as_utc(about.slot.starts_at),
                        change="moved_in", now=now),
    ])


def on_booked_on_holiday(uow: UnitOfWork, event: BookedOnHoliday) -> None:
    """Every staff member of the window hears which appointments now fall on a holiday: they
    decide whether to call the residents or cancel (nothing is cancelled for them)."""
    staff = uow.session.scalars(select(RoleGrant.uid).where(
        RoleGrant.role == "staff", RoleGrant.window_id == event.window_id)
        .order_by(RoleGrant.uid)).all()
    times = "、".join(f"{local_text(a.starts_at)[-5:]}「{a.service_item_name}」"
                     for a in event.appointments[:10])
    more = f" 等 {len(event.appointments)} 个" if len(event.appointments) > 10 else ""
    day = event.day.isoformat()
    ids = ",".join(str(a.appointment_id) for a in event.appointments)
    enqueue(uow.session, [OutgoingMessage(
        uid=uid, kind=WINDOW_HOLIDAY_BOOKED,
        # The same holiday with the same appointments is told once.
        dedupe_key=f"{WINDOW_HOLIDAY_BOOKED}:{event.window_id}:{day}:{uid}:"
                   f"{hashlib.sha256(ids.encode()).hexdigest()[:16]}",
        title="预约日改为节假日",
        body=f"{day} 已设为放假（{event.holiday_name}），本窗口仍有预约：{times}{more}。"
             "空闲号源已停止预约；请联系办事人改约或取消。",
        due_at=event.at, is_urgent=True,
        data={"windowId": str(event.window_id), "date": day,
              "appointmentIds": ids},
    ) for uid in staff])


def on_place_report_handled(uow: UnitOfWork, event: PlaceReportHandled) -> None:
    """The resident who reported wrong information hears what became of it."""
    subject = f"您对「{event.place_name}」的纠错（{event.reason_label}）"
    if event.outcome == "resolved":
        kind, title = PLACE_REPORT_RESOLVED, "纠错已采纳"
        body = f"{subject}已核实，地点信息已更新。感谢您的反馈！"
        if event.note:
            body += f"说明：{event.note}"
    else:
        kind, title = PLACE_REPORT_DISMISSED, "纠错未采纳"
        body = f"{subject}经核实未采纳。原因：{event.note}"
    enqueue(uow.session, [OutgoingMessage(
        uid=event.uid, kind=kind, dedupe_key=f"{kind}:{event.report_id}", title=title,
        body=body, due_at=event.at,
        data={"placeId": str(event.place_id), "reportId": str(event.report_id)})])


# Wired by the composition root (backend/app.py).
HANDLERS = {AppointmentBooked: [on_booked], AppointmentCancelled: [on_cancelled],
            AppointmentMoved: [on_moved], BookedOnHoliday: [on_booked_on_holiday],
            PlaceReportHandled: [on_place_report_handled]}
