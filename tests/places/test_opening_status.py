"""Place.openingStatus: open now and until when, or when next, with the day's holiday note —
what the resident app shows on its list and place screens."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import delete

from backend.db import session_scope
from backend.places.calendar import seed_calendar
from backend.places.hours import BUSINESS_TZ, OpenAt, opening_status
from backend.places.models import HolidayDay
from tests.helpers import gql_data, operation

LUNCH_BREAK = "Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00; PH off"
HOLIDAY_MORNINGS = "Mo-Su 08:00-17:00; PH 08:00-12:00"
NATIONAL_DAY = {date(2025, 10, day): ("holiday", "国庆节") for day in range(1, 9)}
MAKEUP_SUNDAY = {date(2025, 9, 28): ("workday", "调休上班")}


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)


@pytest.mark.parametrize(
    ("expression", "at", "days", "expected"),
    [
        # Saturday afternoon: closed, next Monday 09:00
        (LUNCH_BREAK, beijing(2026, 12, 5, 13, 0), {}, (False, None, beijing(2026, 12, 7, 9, 0),
                                                         None)),
        # Friday morning: open until the lunch break
        (LUNCH_BREAK, beijing(2026, 12, 4, 10, 0), {}, (True, beijing(2026, 12, 4, 12, 0), None,
                                                         None)),
        # the lunch break: open again at 13:30
        (LUNCH_BREAK, beijing(2026, 12, 4, 12, 30), {}, (False, None, beijing(2026, 12, 4, 13, 30),
                                                          None)),
        # National Day: closed through 8 Oct, next opening on Thursday 9 Oct
        (LUNCH_BREAK, beijing(2025, 10, 1, 10, 0), NATIONAL_DAY,
         (False, None, beijing(2025, 10, 9, 9, 0), "今日国庆节，放假")),
        # a make-up working Sunday before opening: weekday hours
        (LUNCH_BREAK, beijing(2025, 9, 28, 8, 0), MAKEUP_SUNDAY,
         (False, None, beijing(2025, 9, 28, 9, 0), "今日调休上班（按工作日时间）")),
        # a holiday morning of a hospital: open until noon
        (HOLIDAY_MORNINGS, beijing(2025, 10, 1, 10, 0), NATIONAL_DAY,
         (True, beijing(2025, 10, 1, 12, 0), None, "今日国庆节，放假")),
        # round the clock: open, no end within the fortnight
        ("24/7", beijing(2026, 12, 4, 3, 0), {}, (True, None, None, None)),
        # closed for good: no next opening
        ("off", beijing(2026, 12, 4, 3, 0), {}, (False, None, None, None)),
    ],
)
def test_opening_status__cases(expression, at, days, expected):
    status = opening_status(expression, at, days)
    assert (status.is_open, status.closes_at, status.next_open_at, status.day_note) == expected


def test_opening_status__calendar_from_the_database(scratch_app):
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        # the scratch database is shared: another test may have left a manual day in it
        session.execute(delete(HolidayDay))
        seed_calendar(session, [2025])
        status = OpenAt(session, beijing(2025, 10, 1, 10, 0)).status(LUNCH_BREAK)
    assert status.next_open_at == beijing(2025, 10, 9, 9, 0)
    assert status.day_note == "今日国庆节，放假"


def test_operation_find_places__near__nearest_first_with_status(demo_client):
    data = gql_data(demo_client, operation("FindPlaces"), {
        "near": {"lat": 30.2741, "lon": 120.1551, "crs": "GCJ02"}, "kinds": ["SERVICE_HALL"],
        "first": 5})
    edges = data["places"]["edges"]
    assert len(edges) == 5
    distances = [edge["distanceMeters"] for edge in edges]
    assert distances == sorted(distances)
    for edge in edges:
        status = edge["node"]["openingStatus"]
        # every demo hall opens within the fortnight: either it is open or it says when
        assert status["isOpen"] or status["nextOpenAt"], edge
    # then the next page continues after the cursor
    more = gql_data(demo_client, operation("FindPlaces"), {
        "near": {"lat": 30.2741, "lon": 120.1551, "crs": "GCJ02"}, "kinds": ["SERVICE_HALL"],
        "first": 5, "after": data["places"]["pageInfo"]["endCursor"]})
    assert more["places"]["edges"][0]["distanceMeters"] >= distances[-1]


def test_operation_place_sheet__hall__everything_the_screen_shows(demo_client):
    [edge] = gql_data(demo_client, operation("FindPlaces"), {
        "near": {"lat": 31.2304, "lon": 121.4737}, "kinds": ["SERVICE_HALL"],
        "first": 1})["places"]["edges"]
    place = gql_data(demo_client, operation("PlaceSheet"),
                     {"id": edge["node"]["id"], "crs": "GCJ02"})["place"]
    assert place["name"] == edge["node"]["name"]
    assert place["openingHours"] and place["openingStatus"] is not None
    assert place["navigation"]["amap"]["crs"] == "GCJ02"
    assert place["navigation"]["baidu"]["crs"] == "BD09"
    assert place["windows"] and place["windows"][0]["serviceItems"]
    assert place["serviceItems"]
