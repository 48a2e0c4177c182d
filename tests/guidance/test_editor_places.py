"""`editorPlaces`: the editor console's list (tests/booking/conftest.py's world: hall A in
西湖区 of Hangzhou, hall B in Nanjing; an editor of Hangzhou, an admin), on both stores. Its
filters, paging, who may ask (the region scope, crafted requests) and bad input; and
`Place.windows(includeInactive:)`, the hall's windows as its editors manage them."""

from __future__ import annotations

import pytest

from backend.booking.models import ServiceWindow
from backend.guidance.models import PlaceServiceItem
from backend.places.models import Place
from backend.places.regions import region_codes_at
from tests.booking.conftest import ADMIN, EDITOR, RESIDENT, STAFF, World, _place
from tests.helpers import operation

LIST = operation("EditorPlaces")
EDIT = operation("EditPlace")
WINDOWS = operation("EditorHallWindows")
XIHU, GONGSHU, NANJING_XUANWU = "330106", "330105", "320102"


@pytest.fixture
def places(world: World) -> dict[str, int]:
    """Besides halls A and B: an archived hall, a clinic without hours, two near-twins 10 m
    apart, a place filed under 西湖区 whose point lies in Shanghai; hall A handles an item."""
    made = {"hall_a": world.hall_a, "hall_b": world.hall_b}
    with world.session() as session:
        rows = {
            "archived": _place("p-archived", "已停用大厅", XIHU, "330100", "330000",
                               30.2600, 120.1300),
            "no_hours": _place("p-no-hours", "拱墅区卫生服务中心", GONGSHU, "330100", "330000",
                               30.3190, 120.1420, kind="CLINIC"),
            "twin_1": _place("p-twin-1", "文三路社区养老院", XIHU, "330100", "330000",
                             30.2800, 120.1200, kind="ELDERLY_CARE"),
            "twin_2": _place("p-twin-2", "文三路社区养老院（北门）", XIHU, "330100", "330000",
                             30.2801, 120.1200, kind="ELDERLY_CARE"),
            "outside": _place("p-outside", "错位的大厅", XIHU, "330100", "330000",
                              31.2304, 121.4737),
        }
        rows["archived"].archived = True
        rows["no_hours"].opening_hours = None
        session.add_all(rows.values())
        session.flush()
        made.update({key: row.id for key, row in rows.items()})
        session.add(PlaceServiceItem(place_id=world.hall_a, service_item_id=world.item))
        # hall A filed under the county its point is in (the world files it under 西湖区)
        hall_a = session.get(Place, world.hall_a)
        hall_a.county_code = region_codes_at(session, hall_a.lat, hall_a.lon)["county_code"]
        assert hall_a.county_code.startswith("3301")
    return made


def _ask(world: World, uid: str | None = EDITOR, **variables) -> dict:  # noqa: ANN003
    return world.gql(LIST, variables, uid=uid)


def _ids(body: dict) -> list[int]:
    assert "errors" not in body, body
    return [int(edge["node"]["id"]) for edge in body["data"]["editorPlaces"]["edges"]]


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def _named(places: dict[str, int], *keys: str) -> list[int]:
    return sorted(places[key] for key in keys)


LIVE_HANGZHOU = ("hall_a", "no_hours", "twin_1", "twin_2", "outside")
EVERY_HANGZHOU = LIVE_HANGZHOU + ("archived",)


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, EVERY_HANGZHOU),
    ({"regionCode": XIHU}, ("archived", "twin_1", "twin_2", "outside")),
    ({"kinds": ["CLINIC", "ELDERLY_CARE"]}, ("no_hours", "twin_1", "twin_2")),
    ({"kinds": []}, ()),
    ({"archived": True}, ("archived",)),
    ({"archived": None}, EVERY_HANGZHOU),
    ({"archived": False}, LIVE_HANGZHOU),
    ({"missingHours": True}, ("no_hours",)),
    ({"noItems": True}, ("archived", "no_hours", "twin_1", "twin_2", "outside")),
    ({"noItems": False, "missingHours": None}, EVERY_HANGZHOU),
    ({"duplicateSuspected": True}, ("twin_1", "twin_2")),
    ({"outsideCounty": True}, ("outside",)),
    ({"outsideCounty": True, "duplicateSuspected": True}, ()),
    ({"text": "文三路"}, ("twin_1", "twin_2")),
    ({"text": "100%_"}, ()),
], ids=["default", "county", "kinds", "no kinds", "archived", "all", "live", "no hours", "no items",
        "items ignored", "duplicates", "outside county", "both checks", "text", "like wildcards"])
def test_editor_places__filter__the_editors_matching_places_by_id(world, places, variables,
                                                                 expected):
    # when: the Hangzhou editor lists with the filter
    ids = _ids(_ask(world, **variables))
    # then: exactly the matching places of Hangzhou, by id (never hall B in Nanjing)
    assert ids == _named(places, *expected)


def test_editor_places__pages__cursor_continues_without_gaps(world, places):
    # when: read two at a time
    seen, after, pages = [], None, 0
    while True:
        body = _ask(world, first=2, after=after, archived=False)
        seen += _ids(body)
        info = body["data"]["editorPlaces"]["pageInfo"]
        pages += 1
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    # then: every live Hangzhou place once, in order, on three pages
    assert seen == _named(places, *LIVE_HANGZHOU)
    assert pages == 3


def test_editor_places__first_null__the_default_page(world, places):
    assert _ask(world, first=None) == world.gql(
        LIST.replace("$first: Int = 50", "$first: Int"), {}, uid=EDITOR)


def test_editor_places__checked_filter_pages__cursor_continues(world, places):
    first = _ask(world, first=1, duplicateSuspected=True)
    after = first["data"]["editorPlaces"]["pageInfo"]["endCursor"]
    second = _ask(world, first=1, duplicateSuspected=True, after=after)
    assert _ids(first) + _ids(second) == _named(places, "twin_1", "twin_2")
    assert first["data"]["editorPlaces"]["pageInfo"]["hasNextPage"] is True
    assert second["data"]["editorPlaces"]["pageInfo"]["hasNextPage"] is False


def test_editor_places__admin__every_region(world, places):
    assert _ids(_ask(world, ADMIN)) == _named(places, *EVERY_HANGZHOU, "hall_b")
    assert _ids(_ask(world, ADMIN, regionCode="320100")) == [places["hall_b"]]


@pytest.mark.parametrize(("uid", "variables", "code"), [
    (None, {}, "UNAUTHENTICATED"),
    (RESIDENT, {}, "FORBIDDEN"),
    (STAFF, {}, "FORBIDDEN"),
    (EDITOR, {"regionCode": "320100"}, "FORBIDDEN"),
    (EDITOR, {"regionCode": "330000"}, "FORBIDDEN"),  # the province holds more than Hangzhou
])
def test_editor_places__not_an_editor_of_the_region__refused(world, places, uid, variables,
                                                            code):
    body = _ask(world, uid, **variables)
    assert _codes(body) == [code]
    assert body["data"] is None
    assert body["errors"][0]["message"]  # said in Chinese


@pytest.mark.parametrize(("variables", "field"), [
    ({"regionCode": "999999"}, "regionCode"),
    ({"first": 0}, "first"),
    ({"first": 101}, "first"),
    ({"after": "not-a-cursor"}, "after"),
    ({"text": "长" * 101}, "text"),
])
def test_editor_places__bad_input__bad_user_input_with_field(world, places, variables, field):
    body = _ask(world, **variables)
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field
    assert any("\u4e00" <= char <= "\u9fff" for char in body["errors"][0]["message"])


def test_edit_place__other_regions_place__forbidden_for_a_crafted_request(world, places):
    # when: the Hangzhou editor asks the edit form's document for hall B (Nanjing)
    body = world.gql(EDIT, {"id": str(places["hall_b"])}, uid=EDITOR)
    # then: refused; their own hall answers
    assert "FORBIDDEN" in _codes(body)
    assert "errors" not in world.gql(EDIT, {"id": str(places["hall_a"])}, uid=EDITOR)


def test_hall_windows__inactive_included_for_its_editors_only(world, places):
    # given: window A2 retired
    with world.session() as session:
        session.get(ServiceWindow, world.window_a2).is_active = False
    # when: the editor, another city's hall, a resident ask
    mine = world.gql(WINDOWS, {"id": str(world.hall_a)}, uid=EDITOR)
    theirs = world.gql(WINDOWS, {"id": str(world.hall_b)}, uid=EDITOR)
    resident = world.gql(WINDOWS, {"id": str(world.hall_a)}, uid=RESIDENT)
    public = world.gql("query($id: ID!) { place(id: $id) { windows { id } } }",
                       {"id": str(world.hall_a)})
    # then: both windows for the editor (A2 inactive), refused to the others; the resident
    # app's list keeps only active windows
    windows = mine["data"]["place"]["windows"]
    assert [(int(w["id"]), w["isActive"]) for w in windows] == [
        (world.window_a1, True), (world.window_a2, False)]
    assert _codes(theirs) == ["FORBIDDEN"] and _codes(resident) == ["FORBIDDEN"]
    assert [int(w["id"]) for w in public["data"]["place"]["windows"]] == [world.window_a1]


def test_editor_places__archived_place_row__unchanged_by_listing(world, places):
    with world.session() as session:
        before = session.get(Place, places["archived"]).version
    _ask(world, archived=True)
    with world.session() as session:
        assert session.get(Place, places["archived"]).version == before
