"""places(text, serviceItemId, openAt, clinic, elderlyCare) over HTTP against oracles, both stores.

The oracles read the database directly (search tokens, opening hours, item links, the holiday
calendar) and decide each place independently of the SQL the API runs: token matching spelled
out in Python, opening hours through backend.places.hours on every place, distances from
GeographicLib.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from geographiclib.geodesic import Geodesic
from sqlalchemy import select

from backend.core.clock import to_business_time
from backend.db import session_scope
from backend.guidance.models import PlaceServiceItem, ServiceItem
from backend.places.calendar import day_kind
from backend.places.hours import is_open
from backend.places.models import Place
from backend.places.text import parse_text_query
from backend.schema.core.scalars import parse_datetime
from tests.helpers import error_codes, gql, gql_data, operation

GEODESIC = Geodesic.WGS84
FIND = operation("FindPlaces")
HANGZHOU = "330100"
HANGZHOU_CENTRE = {"lat": 30.2741, "lon": 120.1551}


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    name: str
    lat: float
    lon: float
    city_code: str | None
    search_text: str
    opening_hours: str | None
    cross_province_settlement: bool | None
    accepts_non_local: bool | None
    available_beds: int | None
    items: frozenset[int]


@pytest.fixture(scope="module")
def rows(demo_app) -> dict[int, Row]:
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        links: dict[int, set[int]] = {}
        for place_id, item_id in session.execute(
            select(PlaceServiceItem.place_id, PlaceServiceItem.service_item_id)
        ):
            links.setdefault(place_id, set()).add(item_id)
        return {
            p.id: Row(p.id, p.kind, p.name, p.lat, p.lon, p.city_code, p.search_text or "",
                      p.opening_hours, p.cross_province_settlement, p.accepts_non_local,
                      p.available_beds, frozenset(links.get(p.id, ())))
            for p in session.scalars(select(Place))
        }


@pytest.fixture(scope="module")
def items(demo_app) -> dict[int, ServiceItem]:
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        return {item.id: item for item in session.scalars(select(ServiceItem))}


def text_matches(search_text: str, text: str) -> bool:
    tokens = search_text.split()
    return all(
        any(token.startswith(term) if prefix else token == term for token in tokens)
        for term, prefix in parse_text_query(text).terms
    )


def walk(client, variables: dict, first: int = 100) -> list[dict]:
    edges, after = [], None
    for _ in range(200):
        connection = gql_data(client, FIND, {**variables, "first": first, "after": after})[
            "places"]
        edges += connection["edges"]
        if not connection["pageInfo"]["hasNextPage"]:
            ids = [edge["node"]["id"] for edge in edges]
            assert len(ids) == len(set(ids)), "a place appeared on two pages"
            return edges
        assert len(connection["edges"]) == first  # filters apply before the page is cut
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("too many pages")


def ids(edges: list[dict]) -> set[int]:
    return {int(edge["node"]["id"]) for edge in edges}


# ---------------------------------------------------------------------------------------------
# text


@pytest.mark.parametrize("text", ["社保", "shebao", "sb", "卫生", "weisheng", "wsy", "养老",
                                  "yanglao", "医保", "公积金", "gjj", "西湖", "户口", "福利院"])
def test_places_text__every_match_and_only_matches__by_relevance(demo_client, rows, text):
    # when: walking every page of a text search without `near`
    edges = walk(demo_client, {"text": text})
    # then: exactly the places whose tokens hold every term
    expected = {row.id for row in rows.values() if text_matches(row.search_text, text)}
    assert expected, text
    assert ids(edges) == expected
    assert all(edge["distanceMeters"] is None for edge in edges)


@pytest.mark.parametrize("text", ["社保", "shebao", "sb"])
def test_places_text__social_security__finds_the_halls_that_handle_the_card(
    demo_client, rows, items, text
):
    # given: the places linked to an item about the 社会保障卡 (by the catalog, not by tokens)
    card_items = {item.id for item in items.values() if "社会保障卡" in item.name}
    assert card_items
    handling = {row.id for row in rows.values() if row.items & card_items}
    assert handling
    # when
    found = ids(walk(demo_client, {"text": text, "kinds": ["SERVICE_HALL"]}))
    # then
    assert handling <= found


def test_places_text__name_match__ranks_before_item_only_match(demo_client, rows):
    # 福利院 is in the names of care homes only; a hall never ranks above them for it.
    edges = walk(demo_client, {"text": "社会福利院"}, first=20)
    kinds = [edge["node"]["kind"] for edge in edges]
    assert kinds and kinds[0] == "ELDERLY_CARE"


@pytest.mark.parametrize("text", ["社保", "wsy", "养老院"])
def test_places_text_near__nearest_first__equals_oracle(demo_client, rows, text):
    # given
    centre, radius = HANGZHOU_CENTRE, 15_000.0
    # when
    edges = walk(demo_client, {"text": text, "near": centre, "radiusMeters": radius}, first=7)
    # then: the matches within the radius, by (distance, id)
    expected = sorted(
        (GEODESIC.Inverse(centre["lat"], centre["lon"], r.lat, r.lon)["s12"], r.id)
        for r in rows.values() if text_matches(r.search_text, text)
    )
    expected = [(d, i) for d, i in expected if d <= radius]
    assert expected
    assert [int(edge["node"]["id"]) for edge in edges] == [i for _, i in expected]
    for edge, (distance, _) in zip(edges, expected, strict=True):
        assert edge["distanceMeters"] == pytest.approx(distance, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# kind filters and service items


@pytest.mark.parametrize("variables", [
    {"clinic": {"crossProvinceSettlement": True}},
    {"clinic": {"crossProvinceSettlement": False}},
    {"elderlyCare": {"acceptsNonLocal": True, "minAvailableBeds": 1}},
    {"elderlyCare": {"minAvailableBeds": 40}},
    {"clinic": {"crossProvinceSettlement": True},
     "elderlyCare": {"acceptsNonLocal": True, "minAvailableBeds": 1}},
    {"kinds": ["SERVICE_HALL", "CLINIC"], "clinic": {"crossProvinceSettlement": True}},
    {"kinds": ["SERVICE_HALL"], "elderlyCare": {"acceptsNonLocal": True}},
])
def test_places_kind_filters__each_narrows_its_own_kind__equals_oracle(demo_client, rows,
                                                                       variables):
    def passes(row: Row) -> bool:
        clinic, care = variables.get("clinic"), variables.get("elderlyCare")
        kinds = variables.get("kinds") or [kind for kind, given in
                                           (("CLINIC", clinic), ("ELDERLY_CARE", care)) if given]
        if row.kind not in kinds:
            return False
        if row.kind == "CLINIC" and clinic:
            return row.cross_province_settlement is clinic["crossProvinceSettlement"]
        if row.kind == "ELDERLY_CARE" and care:
            return ((care.get("acceptsNonLocal") is None
                     or row.accepts_non_local is care["acceptsNonLocal"])
                    and (care.get("minAvailableBeds") is None
                         or (row.available_beds or 0) >= care["minAvailableBeds"]))
        return True

    edges = walk(demo_client, {**variables, "regionCode": HANGZHOU})
    expected = {r.id for r in rows.values() if r.city_code == HANGZHOU and passes(r)}
    assert expected
    assert ids(edges) == expected


def test_places_service_item__places_that_handle_it__equals_links(demo_client, rows, items):
    for item in list(items.values())[:5]:
        expected = {r.id for r in rows.values() if item.id in r.items}
        edges = walk(demo_client, {"serviceItemId": str(item.id)})
        assert ids(edges) == expected, item.name
        assert all(item.name in [i["name"] for i in e["node"]["serviceItems"]] for e in edges)


# ---------------------------------------------------------------------------------------------
# opening hours and the holiday calendar

# (instant, what it is) — the 2025 cases of the State Council notice.
INSTANTS = [
    ("2025-09-22T10:00:00+08:00", "ordinary Monday"),
    ("2025-09-21T10:00:00+08:00", "ordinary Sunday"),
    ("2025-09-28T10:00:00+08:00", "make-up working Sunday before National Day"),
    ("2025-10-01T10:00:00+08:00", "National Day"),
    ("2025-10-04T10:00:00+08:00", "Saturday inside the National Day holiday"),
    ("2025-10-08T10:00:00+08:00", "last day of the National Day holiday"),
    ("2025-10-11T10:00:00+08:00", "make-up working Saturday after National Day"),
    ("2025-01-29T10:00:00+08:00", "Spring Festival"),
    ("2025-02-01T10:00:00+08:00", "Saturday inside the Spring Festival holiday"),
    ("2025-01-26T10:00:00+08:00", "make-up working Sunday before Spring Festival"),
    ("2025-02-08T10:00:00+08:00", "make-up working Saturday after Spring Festival"),
    ("2025-09-22T12:30:00+08:00", "lunch break"),
    ("2025-09-22T02:00:00Z", "the same Monday 10:00 in UTC"),
]


@pytest.fixture(scope="module")
def day_kinds(demo_app):
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        return {at: day_kind(session, to_business_time(parse_datetime(at)).date())
                for at, _ in INSTANTS}


@pytest.mark.parametrize(("at", "what"), INSTANTS)
def test_places_open_at__equals_oracle(demo_client, rows, day_kinds, at, what):
    # when
    edges = walk(demo_client, {"openAt": at, "regionCode": HANGZHOU})
    # then: every Hangzhou place, decided one by one with the calendar's kind of the day
    moment = to_business_time(parse_datetime(at))
    expected = {r.id for r in rows.values() if r.city_code == HANGZHOU and r.opening_hours
                and is_open(r.opening_hours, moment, day_kinds[at])}
    assert ids(edges) == expected, what
    assert all(edge["node"]["isOpen"] is True for edge in edges)


def open_halls(client, at: str) -> list[dict]:
    return [e["node"] for e in walk(client, {"openAt": at, "kinds": ["SERVICE_HALL"],
                                             "regionCode": HANGZHOU})]


def test_places_open_at__national_day_2025__halls_closed_all_eight_days(demo_client):
    for day in range(1, 9):
        assert open_halls(demo_client, f"2025-10-0{day}T10:00:00+08:00") == [], day


def test_places_open_at__make_up_days_2025__weekday_hours(demo_client, rows):
    weekday_only = {r.id for r in rows.values() if r.city_code == HANGZHOU
                    and r.opening_hours == "Mo-Fr 09:00-12:00,13:30-17:00; PH off"}
    assert weekday_only
    for at in ("2025-09-28T10:00:00+08:00", "2025-10-11T10:00:00+08:00",
               "2025-01-26T10:00:00+08:00", "2025-02-08T10:00:00+08:00"):
        assert weekday_only <= {int(n["id"]) for n in open_halls(demo_client, at)}, at
    # an ordinary Sunday: none of them
    assert not weekday_only & {int(n["id"]) for n in open_halls(demo_client,
                                                                "2025-09-21T10:00:00+08:00")}


def test_places_open_at__spring_festival_2025__halls_closed_hospitals_mornings(demo_client):
    assert open_halls(demo_client, "2025-01-29T10:00:00+08:00") == []
    assert open_halls(demo_client, "2025-02-01T10:00:00+08:00") == []
    clinics = walk(demo_client, {"openAt": "2025-01-29T10:00:00+08:00", "kinds": ["CLINIC"],
                                 "regionCode": HANGZHOU})
    assert clinics and all("PH 08:00" in e["node"]["openingHours"] for e in clinics)
    afternoon = walk(demo_client, {"openAt": "2025-01-29T15:00:00+08:00", "kinds": ["CLINIC"],
                                   "regionCode": HANGZHOU})
    assert afternoon == []


def test_places_open_at__without_offset__read_as_beijing_time(demo_client):
    beijing = ids(walk(demo_client, {"openAt": "2025-09-22T09:30:00", "regionCode": HANGZHOU}))
    utc = ids(walk(demo_client, {"openAt": "2025-09-22T01:30:00Z", "regionCode": HANGZHOU}))
    assert beijing and beijing == utc


def test_place_is_open__detail__follows_calendar(demo_client, rows):
    hall = next(r for r in rows.values() if r.city_code == HANGZHOU
                and r.opening_hours == "Mo-Fr 09:00-12:00,13:30-17:00; PH off")
    query = "query($id: ID!, $at: DateTime) { place(id: $id) { isOpen(at: $at) } }"
    expected = {"2025-09-22T10:00:00+08:00": True, "2025-10-01T10:00:00+08:00": False,
                "2025-09-28T10:00:00+08:00": True, "2025-09-21T10:00:00+08:00": False,
                "2025-09-22T12:30:00+08:00": False, "2025-09-22T13:30:00+08:00": True}
    for at, answer in expected.items():
        data = gql_data(demo_client, query, {"id": str(hall.id), "at": at})
        assert data["place"]["isOpen"] is answer, at


# ---------------------------------------------------------------------------------------------
# bad input: refused with a Chinese message, never a 500, never partial data


@pytest.mark.parametrize(("query", "variables", "field"), [
    (FIND, {"openAt": "2025-13-01T10:00:00"}, None),
    (FIND, {"openAt": "next monday"}, None),
    (FIND, {"openAt": "2025-10-01"}, None),
    ('{ places(openAt: "2025-02-30T10:00:00") { edges { cursor } } }', {}, None),
    ('{ places(openAt: 20251001) { edges { cursor } } }', {}, None),
    (FIND, {"serviceItemId": "999999"}, "serviceItemId"),
    (FIND, {"serviceItemId": "abc"}, "serviceItemId"),
    (FIND, {"elderlyCare": {"minAvailableBeds": -1}}, "minAvailableBeds"),
    (FIND, {"text": "！！！"}, "text"),
    (FIND, {"text": "社保" * 40}, "text"),
])
def test_places_bad_filters__bad_user_input_in_chinese(demo_client, query, variables, field):
    body = gql(demo_client, query, variables)
    assert body["data"] is None, body
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    message = body["errors"][0]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    if field is not None:
        assert body["errors"][0]["extensions"]["field"] == field


def test_places_open_at__instant_oracle_is_deterministic():
    # the oracle's own parse: an offset-less time is Beijing time
    assert to_business_time(parse_datetime("2025-10-01T10:00:00")) == datetime.fromisoformat(
        "2025-10-01T10:00:00+08:00")
