"""Weekly schedule templates and the slots generated from them.

Generation follows the holiday calendar: no slots on statutory holidays; a make-up working day
(调休上班) gets the slots of the weekday whose hours it keeps. It never touches a slot that has
or had appointments, or that staff changed by hand (closed, capacity): those are kept, and a
template slot that would overlap one is skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.booking.errors import BookingError
from backend.booking.models import Appointment, ScheduleTemplate, ServiceWindow, Slot
from backend.booking.permissions import require_resident, require_window_clerk
from backend.booking.rules import BookingRules
from backend.booking.windows import require_window
from backend.core.clock import BUSINESS_TZ, as_utc, business_date, utcnow
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.db import insert_ignoring_conflicts
from backend.places.hours import reference_workday
from backend.places.models import HolidayDay

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_GENERATION_DAYS = 366
MAX_PREVIEW_SLOTS = 2000


@dataclass
class GenerationResult:
    created: int = 0
    updated: int = 0
    removed: int = 0
    # Slots kept as they were (they carry appointments or staff changes) and template slots
    # not created because such a slot stands in their time.
    skipped: int = 0
    holidays: list[date] = field(default_factory=list)

    def add(self, other: GenerationResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.removed += other.removed
        self.skipped += other.skipped
        self.holidays = sorted(set(self.holidays) | set(other.holidays))


def parse_clock(text: str, field_name: str) -> time:
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise BookingError("INVALID_INPUT", f"时间须为 HH:MM 格式（00:00–23:59），收到 {text!r}",
                           field_name)
    return time(int(match[1]), int(match[2]))


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


@transactional
def upsert_template(uow: UnitOfWork, principal: Principal, rules: BookingRules, *,
                    window_id: int, weekday: int, start: str, end: str, slot_minutes: int,
                    capacity: int, valid_from: date | None = None, valid_to: date | None = None,
                    template_id: int | None = None,
                    now: datetime | None = None) -> tuple[ScheduleTemplate, GenerationResult]:
    """Create or change a weekly template, then regenerate the window's slots over the
    rolling horizon. A template is identified by `template_id`, else by (window, weekday,
    start, valid_from)."""
    session = uow.session
    require_resident(principal)
    window = require_window(session, window_id)
    require_window_clerk(principal, window.id)
    _lock_window(session, window.id)
    start_time, end_time = _check_template(weekday, start, end, slot_minutes, capacity,
                                           valid_from, valid_to)

    if template_id is not None:
        template = session.get(ScheduleTemplate, template_id)
        if template is None or template.window_id != window.id:
            raise BookingError("NOT_FOUND", "未找到该窗口的排班模板", "id")
    else:
        template = session.scalar(select(ScheduleTemplate).where(
            ScheduleTemplate.window_id == window.id, ScheduleTemplate.weekday == weekday,
            ScheduleTemplate.start_time == start_time,
            ScheduleTemplate.valid_from.is_(None) if valid_from is None
            else ScheduleTemplate.valid_from == valid_from,
        ))
    for other in session.scalars(select(ScheduleTemplate).where(
        ScheduleTemplate.window_id == window.id, ScheduleTemplate.weekday == weekday,
    )):
        if template is not None and other.id == template.id:
            continue
        if (other.start_time < end_time and start_time < other.end_time
                and _validity_overlaps(other, valid_from, valid_to)):
            raise BookingError(
                "INVALID_INPUT",
                f"与已有排班模板（{other.start_time:%H:%M}–{other.end_time:%H:%M}）时间重叠",
                "start",
            )
    if template is None:
        template = ScheduleTemplate(window_id=window.id)
        session.add(template)
    template.weekday, template.start_time, template.end_time = weekday, start_time, end_time
    template.slot_minutes, template.capacity = slot_minutes, capacity
    template.valid_from, template.valid_to = valid_from, valid_to
    session.flush()
    return template, regenerate_horizon(session, rules, window.id, now)


def _check_template(weekday: int, start: str, end: str, slot_minutes: int, capacity: int,
                    valid_from: date | None, valid_to: date | None) -> tuple[time, time]:
    """The template's fields checked (INVALID_INPUT on the first wrong one); its times."""
    if not 1 <= weekday <= 7:
        raise BookingError("INVALID_INPUT", "weekday 须为 1（周一）到 7（周日）", "weekday")
    start_time, end_time = parse_clock(start, "start"), parse_clock(end, "end")
    if start_time >= end_time:
        raise BookingError("INVALID_INPUT", "开始时间须早于结束时间", "end")
    if not 5 <= slot_minutes <= 240:
        raise BookingError("INVALID_INPUT", "每个时段须为 5–240 分钟", "slotMinutes")
    if _minutes(end_time) - _minutes(start_time) < slot_minutes:
        raise BookingError("INVALID_INPUT", "起止时间容纳不下一个时段", "slotMinutes")
    if not 1 <= capacity <= 100:
        raise BookingError("INVALID_INPUT", "每个时段可约人数须为 1–100", "capacity")
    if valid_from and valid_to and valid_from > valid_to:
        raise BookingError("INVALID_INPUT", "生效日期须不晚于失效日期", "validTo")
    return start_time, end_time


@dataclass(frozen=True)
class TemplatePreview:
    """What a template would give over the rolling horizon: its slots as
    (starts_at, ends_at, capacity), and the days of its weekday left without slots as
    statutory holidays."""

    start: date
    end: date
    slots: list[tuple[datetime, datetime, int]]  # the first MAX_PREVIEW_SLOTS
    slot_count: int
    holidays: list[date]


def preview_template(session: Session, principal: Principal, rules: BookingRules, *,
                     window_id: int, weekday: int, start: str, end: str, slot_minutes: int,
                     capacity: int, valid_from: date | None = None,
                     valid_to: date | None = None,
                     now: datetime | None = None) -> TemplatePreview:
    """The slots a template would generate from today over the horizon, computed by the
    generation's own `desired_slots` with the holiday calendar (make-up working days
    included); nothing is written. Slots kept by staff or bookings are not subtracted."""
    require_resident(principal)
    window = require_window(session, window_id)
    require_window_clerk(principal, window.id)
    start_time, end_time = _check_template(weekday, start, end, slot_minutes, capacity,
                                           valid_from, valid_to)
    template = ScheduleTemplate(window_id=window.id, weekday=weekday, start_time=start_time,
                                end_time=end_time, slot_minutes=slot_minutes,
                                capacity=capacity, valid_from=valid_from, valid_to=valid_to)
    first = business_date(now or utcnow())
    last = first + timedelta(days=rules.generation_days)
    kinds = _day_kinds(session, first, last)
    slots, holidays = [], []
    day = first
    while day <= last:
        kind = kinds.get(day)
        if kind == "holiday" and day.isoweekday() == weekday and \
                not (valid_from and day < valid_from) and not (valid_to and day > valid_to):
            holidays.append(day)
        slots.extend(desired_slots([template], day, kind))
        day += timedelta(days=1)
    return TemplatePreview(first, last, slots[:MAX_PREVIEW_SLOTS], len(slots), holidays)


def _lock_window(session: Session, window_id: int) -> None:
    """One schedule change of a window at a time (the overlap check reads the other
    templates): a write on the window's row, a row lock on PostgreSQL and the write lock on
    SQLite."""
    session.execute(update(ServiceWindow).where(ServiceWindow.id == window_id)
                    .values(updated_at=utcnow()))


def _validity_overlaps(template: ScheduleTemplate, valid_from: date | None,
                       valid_to: date | None) -> bool:
    starts_before_other_ends = valid_from is None or template.valid_to is None \
        or valid_from <= template.valid_to
    other_starts_before_end = valid_to is None or template.valid_from is None \
        or template.valid_from <= valid_to
    return starts_before_other_ends and other_starts_before_end


def list_templates(session: Session, principal: Principal,
                   window_id: int) -> list[ScheduleTemplate]:
    require_window_clerk(principal, window_id)
    return list(session.scalars(
        select(ScheduleTemplate).where(ScheduleTemplate.window_id == window_id)
        .order_by(ScheduleTemplate.weekday, ScheduleTemplate.start_time, ScheduleTemplate.id)
    ))


@transactional
def delete_template(uow: UnitOfWork, principal: Principal, rules: BookingRules,
                    template_id: int, now: datetime | None = None
                    ) -> tuple[ScheduleTemplate, GenerationResult]:
    session = uow.session
    require_resident(principal)
    template = session.get(ScheduleTemplate, template_id)
    if template is None:
        raise BookingError("NOT_FOUND", "未找到该排班模板", "id")
    require_window_clerk(principal, template.window_id)
    _lock_window(session, template.window_id)
    session.delete(template)
    session.flush()
    return template, regenerate_horizon(session, rules, template.window_id, now)


def regenerate_horizon(session: Session, rules: BookingRules, window_id: int,
                       now: datetime | None = None) -> GenerationResult:
    """After a template change: the rolling horizon (today and the next generation_days), and
    as far as staff generated slots beyond it, so no slot of an old schedule stays bookable."""
    today = business_date(now or utcnow())
    last_generated = session.scalar(select(func.max(Slot.day)).where(Slot.window_id == window_id))
    end = max(today + timedelta(days=rules.generation_days), last_generated or today)
    return generate_window_slots(session, window_id, today, end)


@transactional
def generate_slots(uow: UnitOfWork, principal: Principal, rules: BookingRules, *,
                   window_id: int, start: date, end: date,
                   now: datetime | None = None) -> GenerationResult:
    """Staff generate slots for a future range, up to staff_horizon_days ahead."""
    session = uow.session
    require_resident(principal)
    window = require_window(session, window_id)
    require_window_clerk(principal, window.id)
    today = business_date(now or utcnow())
    if start > end:
        raise BookingError("INVALID_INPUT", "开始日期须不晚于结束日期", "to")
    if start < today:
        raise BookingError("INVALID_INPUT", "不能为过去的日期生成号源", "from")
    if end > today + timedelta(days=rules.staff_horizon_days):
        raise BookingError("OUT_OF_HORIZON",
                           f"最多只能生成 {rules.staff_horizon_days} 天内的号源", "to")
    return generate_window_slots(session, window.id, start, end)


def _day_kinds(session: Session, start: date, end: date) -> dict[date, str]:
    return dict(session.execute(
        select(HolidayDay.day, HolidayDay.kind).where(HolidayDay.day.between(start, end))
    ).all())


def _local(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=BUSINESS_TZ).astimezone(UTC)


def desired_slots(templates: list[ScheduleTemplate], day: date,
                  day_kind: str | None) -> list[tuple[datetime, datetime, int]]:
    """(starts_at, ends_at, capacity) of the slots the templates give a day."""
    if day_kind == "holiday":
        return []
    weekday = (reference_workday(day) if day_kind == "workday" else day).isoweekday()
    wanted = []
    for template in templates:
        if template.weekday != weekday:
            continue
        if (template.valid_from and day < template.valid_from) or \
                (template.valid_to and day > template.valid_to):
            continue
        begin, finish = _minutes(template.start_time), _minutes(template.end_time)
        for minute in range(begin, finish - template.slot_minutes + 1, template.slot_minutes):
            starts = _local(day, time(minute // 60, minute % 60))
            wanted.append((starts, starts + timedelta(minutes=template.slot_minutes),
                           template.capacity))
    return wanted


def generate_window_slots(session: Session, window_id: int, start: date,
                          end: date) -> GenerationResult:
    """Make the window's slots of [start, end] match its templates (no permission check:
    callers check, the CLI runs as the operator)."""
    if (end - start).days > MAX_GENERATION_DAYS:
        raise BookingError("OUT_OF_HORIZON", f"一次最多生成 {MAX_GENERATION_DAYS} 天", "to")
    templates = list(session.scalars(
        select(ScheduleTemplate).where(ScheduleTemplate.window_id == window_id)))
    kinds = _day_kinds(session, start, end)
    has_appointments = exists().where(Appointment.slot_id == Slot.id)
    existing: dict[date, list[tuple[Slot, bool]]] = {}
    for slot, kept in session.execute(
        select(Slot, has_appointments | Slot.is_manual | (Slot.status != "open")
               | (Slot.booked > 0))
        .where(Slot.window_id == window_id, Slot.day.between(start, end))
    ):
        existing.setdefault(slot.day, []).append((slot, bool(kept)))

    result = GenerationResult()
    free_to_remove = []
    new_rows = []
    day = start
    while day <= end:
        kind = kinds.get(day)
        if kind == "holiday":
            result.holidays.append(day)
        wanted = desired_slots(templates, day, kind)
        kept_slots = [slot for slot, kept in existing.get(day, []) if kept]
        free = {(as_utc(slot.starts_at), as_utc(slot.ends_at)): slot
                for slot, kept in existing.get(day, []) if not kept}
        result.skipped += len(kept_slots)
        for starts, ends, capacity in wanted:
            same = free.pop((starts, ends), None)
            if same is not None:
                if same.capacity != capacity:
                    # Conditional: a booking may have arrived since we read it.
                    changed = session.execute(
                        update(Slot).where(Slot.id == same.id, Slot.booked == 0,
                                           Slot.is_manual.is_(False))
                        .values(capacity=capacity)
                    ).rowcount
                    result.updated += changed
                continue
            kept_times = [(as_utc(k.starts_at), as_utc(k.ends_at)) for k in kept_slots]
            if (starts, ends) in kept_times:
                continue  # the kept slot stands in this very time (counted once, above)
            if any(k_starts < ends and starts < k_ends for k_starts, k_ends in kept_times):
                result.skipped += 1
                continue
            new_rows.append({"window_id": window_id, "day": day, "starts_at": starts,
                             "ends_at": ends, "capacity": capacity, "booked": 0,
                             "status": "open", "is_manual": False})
        free_to_remove.extend(slot.id for slot in free.values())
        day += timedelta(days=1)

    if free_to_remove:
        removed = session.execute(
            delete(Slot).where(
                Slot.id.in_(free_to_remove), Slot.booked == 0, Slot.is_manual.is_(False),
                Slot.status == "open",
                ~exists().where(Appointment.slot_id == Slot.id),
            ).execution_options(synchronize_session=False)
        ).rowcount
        result.removed += removed
    if new_rows:
        result.created += insert_ignoring_conflicts(session, Slot, new_rows,
                                                    ["window_id", "starts_at"])
    return result


def windows_with_templates(session: Session) -> list[int]:
    return list(session.scalars(
        select(ServiceWindow.id).where(
            ServiceWindow.is_active,
            exists().where(ScheduleTemplate.window_id == ServiceWindow.id),
        ).order_by(ServiceWindow.id)
    ))


@transactional
def generate_for_windows(uow: UnitOfWork, window_ids: list[int], start: date,
                         end: date) -> GenerationResult:
    """The operator's generation (CLI, cron): no permission check, any future range."""
    session = uow.session
    total = GenerationResult()
    for window_id in window_ids:
        require_window(session, window_id)
        total.add(generate_window_slots(session, window_id, start, end))
    return total
