"""Opening hours: validation, is_open on ordinary days, statutory holidays (PH rules) and make-up
working days (weekday hours), business time, and the DateTime scalar."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import graphene
import pytest
from flask import Flask
from opening_hours import OpeningHours
from sqlalchemy import delete

from backend.config import Settings
from backend.core.clock import BUSINESS_TZ, to_business_time
from backend.core.errors import InvalidInput
from backend.db import session_scope
from backend.places.calendar import package_calendar, seed_calendar, set_day
from backend.places.hours import (
    OpenAt,
    holiday_expression,
    is_open,
    reference_workday,
    validate_opening_hours,
)
from backend.places.models import HolidayDay
from backend.schema.core.scalars import DATETIME_ERROR, DateTime
from graphql import GraphQLError, StringValueNode
from mobile_api.graphql.rate_limits import RateLimits
from mobile_api.graphql.trusted import TrustedDocuments
from mobile_api.graphql.view import ServiceMapGraphQLView

LUNCH_BREAK = "Mo-Fr 09:00-12:00,13:30-17:00; PH off"
SATURDAY_SERVICE = "Mo-Fr 09:00-17:00; Sa 09:00-12:00; PH off"
HOLIDAY_MORNINGS = "Mo-Su 08:00-20:00; PH 09:00-12:00"
ALWAYS = "24/7"
HOLIDAY_HALF_DAY = "Mo-Fr 08:00-17:00; PH 08:00-12:00"
WEEKDAYS_AND_HOLIDAYS = "Mo-Fr,PH 09:00-17:00"
WEEKDAYS = "Mo-Fr 09:00-17:00"
SEASONAL = "Jan-Sep Mo-Fr 09:00-17:00; Oct-Dec Mo-Fr 08:00-16:00"

# 2025, as the State Council notice has it: None ordinary, or the calendar's kind.
DAY_KINDS = {
    date(2025, 9, 20): None,  # Sat
    date(2025, 9, 21): None,  # Sun
    date(2025, 9, 24): None,  # Wed
    date(2025, 9, 28): "workday",  # Sun, 调休上班 (weekday hours of Mon 29 Sep)
    date(2025, 10, 1): "holiday",  # Wed, 国庆节
    date(2025, 10, 4): "holiday",  # Sat, inside the 1–8 Oct period
    date(2025, 10, 8): "holiday",  # Wed
    date(2025, 10, 9): None,  # Thu
    date(2025, 10, 11): "workday",  # Sat, 调休上班 (weekday hours of Fri 10 Oct)
}

ORACLE = [
    # ordinary weekday: the lunch break and both ends of each interval (end minute is closed)
    (LUNCH_BREAK, "2025-09-24 08:59", False),
    (LUNCH_BREAK, "2025-09-24 09:00", True),
    (LUNCH_BREAK, "2025-09-24 11:59:59", True),
    (LUNCH_BREAK, "2025-09-24 12:00", False),
    (LUNCH_BREAK, "2025-09-24 12:30", False),
    (LUNCH_BREAK, "2025-09-24 13:29", False),
    (LUNCH_BREAK, "2025-09-24 13:30", True),
    (LUNCH_BREAK, "2025-09-24 16:59", True),
    (LUNCH_BREAK, "2025-09-24 17:00", False),
    # ordinary weekend
    (LUNCH_BREAK, "2025-09-20 10:00", False),
    (LUNCH_BREAK, "2025-09-21 10:00", False),
    # make-up working days keep the weekday hours, lunch break included
    (LUNCH_BREAK, "2025-09-28 10:00", True),
    (LUNCH_BREAK, "2025-09-28 12:30", False),
    (LUNCH_BREAK, "2025-09-28 16:00", True),
    (LUNCH_BREAK, "2025-09-28 17:30", False),
    (LUNCH_BREAK, "2025-10-11 10:00", True),
    # statutory holidays: PH off
    (LUNCH_BREAK, "2025-10-01 10:00", False),
    (LUNCH_BREAK, "2025-10-04 10:00", False),
    (LUNCH_BREAK, "2025-10-08 10:00", False),
    (LUNCH_BREAK, "2025-10-09 10:00", True),
    # a hall with Saturday service
    (SATURDAY_SERVICE, "2025-09-20 10:00", True),
    (SATURDAY_SERVICE, "2025-09-20 12:00", False),
    (SATURDAY_SERVICE, "2025-09-20 14:00", False),
    (SATURDAY_SERVICE, "2025-10-04 10:00", False),  # a Saturday inside National Day
    (SATURDAY_SERVICE, "2025-10-11 14:00", True),  # a make-up Saturday: Friday's hours
    (SATURDAY_SERVICE, "2025-09-28 10:00", True),
    (SATURDAY_SERVICE, "2025-09-21 10:00", False),
    (SATURDAY_SERVICE, "2025-10-01 10:00", False),
    # open every day, shorter on holidays
    (HOLIDAY_MORNINGS, "2025-09-21 19:00", True),
    (HOLIDAY_MORNINGS, "2025-10-01 08:30", False),
    (HOLIDAY_MORNINGS, "2025-10-01 09:00", True),
    (HOLIDAY_MORNINGS, "2025-10-01 11:59", True),
    (HOLIDAY_MORNINGS, "2025-10-01 12:00", False),
    (HOLIDAY_MORNINGS, "2025-10-01 19:00", False),
    (HOLIDAY_MORNINGS, "2025-10-04 11:00", True),
    (HOLIDAY_MORNINGS, "2025-09-28 19:00", True),
    # 24/7 has no PH rule: closed on a statutory holiday (DESIGN.md §6), open otherwise
    (ALWAYS, "2025-09-21 03:00", True),
    (ALWAYS, "2025-09-28 23:59", True),
    (ALWAYS, "2025-10-01 10:00", False),
    # half a day on holidays
    (HOLIDAY_HALF_DAY, "2025-10-01 08:00", True),
    (HOLIDAY_HALF_DAY, "2025-10-01 11:59", True),
    (HOLIDAY_HALF_DAY, "2025-10-01 12:00", False),
    (HOLIDAY_HALF_DAY, "2025-10-01 14:00", False),
    (HOLIDAY_HALF_DAY, "2025-09-24 14:00", True),
    # weekdays and holidays alike: a holiday Saturday opens, an ordinary one does not
    (WEEKDAYS_AND_HOLIDAYS, "2025-10-04 10:00", True),
    (WEEKDAYS_AND_HOLIDAYS, "2025-10-01 16:59", True),
    (WEEKDAYS_AND_HOLIDAYS, "2025-09-20 10:00", False),
    # no PH rule at all: closed on 1 Oct although it is a Wednesday
    (WEEKDAYS, "2025-10-01 10:00", False),
    (WEEKDAYS, "2025-10-08 10:00", False),
    (WEEKDAYS, "2025-09-28 10:00", True),
    (WEEKDAYS, "2025-09-21 10:00", False),
    (WEEKDAYS, "2025-10-09 10:00", True),
    # PH only in a comment is no PH rule; a PH rule with a comment still is one
    ('Mo-Fr 09:00-17:00 "PH: 另行通知"', "2025-10-01 10:00", False),
    ('Mo-Fr 09:00-17:00 "PH: 另行通知"', "2025-09-24 10:00", True),
    ('Mo-Fr 09:00-17:00; PH 10:00-11:00 "节假日值班"', "2025-10-01 10:30", True),
    ('Mo-Fr 09:00-17:00; PH 10:00-11:00 "节假日值班"', "2025-10-01 11:30", False),
    # an additional rule (", ") and a fallback rule (" || ")
    ("Mo-Fr 09:00-12:00, PH 10:00-11:00", "2025-10-01 10:30", True),
    ("Mo-Fr 09:00-12:00, PH 10:00-11:00", "2025-10-01 11:30", False),
    ("Mo-Fr 09:00-12:00, PH 10:00-11:00", "2025-09-24 11:30", True),
    ("Mo-Fr 09:00-17:00 || PH off", "2025-10-01 10:00", False),
    # "PH +1 day" is the day after a holiday, not the holiday
    ("Mo-Fr 09:00-17:00; PH +1 day off", "2025-10-01 10:00", False),
    ("Mo-Fr 09:00-17:00; PH +1 day off", "2025-10-09 10:00", True),
    # month selectors see the make-up day's own month
    (SEASONAL, "2025-09-28 16:30", True),
    (SEASONAL, "2025-10-11 08:30", True),
    (SEASONAL, "2025-10-11 16:30", False),
    # unknown is not open
    ("Mo-Fr 09:00-17:00 unknown", "2025-09-24 10:00", False),
]


@pytest.mark.parametrize(("expression", "local", "expected"), ORACLE,
                         ids=[f"{case[0]}@{case[1]}" for case in ORACLE])
def test_is_open__oracle(expression, local, expected):
    at = datetime.fromisoformat(local)
    assert is_open(expression, at, DAY_KINDS[at.date()]) is expected
    # the same moment given with an offset, as an app sends it
    utc = at.replace(tzinfo=BUSINESS_TZ).astimezone(UTC)
    assert is_open(expression, utc, DAY_KINDS[at.date()]) is expected


def test_is_open__utc_input__read_in_beijing_time():
    utc = datetime.fromisoformat("2025-10-01T02:00:00Z")
    assert to_business_time(utc) == datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)
    assert to_business_time(utc).isoformat() == "2025-10-01T10:00:00+08:00"
    assert is_open(HOLIDAY_MORNINGS, utc, "holiday") is True
    # 01:30 UTC is 09:30 in Beijing: open; read naively it would be 01:30, closed
    assert is_open(LUNCH_BREAK, datetime(2025, 9, 24, 1, 30, tzinfo=UTC), None) is True
    assert is_open(LUNCH_BREAK, datetime(2025, 9, 24, 1, 30), None) is False


def test_to_business_time__naive__read_as_beijing_wall_clock():
    naive = datetime(2025, 10, 1, 10, 0)
    assert to_business_time(naive) == datetime(2025, 10, 1, 2, 0, tzinfo=UTC)
    assert to_business_time(naive).utcoffset() == timedelta(hours=8)
    new_york = datetime(2025, 9, 30, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    assert to_business_time(new_york).replace(tzinfo=None) == datetime(2025, 10, 1, 10, 0)


def test_is_open__unknown_hours__not_open(caplog):
    at = datetime(2025, 9, 24, 10, 0)
    assert is_open("", at, None) is False
    assert is_open("   ", at, None) is False  # the parser alone would read this as 24/7
    with caplog.at_level(logging.WARNING, logger="backend.places.hours"):
        assert is_open("Mo-Fx 09:00-17:00", at, None) is False
    assert "Mo-Fx" in caplog.text


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (LUNCH_BREAK, "Mo-Su closed"),
        (SATURDAY_SERVICE, "Mo-Su closed"),
        (HOLIDAY_MORNINGS, "Mo-Su 09:00-12:00"),
        (ALWAYS, None),
        (WEEKDAYS, None),
        (WEEKDAYS_AND_HOLIDAYS, "Mo-Fr,Mo-Su 09:00-17:00"),
        ("PH Sa 09:00-12:00", "Mo-Su,Sa 09:00-12:00"),
        ("PH", "Mo-Su"),
        ('Mo-Fr 09:00-17:00 "PH; closed, || x"; PH off', "Mo-Su closed"),
        ('Mo-Fr 09:00-17:00 "PH: 另行通知"', None),
        ('PH 10:00-11:00 "值班; PH"', 'Mo-Su 10:00-11:00 "值班; PH"'),
        ("Mo-Fr 09:00-17:00 || PH off", "Mo-Su closed"),
        ("Mo-Fr 09:00-12:00, PH 10:00-11:00, Sa 10:00-12:00", "Mo-Su 10:00-11:00"),
        ("Dec PH off; PH 10:00-12:00", "Dec Mo-Su closed; Mo-Su 10:00-12:00"),
        ("PH 09:00-12:00, PH 14:00-16:00", "Mo-Su 09:00-12:00, Mo-Su 14:00-16:00"),
        ("PH +1 day off; PH 10:00-11:00", "Mo-Su 10:00-11:00"),
        ("SH,PH off", "SH,Mo-Su closed"),
    ],
)
def test_holiday_expression__ph_rules_extracted(expression, expected):
    assert holiday_expression(expression) == expected


@pytest.mark.parametrize(
    ("day", "reference"),
    [
        (date(2025, 9, 28), date(2025, 9, 29)),  # Sun → the Monday after
        (date(2025, 10, 11), date(2025, 10, 10)),  # Sat → the Friday before
        (date(2025, 1, 26), date(2025, 1, 27)),
        (date(2025, 2, 8), date(2025, 2, 7)),
        (date(2025, 11, 1), date(2025, 11, 3)),  # Sat 1st: Friday is in October → Monday
        (date(2025, 11, 30), date(2025, 11, 28)),  # Sun 30th: Monday is in December → Friday
        (date(2025, 10, 1), date(2025, 10, 1)),  # a weekday keeps its own hours
    ],
)
def test_reference_workday__nearest_weekday_in_the_same_month(day, reference):
    assert reference_workday(day) == reference
    assert reference.weekday() < 5 and reference.month == day.month
    assert abs((reference - day).days) <= 2


EXPRESSIONS = [
    LUNCH_BREAK, SATURDAY_SERVICE, HOLIDAY_MORNINGS, ALWAYS, HOLIDAY_HALF_DAY,
    WEEKDAYS_AND_HOLIDAYS, WEEKDAYS, SEASONAL, "Mo,We,Fr 08:30-11:30", "Tu-Sa 10:00-18:30",
    "Mo-Fr 22:00-02:00", "Mo-Fr 09:00-17:00; Jul-Aug Mo-Fr 08:00-12:00; PH off",
    'Mo-Fr 09:00-17:00 "预约优先" || "电话预约"', "Sa-Su 09:00-17:00; PH 10:00-15:00",
]
TIME_ZONES = ["UTC", "Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin", "Asia/Kathmandu"]


def test_is_open__random_ordinary_days__equals_the_parsers_answer():
    """On a day the calendar does not list, our answer is the parser's, whatever the offset the
    moment comes with."""
    rng = random.Random(20251001)
    listed = package_calendar(range(2024, 2028))
    parsers = {text: OpeningHours(text, auto_country=False, auto_timezone=False)
               for text in EXPRESSIONS}
    checked = opened = 0
    while checked < 600:
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(4 * 365))
        if day in listed:
            continue
        local = datetime.combine(day, datetime.min.time()) + timedelta(
            minutes=rng.randrange(24 * 60), seconds=rng.choice([0, 0, 59]))
        text = rng.choice(EXPRESSIONS)
        expected = parsers[text].is_open(local)
        zone = ZoneInfo(rng.choice(TIME_ZONES))
        aware = local.replace(tzinfo=BUSINESS_TZ).astimezone(zone)
        assert is_open(text, local, None) is expected, (text, local)
        assert is_open(text, aware, None) is expected, (text, aware)
        checked += 1
        opened += expected
    assert 100 < opened < 500  # both answers were exercised


VALID_500 = WEEKDAYS + ' "' + "x" * (500 - len(WEEKDAYS) - 3) + '"'


def test_validate__valid__returns_stripped_expression():
    assert validate_opening_hours("  Mo-Fr 09:00-12:00,13:30-17:00; PH off \n") == LUNCH_BREAK
    assert validate_opening_hours(VALID_500) == VALID_500
    assert validate_opening_hours("24/7") == "24/7"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("Mo-Fx 09:00", "第 4 个字符处无法识别"),
        ("25:00-26:00", "第 1 个字符处无法识别"),
        ("Mo-Fr 09:00-17:00;", "无法识别"),
        ("2025-2020 off", "无法识别"),
        ("周一至周五 09:00-17:00", "半角"),
        ("Mo-Fr 09:00－17:00", "半角"),
        ("", "不能为空"),
        ("   ", "不能为空"),
        (VALID_500 + "x", "最多 500 个字符"),
    ],
    ids=["bad-weekday", "hour-25", "trailing-separator", "inverted-years", "chinese-words",
         "full-width-dash", "empty", "blank", "too-long"],
)
def test_validate__invalid__refused_with_chinese_message(text, detail):
    with pytest.raises(InvalidInput) as refused:
        validate_opening_hours(text)
    error = refused.value
    assert error.field == "openingHours"
    assert error.code == "BAD_USER_INPUT"
    assert error.message.startswith("营业时间格式无效：")
    assert detail in error.message


def test_validate__parser_message__explained_in_chinese_not_only_english():
    with pytest.raises(InvalidInput) as refused:
        validate_opening_hours("Mo-Fx 09:00")
    message = refused.value.message
    assert "Failed to parse" not in message and "-->" not in message
    assert "（expected wday）" in message
    assert "请使用 OpenStreetMap opening_hours 格式" in message


@pytest.fixture
def calendar_2025(scratch_app: Flask) -> Iterator[Flask]:
    """The shared scratch database with the 2025 calendar seeded (and nothing else)."""
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        session.execute(delete(HolidayDay))
        seed_calendar(session, [2025])
    yield scratch_app


@pytest.mark.parametrize(
    ("at", "kind", "expected"),
    [
        (datetime(2025, 10, 4, 10, 0), "holiday", {SATURDAY_SERVICE: False, HOLIDAY_MORNINGS: True,
                                                   WEEKDAYS_AND_HOLIDAYS: True}),
        (datetime(2025, 9, 28, 10, 0), "workday", {SATURDAY_SERVICE: True, LUNCH_BREAK: True}),
        (datetime(2025, 9, 21, 10, 0), None, {SATURDAY_SERVICE: False, LUNCH_BREAK: False}),
        (datetime(2025, 9, 20, 10, 0), None, {SATURDAY_SERVICE: True, LUNCH_BREAK: False}),
        # 17:00 on 30 Sep in Anchorage is 09:00 on 1 Oct in Beijing: the holiday's day, not 30 Sep
        (datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("America/Anchorage")), "holiday",
         {LUNCH_BREAK: False, HOLIDAY_MORNINGS: True, HOLIDAY_HALF_DAY: True}),
        (datetime.fromisoformat("2025-10-01T02:00:00Z"), "holiday",
         {HOLIDAY_MORNINGS: True, ALWAYS: False}),
        # 16:30 in Beijing on a make-up Saturday: Friday's hours, October's season
        (datetime.fromisoformat("2025-10-11T08:30:00+00:00"), "workday",
         {SATURDAY_SERVICE: True, SEASONAL: False}),
    ],
)
def test_open_at__calendar_from_the_database(calendar_2025, at, kind, expected):
    with session_scope(calendar_2025.extensions["servicemap"].session_factory) as session:
        open_at = OpenAt(session, at)
        assert open_at.day_kind == kind
        assert open_at.at.tzinfo is BUSINESS_TZ
        assert {text: open_at.is_open(text) for text in expected} == expected
        assert open_at.is_open(None) is False
        assert open_at.is_open("") is False


def test_open_at__manual_calendar_edit__followed(calendar_2025):
    # given: a new notice makes Thu 9 Oct 2025 a holiday
    factory = calendar_2025.extensions["servicemap"].session_factory
    at = datetime(2025, 10, 9, 10, 0)
    with session_scope(factory) as session:
        assert OpenAt(session, at).is_open(LUNCH_BREAK) is True
        set_day(session, date(2025, 10, 9), "holiday", "国庆节（延长）")
    # then
    with session_scope(factory) as session:
        assert OpenAt(session, at).is_open(LUNCH_BREAK) is False


# --- the DateTime scalar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-01T02:00:00Z", datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)),
        ("2025-10-01T10:00:00+08:00", datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)),
        ("2025-10-01T10:00:00", datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)),
        ("2025-10-01T10:00", datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)),
        ("2025-09-30T22:00:00-04:00", datetime(2025, 10, 1, 10, tzinfo=BUSINESS_TZ)),
        ("2025-10-01T10:00:00.250+08:00", datetime(2025, 10, 1, 10, 0, 0, 250_000,
                                                   tzinfo=BUSINESS_TZ)),
    ],
)
def test_datetime_scalar__iso_8601__parsed_to_beijing_time(text, expected):
    for parsed in (DateTime.parse_value(text), DateTime.parse_literal(StringValueNode(value=text))):
        assert parsed == expected
        assert parsed.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    "value",
    ["tomorrow", "2025-10-01", "2025-13-01T10:00:00", "2025-02-30T10:00:00", "10:00",
     "2025-10-01T25:00:00", "2025-10-01T10:00:00+25:00", "", 1759284000, None,
     "0001-01-01T00:00:00+14:00"],
)
def test_datetime_scalar__not_iso_8601__refused_in_chinese(value):
    with pytest.raises(GraphQLError) as refused:
        DateTime.parse_value(value)
    assert refused.value.message == DATETIME_ERROR


def test_datetime_scalar__serialize__offset_in_beijing_time():
    assert DateTime.serialize(datetime(2025, 10, 1, 2, tzinfo=UTC)) == "2025-10-01T10:00:00+08:00"
    assert DateTime.serialize(datetime(2025, 10, 1, 10, tzinfo=timezone(timedelta(hours=8)))) \
        == "2025-10-01T10:00:00+08:00"
    # a stored timestamp that SQLite gives back without its zone is UTC
    assert DateTime.serialize(datetime(2025, 10, 1, 2)) == "2025-10-01T10:00:00+08:00"


class _EchoQuery(graphene.ObjectType):
    echo = graphene.String(at=DateTime(required=True))

    @staticmethod
    def resolve_echo(_root, _info, at: datetime) -> str:
        return DateTime.serialize(at)


def test_datetime_scalar__bad_variable__bad_user_input_through_the_view():
    """The project's /graphql view turns a refused variable into BAD_USER_INPUT; the scalar's
    Chinese message must survive that."""
    app = Flask(__name__)
    schema = graphene.Schema(query=_EchoQuery)
    settings = Settings(database_url="sqlite://", app_env="test")
    app.add_url_rule("/graphql", view_func=ServiceMapGraphQLView.as_view(
        "graphql", schema=schema.graphql_schema,
        context_factory=lambda _authorization: SimpleNamespace(deadline=None), graphiql=False,
        settings=settings, trusted=TrustedDocuments({}, required=False),
        rate_limits=RateLimits(app, settings)))
    client = app.test_client()
    query = "query Echo($at: DateTime!) { echo(at: $at) }"

    def post(at: object) -> dict:
        response = client.post("/graphql", content_type="application/json",
                               data=json.dumps({"query": query, "variables": {"at": at}}))
        return response.get_json()

    assert post("2025-10-01T02:00:00Z") == {"data": {"echo": "2025-10-01T10:00:00+08:00"}}
    for bad in ("2025-10-01", "明天上午十点"):
        body = post(bad)
        assert body.get("data") is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert DATETIME_ERROR in error["message"]
