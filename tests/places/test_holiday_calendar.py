"""The holiday calendar table: seeded from the `holidays` package, checked against the
State Council notices (国务院办公厅关于部分节假日安排的通知) for 2024–2026, editable by hand and
by CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import holidays
import pytest
from flask import Flask
from sqlalchemy import delete, select

from backend.core.errors import InvalidInput
from backend.db import session_scope
from backend.places.calendar import (
    clear_day,
    day_kind,
    list_days,
    package_source,
    seed_calendar,
    set_day,
)
from backend.places.models import HolidayDay

SOURCE = f"holidays {holidays.__version__}"

# (first day, last day, festival) of each holiday period and the make-up working days, as the
# State Council notices announced them.
NOTICE_PERIODS = {
    2024: [
        (date(2024, 2, 10), date(2024, 2, 17), "春节"),
        (date(2024, 4, 4), date(2024, 4, 6), "清明节"),
        (date(2024, 5, 1), date(2024, 5, 5), "劳动节"),
        (date(2024, 6, 8), date(2024, 6, 10), "端午节"),
        (date(2024, 9, 15), date(2024, 9, 17), "中秋节"),
        (date(2024, 10, 1), date(2024, 10, 7), "国庆节"),
    ],
    2025: [
        (date(2025, 1, 1), date(2025, 1, 1), "元旦"),
        (date(2025, 1, 28), date(2025, 2, 4), "春节"),
        (date(2025, 4, 4), date(2025, 4, 6), "清明节"),
        (date(2025, 5, 1), date(2025, 5, 5), "劳动节"),
        (date(2025, 5, 31), date(2025, 6, 2), "端午节"),
        (date(2025, 10, 1), date(2025, 10, 8), "国庆节"),
    ],
    2026: [
        (date(2026, 1, 1), date(2026, 1, 3), "元旦"),
        (date(2026, 2, 15), date(2026, 2, 23), "春节"),
        (date(2026, 4, 4), date(2026, 4, 6), "清明节"),
        (date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
        (date(2026, 6, 19), date(2026, 6, 21), "端午节"),
        (date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
        (date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
    ],
}
NOTICE_WORKDAYS = {
    2024: [date(2024, 2, 4), date(2024, 2, 18), date(2024, 4, 7), date(2024, 4, 28),
           date(2024, 5, 11), date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)],
    2025: [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
           date(2025, 10, 11)],
    2026: [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
           date(2026, 9, 20), date(2026, 10, 10)],
}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


@pytest.fixture
def calendar_app(scratch_app: Flask) -> Iterator[Flask]:
    """The shared scratch database with an empty calendar (other tests may have seeded it)."""
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        session.execute(delete(HolidayDay))
    yield scratch_app


def factory(app: Flask):  # noqa: ANN201
    return app.extensions["servicemap"].session_factory


def snapshot(app: Flask) -> list[tuple]:
    with session_scope(factory(app)) as session:
        rows = session.scalars(select(HolidayDay).order_by(HolidayDay.day))
        return [(row.day, row.kind, row.name, row.source, row.updated_at) for row in rows]


def kinds(app: Flask, wanted: list[date]) -> dict[date, str | None]:
    with session_scope(factory(app)) as session:
        return {day: day_kind(session, day) for day in wanted}


def seed(app: Flask, years=range(2024, 2028)) -> int:  # noqa: ANN001
    with session_scope(factory(app)) as session:
        return seed_calendar(session, years)


def test_seed__2025_national_day__1_to_8_october_off_with_weekend_filled(calendar_app):
    seed(calendar_app)
    national_day = days(date(2025, 10, 1), date(2025, 10, 8))
    assert set(kinds(calendar_app, national_day).values()) == {"holiday"}
    # the package lists 1–3 and 6–8 Oct only; Sat 4 and Sun 5 are filled, named after the period
    with session_scope(factory(calendar_app)) as session:
        filled = [session.get(HolidayDay, date(2025, 10, day)) for day in (4, 5)]
        assert [(row.name, row.source) for row in filled] == [("国庆节", SOURCE)] * 2
    # make-up working days around it, and the first ordinary day after it
    around = kinds(calendar_app, [date(2025, 9, 28), date(2025, 10, 11), date(2025, 10, 9),
                                  date(2025, 9, 30), date(2025, 10, 12)])
    assert around == {date(2025, 9, 28): "workday", date(2025, 10, 11): "workday",
                      date(2025, 10, 9): None, date(2025, 9, 30): None, date(2025, 10, 12): None}


def test_seed__2025_spring_festival__28_jan_to_4_feb_with_makeup_days(calendar_app):
    seed(calendar_app)
    festival = days(date(2025, 1, 28), date(2025, 2, 4))
    assert set(kinds(calendar_app, festival).values()) == {"holiday"}
    assert kinds(calendar_app, [date(2025, 1, 26), date(2025, 2, 8), date(2025, 1, 27),
                                date(2025, 2, 5), date(2025, 1, 25), date(2025, 2, 9)]) == {
        date(2025, 1, 26): "workday", date(2025, 2, 8): "workday", date(2025, 1, 27): None,
        date(2025, 2, 5): None, date(2025, 1, 25): None, date(2025, 2, 9): None,
    }
    with session_scope(factory(calendar_app)) as session:
        assert session.get(HolidayDay, date(2025, 2, 1)).name == "春节"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_seed__year__matches_state_council_notice(calendar_app, year):
    """Every day of every announced period is off, the day before and after is not, the make-up
    days are working days, and nothing else is listed for the year."""
    seed(calendar_app)
    expected: dict[date, str] = {}
    for first, last, _festival in NOTICE_PERIODS[year]:
        expected.update(dict.fromkeys(days(first, last), "holiday"))
    expected.update(dict.fromkeys(NOTICE_WORKDAYS[year], "workday"))
    with session_scope(factory(calendar_app)) as session:
        listed = {row.day: row.kind for row in list_days(session, year)}
    if year == 2024:
        # 2024's New Year holiday began on 30 Dec 2023, outside the seeded years: 1 Jan only.
        expected[date(2024, 1, 1)] = "holiday"
    assert listed == expected


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_seed__filled_days__named_after_their_festival(calendar_app, year):
    seed(calendar_app)
    china = holidays.China(years=year, language="zh_CN")
    with session_scope(factory(calendar_app)) as session:
        for first, last, festival in NOTICE_PERIODS[year]:
            filled = [day for day in days(first, last) if day not in china]
            assert [session.get(HolidayDay, day).name for day in filled] == [festival] * len(
                filled), (first, festival)


def test_seed__every_package_day__stored_with_its_kind(calendar_app):
    """The package is the oracle for the days it lists; only weekend days are added."""
    seed(calendar_app)
    china = holidays.China(years=range(2024, 2028), language="zh_CN")
    with session_scope(factory(calendar_app)) as session:
        rows = {row.day: row for row in session.scalars(select(HolidayDay))}
    for day, name in china.items():
        assert (rows[day].kind, rows[day].name, rows[day].source) == ("holiday", name, SOURCE)
    for day in china.weekend_workdays:
        if 2024 <= day.year <= 2027:
            assert (rows[day].kind, rows[day].name) == ("workday", "调休上班")
    added = set(rows) - set(china) - set(china.weekend_workdays)
    assert added and all(day.weekday() >= 5 and rows[day].kind == "holiday" for day in added)


def test_seed__twice__second_run_writes_nothing(calendar_app):
    # given
    first = seed(calendar_app)
    before = snapshot(calendar_app)
    # when
    second = seed(calendar_app)
    # then
    assert first == len(before) > 100
    assert second == 0
    assert snapshot(calendar_app) == before
    assert {row[3] for row in before} == {SOURCE} == {package_source()}


def test_seed__manual_rows__survive_reseeding(calendar_app):
    # given: an editor moved 8 Oct 2025 to a working day and added a local holiday
    seed(calendar_app)
    with session_scope(factory(calendar_app)) as session:
        set_day(session, date(2025, 10, 8), "workday", "本地调整上班")
        set_day(session, date(2025, 3, 3), "holiday", "地方节日")
    manual = [row for row in snapshot(calendar_app) if row[3] == "manual"]
    # when
    written = seed(calendar_app)
    # then
    assert written == 0
    assert [row for row in snapshot(calendar_app) if row[3] == "manual"] == manual
    assert [row[:3] for row in manual] == [
        (date(2025, 3, 3), "holiday", "地方节日"), (date(2025, 10, 8), "workday", "本地调整上班")
    ]


def test_seed__rows_of_an_older_package__corrected(calendar_app):
    # given: what an older package release wrote, including a day it got wrong
    with session_scope(factory(calendar_app)) as session:
        session.add(HolidayDay(day=date(2025, 10, 1), kind="holiday", name="国庆节",
                               source="holidays 0.1"))
        session.add(HolidayDay(day=date(2025, 3, 4), kind="holiday", name="误录",
                               source="holidays 0.1"))
        session.add(HolidayDay(day=date(2023, 3, 4), kind="holiday", name="不在本次年份",
                               source="holidays 0.1"))
    # when
    seed(calendar_app, range(2025, 2026))
    # then
    assert kinds(calendar_app, [date(2025, 3, 4), date(2023, 3, 4)]) == {
        date(2025, 3, 4): None, date(2023, 3, 4): "holiday"}
    with session_scope(factory(calendar_app)) as session:
        assert session.get(HolidayDay, date(2025, 10, 1)).source == SOURCE


def test_seed__years_out_of_range__refused(calendar_app):
    with pytest.raises(InvalidInput) as refused, session_scope(factory(calendar_app)) as session:
        seed_calendar(session, [2025, 3000])
    assert refused.value.field == "year"
    assert snapshot(calendar_app) == []


def test_set_and_clear_day__manual_edits(calendar_app):
    with session_scope(factory(calendar_app)) as session:
        set_day(session, date(2027, 2, 11), "holiday", "  春节  ")
        set_day(session, date(2027, 2, 11), "holiday", "春节（国务院通知）")
    with session_scope(factory(calendar_app)) as session:
        row = session.get(HolidayDay, date(2027, 2, 11))
        assert (row.kind, row.name, row.source) == ("holiday", "春节（国务院通知）", "manual")
        assert [day.day for day in list_days(session, 2027)] == [date(2027, 2, 11)]
        assert list_days(session, 2026) == []
    with session_scope(factory(calendar_app)) as session:
        assert clear_day(session, date(2027, 2, 11)) is True
        assert clear_day(session, date(2027, 2, 11)) is False
    assert kinds(calendar_app, [date(2027, 2, 11)]) == {date(2027, 2, 11): None}


@pytest.mark.parametrize(
    ("kind", "name", "field"),
    [("ordinary", "x", "kind"), ("HOLIDAY", "x", "kind"), ("holiday", "   ", "name"),
     ("workday", "长" * 65, "name")],
    ids=["unknown-kind", "kind-case", "blank-name", "long-name"],
)
def test_set_day__bad_input__refused_and_nothing_changed(calendar_app, kind, name, field):
    with pytest.raises(InvalidInput) as refused, session_scope(factory(calendar_app)) as session:
        set_day(session, date(2025, 10, 9), kind, name)
    assert refused.value.field == field
    assert snapshot(calendar_app) == []


def cli(app: Flask, *args: str):  # noqa: ANN201
    return app.test_cli_runner().invoke(args=["calendar", *args])


def test_cli__seed_list_set_clear(calendar_app):
    result = cli(calendar_app, "seed", "--from-year", "2025", "--to-year", "2025")
    assert result.exit_code == 0, result.output
    assert f"来源 {SOURCE}" in result.output
    listed = cli(calendar_app, "list", "--year", "2025")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert f"2025-10-04  周六  放假  国庆节  {SOURCE}" in lines
    assert f"2025-09-28  周日  调休上班  调休上班  {SOURCE}" in lines
    assert lines == sorted(lines)
    # a new notice moves a day by hand
    result = cli(calendar_app, "set", "2025-10-09", "--holiday", "--name", "国庆节（延长）")
    assert result.exit_code == 0, result.output
    result = cli(calendar_app, "set", "2025-10-12", "--workday")
    assert result.exit_code == 0, result.output
    assert "2025-10-12  周日  调休上班  调休上班  manual" in result.output
    assert kinds(calendar_app, [date(2025, 10, 9), date(2025, 10, 12)]) == {
        date(2025, 10, 9): "holiday", date(2025, 10, 12): "workday"}
    result = cli(calendar_app, "clear", "2025-10-09")
    assert result.exit_code == 0 and "已恢复为普通日期" in result.output
    assert kinds(calendar_app, [date(2025, 10, 9)]) == {date(2025, 10, 9): None}
    empty = cli(calendar_app, "list", "--year", "2031")
    assert empty.exit_code == 0 and "2031 年没有" in empty.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "2025-13-01", "--holiday", "--name", "x"], "日期格式无效"),
        (["set", "2025/10/09", "--holiday", "--name", "x"], "日期格式无效"),
        (["set", "2025-10-09", "--name", "x"], "请指定 --holiday"),
        (["set", "2025-10-09", "--holiday"], "名称不能为空"),
        (["set", "2025-10-09", "--holiday", "--name", " "], "名称不能为空"),
        (["clear", "10/09"], "日期格式无效"),
        (["seed", "--from-year", "2027", "--to-year", "2024"], "起始年份 2027 晚于结束年份 2024"),
        (["seed", "--from-year", "1900", "--to-year", "2024"], "年份超出范围"),
        (["list", "--year", "0"], "年份无效"),
    ],
    ids=["month-13", "slashes", "no-kind", "holiday-without-name", "blank-name", "clear-bad-date",
         "inverted-years", "year-out-of-range", "year-zero"],
)
def test_cli__bad_input__refused_with_chinese_message_and_nothing_changed(calendar_app, args,
                                                                        message):
    # given
    seed(calendar_app, range(2025, 2026))
    before = snapshot(calendar_app)
    # when
    result = cli(calendar_app, *args)
    # then
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert snapshot(calendar_app) == before


def test_clear_day__package_day__stays_ordinary_after_reseeding(calendar_app):
    # given: the package's 2025 National Day, and an editor who pins 8 Oct as ordinary
    with session_scope(factory(calendar_app)) as session:
        seed_calendar(session, [2025])
    assert kinds(calendar_app, [date(2025, 10, 8)]) == {date(2025, 10, 8): "holiday"}
    with session_scope(factory(calendar_app)) as session:
        assert clear_day(session, date(2025, 10, 8)) is True
    # when: seeding again (every `make run` does)
    with session_scope(factory(calendar_app)) as session:
        seed_calendar(session, [2025])
    # then
    assert kinds(calendar_app, [date(2025, 10, 8)]) == {date(2025, 10, 8): None}
    listed = cli(calendar_app, "list", "--year", "2025")
    assert "2025-10-08  周三  普通日期（手动）  普通日期  manual" in listed.output.splitlines()
