"""Editing places through the console's documents (graphql/operations/), as the editor of
Hangzhou, on both stores: create, partial update, validation (every refusal at once, nothing
written), the region check with its datum and lat/lon hints, warnings and their
acknowledgement, optimistic versions, the items a place handles, and revisions."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from backend.fixtures.demo_places import CITY_PHONE, _phone
from backend.places.errors import PlaceError
from backend.places.models import PlaceRevision
from backend.places.regions import region_codes_at
from backend.places.validation import check_phone
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.geodesic import distance_m
from tests.booking.conftest import EDITOR, World
from tests.helpers import operation
from tests.places.editing_helpers import (
    XIHU,
    XIHU_POINT,
    codes,
    create,
    new_place_input,
    payload,
    snapshot,
)

CREATE_PLACE = operation("CreatePlace")
EDIT_PLACE = operation("EditPlace")
SET_PLACE_SERVICE_ITEMS = operation("SetPlaceServiceItems")
UPDATE_PLACE = operation("UpdatePlace")


def _update(world: World, place: dict, uid: str = EDITOR, acknowledge=None, **input_):  # noqa: ANN001, ANN003
    variables = {"id": place["id"], "version": place["version"], "input": input_}
    if acknowledge is not None:
        variables["acknowledge"] = acknowledge
    return payload(world, UPDATE_PLACE, variables, uid)


def test_create__editor_of_the_city__place_in_search_and_revision(world: World):
    # when
    place = create(world, EDITOR)

    # then: stored as sent, version 1, found nearby, one revision naming every field set
    assert place["version"] == 1 and place["archived"] is False
    assert place["region"]["code"] == XIHU and place["source"] == "editor"
    assert place["elderlyCare"] == {"beds": 120, "availableBeds": 30, "acceptsNonLocal": True,
                                    "careLevels": ["自理", "半失能"]}
    found = world.gql("query($p: GeoPointInput!) { places(near: $p, radiusMeters: 100) "
                      "{ edges { node { id } } } }", {"p": XIHU_POINT})
    assert [e["node"]["id"] for e in found["data"]["places"]["edges"]] == [place["id"]]
    with world.session() as session:
        revisions = session.scalars(select(PlaceRevision)
                                    .where(PlaceRevision.place_id == int(place["id"]))).all()
    assert [(r.version, r.action, r.uid, r.source) for r in revisions] == [
        (1, "create", EDITOR, "console")]
    assert {c["field"] for c in revisions[0].changes} >= {"name", "kind", "location",
                                                           "regionCode", "availableBeds"}


def test_update__available_beds_only__one_field_written(world: World):
    place = create(world, EDITOR)
    before = snapshot(world, int(place["id"]))["place"]

    result = _update(world, place, availableBeds=7)

    assert result["errors"] == [] and result["place"]["version"] == 2
    after = snapshot(world, int(place["id"]))["place"]
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"available_beds", "version", "updated_at"}
    with world.session() as session:
        revision = session.scalar(select(PlaceRevision).where(
            PlaceRevision.place_id == int(place["id"]), PlaceRevision.version == 2))
    assert revision.changes == [{"field": "availableBeds", "old": 30, "new": 7}]


def test_update__same_values__no_new_version(world: World):
    place = create(world, EDITOR)
    result = _update(world, place, name=place["name"], availableBeds=30)
    assert result["errors"] == [] and result["place"]["version"] == 1


def test_update__stale_version__refused_with_the_current_one(world: World):
    place = create(world, EDITOR)
    assert _update(world, place, availableBeds=5)["place"]["version"] == 2
    before = snapshot(world, int(place["id"]))

    result = _update(world, place, availableBeds=6)  # still version 1

    assert codes(result) == ["STALE_VERSION"] and result["place"] is None
    assert "当前版本为 2" in result["errors"][0]["message"]
    assert snapshot(world, int(place["id"])) == before


BAD_INPUTS = [
    ({"name": "名" * 101}, "INVALID_NAME", "name"),
    ({"name": "名" * 250}, "INVALID_NAME", "name"),
    ({"name": "   "}, "INVALID_NAME", "name"),
    ({"address": "路" * 301}, "INVALID_ADDRESS", "address"),
    ({"phone": "abc"}, "INVALID_PHONE", "phone"),
    ({"phone": "0571-123"}, "INVALID_PHONE", "phone"),
    ({"phone": "138123456789"}, "INVALID_PHONE", "phone"),
    ({"openingHours": "Mo-Fr 25:00-26:00"}, "INVALID_OPENING_HOURS", "openingHours"),
    ({"openingHours": "每天早上"}, "INVALID_OPENING_HOURS", "openingHours"),
    ({"availableBeds": 121}, "INVALID_ATTRIBUTE", "availableBeds"),
    ({"availableBeds": -1}, "INVALID_ATTRIBUTE", "availableBeds"),
    ({"clinicLevel": "三级甲等"}, "INVALID_ATTRIBUTE", "clinicLevel"),
    ({"kind": "CLINIC", "beds": 10}, "INVALID_ATTRIBUTE", "beds"),
    ({"careLevels": [""]}, "INVALID_ATTRIBUTE", "careLevels"),
    ({"regionCode": "330199"}, "INVALID_REGION", "regionCode"),
    ({"regionCode": "330100"}, "INVALID_REGION", "regionCode"),
    ({"location": {"lat": 95.0, "lon": 200.0}}, "INVALID_LOCATION", "location"),
    ({"location": {"lat": 48.8566, "lon": 2.3522}}, "OUTSIDE_SERVICE_AREA", "location"),
    ({"location": {"lat": 39.9042, "lon": 116.4074}}, "OUTSIDE_SERVICE_AREA", "location"),
    ({"location": {"lat": 32.0485, "lon": 118.7975}}, "OUTSIDE_REGION", "location"),
    ({"source": ""}, "INVALID_INPUT", "source"),
]


@pytest.mark.parametrize(("overrides", "code", "field"), BAD_INPUTS)
def test_create__bad_input__refused_in_the_payload_nothing_written(world: World, overrides,
                                                                  code, field):  # noqa: ANN001
    before = snapshot(world)
    result = payload(world, CREATE_PLACE, {"input": new_place_input(**overrides)}, EDITOR)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["place"] is None and result["errors"][0]["message"]
    assert snapshot(world) == before


@pytest.mark.parametrize(("overrides", "code", "field"),
                         [case for case in BAD_INPUTS if "source" not in case[0]])
def test_update__bad_input__refused_nothing_written(world: World, overrides, code,
                                                    field):  # noqa: ANN001
    place = create(world, EDITOR)
    before = snapshot(world, int(place["id"]))
    result = _update(world, place, **overrides)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert snapshot(world, int(place["id"])) == before


def test_create__several_bad_fields__every_refusal_at_once(world: World):
    result = payload(world, CREATE_PLACE, {"input": new_place_input(
        name="名" * 120, phone="电话", openingHours="随时")}, EDITOR)
    assert sorted(e["field"] for e in result["errors"]) == ["name", "openingHours", "phone"]


def test_create__missing_required__each_named(world: World):
    result = payload(world, CREATE_PLACE, {"input": {"phone": "0571-87654321"}}, EDITOR)
    assert sorted(e["field"] for e in result["errors"]) == ["kind", "location", "name",
                                                             "regionCode"]


def test_create__kind_attribute_without_kind__refused_as_missing_not_a_server_error(
        world: World):
    # found by the fuzzer (tests/mobile_api/graphql/test_fuzz.py): it was a KeyError
    result = payload(world, CREATE_PLACE, {"input": {"acceptsNonLocal": False}}, EDITOR)
    assert sorted(e["field"] for e in result["errors"]) == ["kind", "location", "name",
                                                             "regionCode"]


def test_phone__every_number_the_demo_generates__accepted():
    rng = random.Random(7)
    for city in CITY_PHONE:
        for _ in range(20):
            number = _phone(rng, city)
            assert check_phone(number) == number


@pytest.mark.parametrize("number", ["13812345678", "+86 138 1234 5678", "021-62345678",
                                    "0571-8765432", "0571-87654321-8001", "400-123-4567",
                                    "12345", "(0571)87654321", "0571-87654321；13812345678"])
def test_phone__usual_chinese_forms__accepted(number: str):
    assert check_phone(number) == number


@pytest.mark.parametrize("number", ["abc", "1234", "0571-123", "138123456789", "110-",
                                    "0571-87654321；", "1381234567x"])
def test_phone__malformed__refused(number: str):
    with pytest.raises(PlaceError) as raised:
        check_phone(number)
    assert raised.value.code == "INVALID_PHONE" and "电话" in raised.value.message


def _boundary_point(world: World, crs: CRS) -> tuple[float, float]:
    """A WGS-84 point in 西湖区 whose coordinates in `crs`, read as WGS-84, fall in another
    county of ours: what a list in that datum gives when its datum is not stated."""
    with world.session() as session:
        for step in range(4000):
            lat = 30.10 + (step // 80) * 0.004
            lon = 119.95 + (step % 80) * 0.004
            if region_codes_at(session, lat, lon)["county_code"] != XIHU:
                continue
            shifted = from_wgs84(lat, lon, crs)
            county = region_codes_at(session, *shifted)["county_code"]
            if county not in (None, XIHU):
                return lat, lon
    raise AssertionError("no boundary point found")


@pytest.mark.parametrize("crs", [CRS.BD09, CRS.GCJ02])
def test_create__datum_not_stated__outside_region_with_the_datum_hint(world: World, crs: CRS):
    lat, lon = _boundary_point(world, crs)
    shifted_lat, shifted_lon = from_wgs84(lat, lon, crs)
    with world.session() as session:
        actual = region_codes_at(session, shifted_lat, shifted_lon)["county_code"]
    from backend.places.regions import regions_by_code
    with world.session() as session:
        actual_name = regions_by_code(session, [actual])[actual].name

    # when: the datum's coordinates sent as WGS-84
    result = payload(world, CREATE_PLACE, {"input": new_place_input(
        location={"lat": shifted_lat, "lon": shifted_lon, "crs": "WGS84"})}, EDITOR)

    # then: the county it falls in, and the datum that would put it in 西湖区
    assert codes(result) == ["OUTSIDE_REGION"]
    message = result["errors"][0]["message"]
    assert actual_name in message and "坐标系可能有误" in message and crs.value in message

    # and sent in its datum, it is accepted at the right spot (< 1 cm)
    place = create(world, EDITOR, location={"lat": shifted_lat, "lon": shifted_lon,
                                            "crs": crs.value})
    stored = place["location"]
    assert distance_m(stored["lat"], stored["lon"], lat, lon) < 0.01


def test_create__lat_and_lon_swapped__outside_region_with_the_swap_hint(world: World):
    result = payload(world, CREATE_PLACE, {"input": new_place_input(
        location={"lat": XIHU_POINT["lon"], "lon": XIHU_POINT["lat"]})}, EDITOR)
    assert codes(result) == ["OUTSIDE_REGION"]
    assert "填反" in result["errors"][0]["message"]


def test_create__gcj02_location__stored_in_wgs84(world: World):
    gcj = from_wgs84(XIHU_POINT["lat"], XIHU_POINT["lon"], CRS.GCJ02)
    place = create(world, EDITOR, location={"lat": gcj[0], "lon": gcj[1], "crs": "GCJ02"})
    back = to_wgs84(place["location"]["lat"], place["location"]["lon"], CRS.WGS84)
    assert distance_m(*back, XIHU_POINT["lat"], XIHU_POINT["lon"]) < 0.01


def test_create__near_a_similar_place__warned_until_acknowledged(world: World):
    first = create(world, EDITOR)
    before = snapshot(world)
    near = {"lat": XIHU_POINT["lat"] + 0.0002, "lon": XIHU_POINT["lon"]}  # ~22 m north

    # when: a near twin, without acknowledging
    refused = payload(world, CREATE_PLACE, {"input": new_place_input(
        name="西湖区社区养老服务中心（新）", address=None, location=near)}, EDITOR)

    # then: not saved; the warning names the other place
    assert codes(refused) == ["WARNINGS_NOT_ACKNOWLEDGED"] and refused["place"] is None
    assert [w["code"] for w in refused["warnings"]] == ["DUPLICATE_SUSPECTED"]
    assert first["id"] in refused["warnings"][0]["message"]
    assert snapshot(world) == before

    # when: acknowledged, it is saved and the warning still reported
    saved = payload(world, CREATE_PLACE, {"input": new_place_input(
        name="西湖区社区养老服务中心（新）", address=None, location=near),
        "acknowledge": ["DUPLICATE_SUSPECTED"]}, EDITOR)
    assert saved["errors"] == [] and saved["place"]["version"] == 1
    assert [w["code"] for w in saved["warnings"]] == ["DUPLICATE_SUSPECTED"]


def test_create__same_address_in_the_county__duplicate_suspected(world: World):
    create(world, EDITOR)
    far = {"lat": XIHU_POINT["lat"] + 0.01, "lon": XIHU_POINT["lon"]}
    result = payload(world, CREATE_PLACE, {"input": new_place_input(
        name="另一家养老院", location=far)}, EDITOR)
    assert [w["field"] for w in result["warnings"]] == ["address"]


def test_create__different_place_nearby__no_warning(world: World):
    create(world, EDITOR)
    near = {"lat": XIHU_POINT["lat"] + 0.0002, "lon": XIHU_POINT["lon"]}
    place = payload(world, CREATE_PLACE, {"input": new_place_input(
        name="文三路社区卫生服务站", kind="CLINIC", beds=None, availableBeds=None,
        acceptsNonLocal=None, careLevels=None, address="文三路 9 号", location=near)}, EDITOR)
    assert place["errors"] == [] and place["warnings"] == []


def test_update__move_over_2_km__warned_until_acknowledged(world: World):
    place = create(world, EDITOR)
    before = snapshot(world, int(place["id"]))
    far = {"lat": XIHU_POINT["lat"] + 0.03, "lon": XIHU_POINT["lon"] - 0.02}  # ~3.9 km
    with world.session() as session:
        assert region_codes_at(session, far["lat"], far["lon"])["county_code"] == XIHU

    refused = _update(world, place, location=far)
    assert codes(refused) == ["WARNINGS_NOT_ACKNOWLEDGED"]
    assert [w["code"] for w in refused["warnings"]] == ["LARGE_MOVE"]
    assert snapshot(world, int(place["id"])) == before

    moved = _update(world, place, location=far, acknowledge=["LARGE_MOVE"])
    assert moved["errors"] == [] and moved["place"]["version"] == 2
    assert moved["place"]["location"] == far


def test_set_service_items__found_by_item_and_revised(world: World):
    place = create(world, EDITOR)
    result = payload(world, SET_PLACE_SERVICE_ITEMS, {
        "id": place["id"], "version": 1, "serviceItemIds": [str(world.item)]}, EDITOR)
    assert result["errors"] == [] and result["place"]["version"] == 2
    assert [i["id"] for i in result["place"]["serviceItems"]] == [str(world.item)]
    found = world.gql("query($item: ID!) { places(serviceItemId: $item, regionCode: \"330106\")"
                      " { edges { node { id } } } }", {"item": str(world.item)})
    assert place["id"] in [e["node"]["id"] for e in found["data"]["places"]["edges"]]
    revisions = payload(world, EDIT_PLACE, {"id": place["id"]}, EDITOR)["revisions"]
    assert revisions["edges"][0]["node"]["changes"] == [
        {"field": "serviceItems", "old": "[]", "new": f'["{world.item}"]'}]


def test_set_service_items__unknown_item__refused_nothing_written(world: World):
    place = create(world, EDITOR)
    before = snapshot(world, int(place["id"]))
    result = payload(world, SET_PLACE_SERVICE_ITEMS, {
        "id": place["id"], "version": 1, "serviceItemIds": ["999999"]}, EDITOR)
    assert codes(result) == ["NOT_FOUND"] and "999999" in result["errors"][0]["message"]
    assert snapshot(world, int(place["id"])) == before


def test_revisions__paged_newest_first(world: World):
    place = create(world, EDITOR)
    version = 1
    for beds in (10, 11, 12):
        version = _update(world, {"id": place["id"], "version": version},
                          availableBeds=beds)["place"]["version"]
    first = payload(world, EDIT_PLACE, {"id": place["id"], "first": 2}, EDITOR)["revisions"]
    assert [e["node"]["version"] for e in first["edges"]] == [4, 3]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = payload(world, EDIT_PLACE, {"id": place["id"], "first": 2,
                                        "after": first["pageInfo"]["endCursor"]},
                   EDITOR)["revisions"]
    assert [e["node"]["version"] for e in rest["edges"]] == [2, 1]
    assert rest["pageInfo"]["hasNextPage"] is False
