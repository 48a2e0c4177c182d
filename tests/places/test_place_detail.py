"""`place(id)` reads the place, the items it handles and the day's calendar kind for `isOpen`
in one statement (issue 18): the answers are the ones the loaders and the calendar evaluator
give on their own, on both stores — for every selection shape (items with or without their
guides, fragments, `isOpen` with and without `at`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from backend.db import session_scope
from backend.guidance.models import PlaceServiceItem, ServiceItem
from backend.guidance.queries import read_place
from backend.places.calendar import day_kind
from backend.places.models import HolidayDay, Place
from mobile_api.graphql import context as context_module
from tests.helpers import gql_data, operation

DETAIL = operation("PlaceDetail")
HALL_HOURS = "Mo-Fr 09:00-12:00,13:30-17:00; PH off"
# Instants in Beijing time: a statutory holiday (Wednesday), a make-up working day (Sunday), an
# ordinary weekday, an ordinary Sunday, a weekday lunch break.
INSTANTS = ["2025-10-01T10:00:00+08:00", "2025-09-28T10:00:00+08:00",
            "2025-09-22T10:00:00+08:00", "2025-09-21T10:00:00+08:00",
            "2025-09-22T12:30:00+08:00"]


@pytest.fixture(scope="module")
def places(demo_app) -> dict[str, int]:
    """A hall with items and weekday hours; a clinic with holiday hours; a place without hours."""
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        handling = select(PlaceServiceItem.place_id).distinct()
        hall = session.scalar(select(Place.id).where(
            Place.opening_hours == HALL_HOURS, Place.id.in_(handling)).order_by(Place.id))
        clinic = session.scalar(select(Place.id).where(
            Place.kind == "CLINIC", Place.opening_hours.like("%PH %")).order_by(Place.id))
        no_hours = session.scalar(select(Place.id).where(
            Place.opening_hours.is_(None)).order_by(Place.id))
    assert hall and clinic, "the demo data has a hall with items and a clinic open on holidays"
    return {"hall": hall, "clinic": clinic, "no_hours": no_hours}


def _at_now(monkeypatch, instant: str) -> None:
    moment = datetime.fromisoformat(instant).astimezone(UTC)
    monkeypatch.setattr(context_module, "utcnow", lambda: moment)


@pytest.mark.parametrize("instant", INSTANTS)
def test_place_detail__is_open_now__same_as_is_open_at_that_instant(
        demo_client, places, monkeypatch, instant):
    _at_now(monkeypatch, instant)
    for name in ("hall", "clinic"):
        # given: the answer of the evaluator that reads the calendar itself
        expected = gql_data(demo_client, "query($id: ID!, $at: DateTime) "
                            "{ place(id: $id) { isOpen(at: $at) } }",
                            {"id": str(places[name]), "at": instant})["place"]["isOpen"]
        # when: the detail sheet asks about now (the day's kind read with the place)
        detail = gql_data(demo_client, DETAIL, {"id": str(places[name])})["place"]
        # then
        assert detail["isOpen"] is expected, (name, instant)


def test_place_detail__hall_hours__follow_the_holiday_calendar(demo_client, places,
                                                               monkeypatch):
    expected = [False, True, True, False, False]
    for instant, answer in zip(INSTANTS, expected, strict=True):
        _at_now(monkeypatch, instant)
        detail = gql_data(demo_client, DETAIL, {"id": str(places["hall"])})["place"]
        assert detail["isOpen"] is answer, instant


def test_place_detail__items__same_whatever_else_the_selection_asks(demo_client, places):
    place_id = str(places["hall"])
    light = gql_data(demo_client, DETAIL, {"id": place_id})["place"]["serviceItems"]
    # items with their guides (ORM rows), through a fragment, and through a page's loader
    full = gql_data(demo_client, "query($id: ID!) { place(id: $id) { serviceItems "
                    "{ id code name category document } } }", {"id": place_id})
    spread = gql_data(demo_client, "query($id: ID!) { place(id: $id) { ...Sheet } } "
                      "fragment Sheet on Place { serviceItems { id code name category } }",
                      {"id": place_id})
    inline = gql_data(demo_client, "query($id: ID!) { place(id: $id) { ... on Place "
                      "{ serviceItems { id code name category aliases } } } }",
                      {"id": place_id})
    assert light and [item["code"] for item in light] == sorted(item["code"] for item in light)
    assert [{k: i[k] for k in ("id", "code", "name", "category")}
            for i in full["place"]["serviceItems"]] == light
    assert spread["place"]["serviceItems"] == light
    assert [{k: i[k] for k in ("id", "code", "name", "category")}
            for i in inline["place"]["serviceItems"]] == light
    assert all(i["document"] for i in full["place"]["serviceItems"])


def test_place_detail__unknown_or_malformed_id__null(demo_client):
    for place_id in ("999999", "0", "abc", "-1"):
        assert gql_data(demo_client, DETAIL, {"id": place_id}) == {"place": None}


def test_read_place__items_in_code_order_and_the_day_kind(demo_app, places):
    factory = demo_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        hall = places["hall"]
        codes = sorted(session.scalars(
            select(ServiceItem.code).join(PlaceServiceItem,
                                          PlaceServiceItem.service_item_id == ServiceItem.id)
            .where(PlaceServiceItem.place_id == hall)))
        holiday = session.scalar(select(HolidayDay.day).where(HolidayDay.kind == "holiday"))
        light = read_place(session, hall, items=True, light_items=True, day=holiday)
        full = read_place(session, hall, items=True)
        bare = read_place(session, places["no_hours"] or hall)
        assert [item.code for item in light.place.handled_items] == codes
        assert [item.code for item in full.place.handled_items] == codes
        assert all(isinstance(item, ServiceItem) for item in full.place.handled_items)
        assert light.day_kind == day_kind(session, holiday) == "holiday"
        assert bare.place.handled_items is None and bare.day_kind is None
        assert light.place.name == session.get(Place, hall).name
        assert read_place(session, 2**31 - 1, items=True) is None
