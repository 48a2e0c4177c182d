"""The holiday calendar: statutory holidays (放假) and make-up working days (调休上班).

A table, seeded from the maintained `holidays` package and editable, because each year's
State Council notice (国务院办公厅关于部分节假日安排的通知) may come before a package release.
Days without a row follow the ordinary week.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from backend.accounts.permissions import require_admin
from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.errors import InvalidInput
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.places.errors import PlaceError
from backend.places.events import CalendarDayChanged, CalendarFollowThrough
from backend.places.models import HolidayDay

HOLIDAY = "holiday"
WORKDAY = "workday"
# An editor's "this day is ordinary after all" (e.g. the package guessed a 补假 the notice did
# not give): stored, so the next seed does not bring the package's day back.
ORDINARY = "ordinary"
KINDS = (HOLIDAY, WORKDAY)
MANUAL_SOURCE = "manual"
MAKEUP_WORKDAY_NAME = "调休上班"
DEFAULT_YEARS = range(2024, 2028)
# The package's China calendar starts in 1950; the upper bound only stops runaway ranges.
SEED_YEAR_RANGE = (1950, 2100)
NAME_MAX_LENGTH = 64

# The package names the days it moved "休息日（由 … 调休）"; a filled weekend day takes the
# festival's name instead, and the Spring Festival period is 春节 even on New Year's Eve.
_MOVED_REST_DAY_PREFIX = "休息日"
_PERIOD_NAMES = {"农历除夕": "春节"}
_DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


def _holidays():
    # Imported when seeding, not by every serving worker: reading the table needs none of it.
    import holidays

    return holidays


def package_source() -> str:
    return f"holidays {_holidays().__version__}"


def package_calendar(years: Iterable[int]) -> dict[date, tuple[str, str]]:
    """(kind, name) per day from the package for these years, with the implicit weekend days of
    each holiday period filled in (the package lists 1–3 and 6–8 Oct 2025, not Sat 4 / Sun 5)."""
    year_set = set(years)
    if not year_set:
        return {}
    china = _holidays().China(years=sorted(year_set), language="zh_CN")
    listed = {day: str(name) for day, name in china.items() if day.year in year_set}
    workdays = {day for day in china.weekend_workdays if day.year in year_set} - listed.keys()
    calendar = {day: (HOLIDAY, name) for day, name in listed.items()}
    filled = _implicit_rest_days(listed.keys(), workdays, year_set)
    for day in filled:
        calendar[day] = (HOLIDAY, _period_name(day, listed, filled))
    calendar.update({day: (WORKDAY, MAKEUP_WORKDAY_NAME) for day in workdays})
    return calendar


def _implicit_rest_days(
    listed: Iterable[date], workdays: set[date], years: set[int]
) -> set[date]:
    """Saturdays and Sundays joined to a listed holiday, directly or through each other, that are
    not make-up working days: part of the holiday period though the package leaves them out."""
    listed_set = set(listed)
    filled: set[date] = set()
    for holiday in listed_set:
        for step in (timedelta(days=-1), timedelta(days=1)):
            day = holiday + step
            while (day.weekday() >= 5 and day not in workdays and day not in listed_set
                   and day.year in years):
                filled.add(day)
                day += step
    return filled


def _festival_name(name: str) -> str | None:
    if name.startswith(_MOVED_REST_DAY_PREFIX):
        return None
    name = name.removesuffix("（补假）")
    return _PERIOD_NAMES.get(name, name)


def _period_name(day: date, listed: dict[date, str], filled: set[date]) -> str:
    """The festival of the period a filled day belongs to: the nearest festival before it within
    the period (so 4–5 Oct 2025 are 国庆节, not 中秋节), else the nearest after it."""
    for step in (timedelta(days=-1), timedelta(days=1)):
        current = day + step
        while current in listed or current in filled:
            name = _festival_name(listed[current]) if current in listed else None
            if name:
                return name
            current += step
    return "节假日"


def seed_calendar(session: Session, years: Iterable[int] = DEFAULT_YEARS) -> int:
    """Upsert the package's calendar for these years; returns the rows inserted, updated or
    deleted. Rows an editor set (source "manual") are never touched; package rows the package no
    longer gives for these years are removed, so a newer package can correct an older one."""
    year_set = set(years)
    _check_seed_years(year_set)
    if not year_set:
        return 0
    wanted = package_calendar(year_set)
    source = package_source()
    statement = select(HolidayDay).where(
        HolidayDay.day >= date(min(year_set), 1, 1), HolidayDay.day <= date(max(year_set), 12, 31)
    )
    existing = {row.day: row for row in session.scalars(statement) if row.day.year in year_set}
    written = 0
    for day, (kind, name) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            session.add(HolidayDay(day=day, kind=kind, name=name, source=source))
        elif row.source == MANUAL_SOURCE or (row.kind, row.name, row.source) == (
            kind, name, source
        ):
            continue
        else:
            row.kind, row.name, row.source = kind, name, source
        written += 1
    for day, row in existing.items():
        if day not in wanted and row.source != MANUAL_SOURCE:
            session.delete(row)
            written += 1
    session.flush()
    return written


def _check_seed_years(years: set[int]) -> None:
    low, high = SEED_YEAR_RANGE
    outside = sorted(year for year in years if not low <= year <= high)
    if outside:
        raise InvalidInput(f"年份超出范围：{outside[0]}（可用 {low}–{high}）", "year")


def parse_day(text: str) -> date:
    """A calendar day written YYYY-MM-DD (what editors type from the State Council notice)."""
    value = text.strip()
    try:
        if not _DAY_PATTERN.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(
            f"日期格式无效：{text!r}，请使用 YYYY-MM-DD，如 2025-10-01", "day"
        ) from error


def set_day(session: Session, day: date, kind: str, name: str) -> HolidayDay:
    """Mark a day as a holiday or a make-up working day by hand; seeding never overwrites it."""
    if kind not in KINDS:
        raise InvalidInput(f"日期类型无效：{kind!r}，只能是 holiday（放假）或 workday（调休上班）",
                           "kind")
    name = name.strip()
    if not name:
        raise InvalidInput("名称不能为空，如 国庆节 或 调休上班", "name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"名称过长：最多 {NAME_MAX_LENGTH} 个字符", "name")
    row = session.get(HolidayDay, day)
    if row is None:
        row = HolidayDay(day=day, kind=kind, name=name, source=MANUAL_SOURCE)
        session.add(row)
    else:
        row.kind, row.name, row.source = kind, name, MANUAL_SOURCE
    session.flush()
    return row


def clear_day(session: Session, day: date) -> bool:
    """Make a day ordinary by hand, for good (seeding keeps it); False when it already was."""
    row = session.get(HolidayDay, day)
    if row is not None and (row.kind, row.source) == (ORDINARY, MANUAL_SOURCE):
        return False
    if row is None:
        session.add(HolidayDay(day=day, kind=ORDINARY, name="普通日期", source=MANUAL_SOURCE))
    else:
        row.kind, row.name, row.source = ORDINARY, "普通日期", MANUAL_SOURCE
    session.flush()
    return True


def list_days(session: Session, year: int) -> list[HolidayDay]:
    if not MINYEAR <= year <= MAXYEAR:
        raise InvalidInput(f"年份无效：{year}", "year")
    statement = (
        select(HolidayDay)
        .where(HolidayDay.day >= date(year, 1, 1), HolidayDay.day <= date(year, 12, 31))
        .order_by(HolidayDay.day)
    )
    return list(session.scalars(statement))


def day_kind(session: Session, day: date) -> str | None:
    """"holiday", "workday", or None for an ordinary day."""
    return listed_kind(session.scalar(select(HolidayDay.kind).where(HolidayDay.day == day)))


def day_kind_column(day: date | ColumnElement) -> ScalarSelect:
    """The stored kind of one day as a column of another statement (None when no row):
    `listed_kind` reads it as `day_kind` answers."""
    table = HolidayDay.__table__  # the table's columns: no ORM entity in the statement
    return select(table.c.kind).where(table.c.day == day).scalar_subquery()


def listed_kind(kind: str | None) -> str | None:
    """"holiday", "workday", or None for an ordinary day, from a stored kind (or no row)."""
    return None if kind == ORDINARY else kind


def days_from(session: Session, first: date, count: int) -> dict[date, tuple[str, str]]:
    """(kind, name) of the holidays and make-up working days among `count` days from `first`."""
    statement = select(HolidayDay).where(HolidayDay.day >= first,
                                         HolidayDay.day < first + timedelta(days=count))
    return {row.day: (row.kind, row.name) for row in session.scalars(statement)
            if row.kind != ORDINARY}


@dataclass(frozen=True)
class CalendarChange:
    """A day set or cleared by hand, and what booking did about it (filled in when the unit of
    work commits, before the use case returns)."""

    day: date
    kind: str  # holiday, workday or ordinary
    name: str
    source: str
    changed: bool
    follow_through: CalendarFollowThrough


def _changed(uow: UnitOfWork, row: HolidayDay, changed: bool,
             now: datetime | None) -> CalendarChange:
    event = CalendarDayChanged(day=row.day, kind=None if row.kind == ORDINARY else row.kind,
                               name=row.name, at=now or utcnow())
    if changed:
        # Booking's handler makes the day's slots follow, in this transaction.
        uow.record(event)
    return CalendarChange(row.day, row.kind, row.name, row.source, changed,
                          event.follow_through)


@transactional
def set_calendar_day(uow: UnitOfWork, day: date, kind: str, name: str, *,
                     now: datetime | None = None) -> CalendarChange:
    """The operator's (CLI) `set_day`, followed through: the day's free slots are removed on a
    new holiday and generated from the templates on a make-up working day (named 调休上班
    unless named)."""
    if kind == WORKDAY and not name.strip():
        name = MAKEUP_WORKDAY_NAME
    return _changed(uow, set_day(uow.session, day, kind, name), True, now)


@transactional
def clear_calendar_day(uow: UnitOfWork, day: date, *,
                       now: datetime | None = None) -> CalendarChange:
    """The operator's `clear_day`, followed through: an ordinary day gets its slots back."""
    changed = clear_day(uow.session, day)
    return _changed(uow, uow.session.get(HolidayDay, day), changed, now)


def admin_set_calendar_day(uow: UnitOfWork, principal: Principal, day: date, kind: str,
                           name: str, *, now: datetime | None = None) -> CalendarChange:
    """For admins over the API: FORBIDDEN for anyone else, bad input refused in the payload."""
    require_admin(principal)
    try:
        return set_calendar_day(uow, day, kind, name, now=now)
    except InvalidInput as error:
        raise PlaceError("INVALID_INPUT", error.message,
                         "date" if error.field == "day" else error.field) from error


def admin_clear_calendar_day(uow: UnitOfWork, principal: Principal, day: date, *,
                             now: datetime | None = None) -> CalendarChange:
    require_admin(principal)
    return clear_calendar_day(uow, day, now=now)


def admin_list_days(session: Session, principal: Principal, year: int) -> list[HolidayDay]:
    require_admin(principal)
    return list_days(session, year)
