"""regions(level, parentCode), regionAt(point) and place.region over HTTP + GraphQL, both stores."""

from __future__ import annotations

from collections import Counter

import pytest

from geodata.crs import CRS, from_wgs84
from tests.helpers import gql_data, operation
from tests.package_regions import package_codes, package_counties

SHANGHAI_PROVINCE, SHANGHAI_CITY = "310000", "310100"
PROVINCES = {"310000": "上海市", "320000": "江苏省", "330000": "浙江省", "340000": "安徽省"}
POINTS_PER_REQUEST = 50


def regions(client, level: str | None = None, parent_code: str | None = None) -> list[dict]:
    variables = {"level": level, "parentCode": parent_code}
    return gql_data(client, operation("Regions"), variables)["regions"]


def region_chains(client, points: list[dict]) -> list[list[dict]]:
    """regionAt of many GeoPointInputs, batched with aliases into a few requests."""
    chains: list[list[dict]] = []
    for start in range(0, len(points), POINTS_PER_REQUEST):
        batch = points[start:start + POINTS_PER_REQUEST]
        params = ", ".join(f"$p{i}: GeoPointInput!" for i in range(len(batch)))
        fields = "\n".join(
            f"p{i}: regionAt(point: $p{i}) {{ code name level }}" for i in range(len(batch))
        )
        data = gql_data(client, f"query({params}) {{\n{fields}\n}}",
                        {f"p{i}": point for i, point in enumerate(batch)})
        chains += [data[f"p{i}"] for i in range(len(batch))]
    return chains


@pytest.mark.parametrize(("level", "count"), [("PROVINCE", 34), ("CITY", 375), ("COUNTY", 2851)])
def test_regions__per_level__every_region_of_china_in_the_package(demo_client, level, count):
    found = regions(demo_client, level=level)

    assert len(found) == count == len(package_codes(level))
    assert {region["level"] for region in found} == {level}
    assert {region["code"] for region in found} == package_codes(level)


def test_regions__provinces__the_yrd_four_and_the_other_packs_provinces_without_parent(
    demo_client,
):
    found = {r["code"]: r for r in regions(demo_client, level="PROVINCE")}

    assert {code: found[code]["name"] for code in PROVINCES} == PROVINCES
    assert {found[code]["name"] for code in ("500000", "510000", "150000", "610000")} == {
        "重庆市", "四川省", "内蒙古自治区", "陕西省"}
    assert all(r["parent"] is None for r in found.values())


def test_regions__parent_320000__the_13_cities_of_jiangsu(demo_client):
    found = regions(demo_client, parent_code="320000")

    assert len(found) == 13
    assert {r["parent"]["code"] for r in found} == {"320000"}
    assert {r["level"] for r in found} == {"CITY"}
    assert all(r["code"].startswith("32") for r in found)
    assert "南京市" in {r["name"] for r in found}


def test_regions__parent_310100__the_16_districts_of_shanghai(demo_client):
    found = regions(demo_client, parent_code=SHANGHAI_CITY)

    assert len(found) == 16
    assert {r["parent"]["code"] for r in found} == {SHANGHAI_CITY}
    assert {r["level"] for r in found} == {"COUNTY"}
    assert all(r["code"].startswith("3101") for r in found)
    assert "黄浦区" in {r["name"] for r in found}


def test_regions__parent_310000__only_the_city_record_310100(demo_client):
    found = regions(demo_client, parent_code=SHANGHAI_PROVINCE)

    assert [(r["code"], r["level"]) for r in found] == [(SHANGHAI_CITY, "CITY")]


@pytest.mark.parametrize(("level", "parent_code", "count"), [
    ("CITY", "330000", 11),
    ("CITY", "340000", 16),
    ("COUNTY", "320000", 0),  # a province's children are cities
    ("PROVINCE", "320000", 0),
    ("COUNTY", "330100", 13),
])
def test_regions__level_and_parent_combined__both_apply(demo_client, level, parent_code, count):
    found = regions(demo_client, level=level, parent_code=parent_code)

    assert len(found) == count
    assert all(r["level"] == level and r["parent"]["code"] == parent_code for r in found)


def test_regions__tree__counties_under_cities_under_provinces(demo_client):
    # given
    found = regions(demo_client)
    by_level: dict[str, dict[str, dict]] = {"PROVINCE": {}, "CITY": {}, "COUNTY": {}}
    for region in found:
        by_level[region["level"]][region["code"]] = region

    # then: each level hangs under the next coarser one
    cities_per_province = Counter(c["parent"]["code"] for c in by_level["CITY"].values())
    assert {code: cities_per_province[code] for code in PROVINCES} == {
        "310000": 1, "320000": 13, "330000": 11, "340000": 16}
    assert set(cities_per_province) == set(by_level["PROVINCE"])
    county_parents = {c["parent"]["code"] for c in by_level["COUNTY"].values()}
    assert county_parents <= set(by_level["CITY"])


def test_region_at__every_county_of_the_yrd_provinces__county_city_province(demo_client):
    # given: a point inside each county of the four provinces, computed here with shapely
    # from the package's own polygons (the oracle), sent as GCJ-02 like a phone's Amap SDK
    counties = package_counties(tuple(PROVINCES))
    assert len(counties) == 305
    points = []
    for county in counties:
        lat, lon = from_wgs84(county.lat, county.lon, CRS.GCJ02)
        points.append({"lat": float(lat), "lon": float(lon), "crs": "GCJ02"})

    # when
    chains = region_chains(demo_client, points)

    # then
    for county, chain in zip(counties, chains, strict=True):
        assert [(r["code"], r["level"]) for r in chain] == county.chain, county
        assert chain[0]["name"] == county.name


@pytest.mark.parametrize("crs", [CRS.WGS84, CRS.BD09])
def test_region_at__county_points_in_other_datums__same_chain(demo_client, crs):
    # given: every 6th county point of the four provinces
    counties = package_counties(tuple(PROVINCES))[::6]
    points = []
    for county in counties:
        lat, lon = from_wgs84(county.lat, county.lon, crs)
        points.append({"lat": float(lat), "lon": float(lon), "crs": crs.value})

    # when
    chains = region_chains(demo_client, points)

    # then
    for county, chain in zip(counties, chains, strict=True):
        assert [(r["code"], r["level"]) for r in chain] == county.chain, county


@pytest.mark.parametrize(("lat", "lon"), [
    pytest.param(30.5, 123.5, id="east_china_sea"),
    pytest.param(33.8, 122.8, id="yellow_sea"),
    pytest.param(35.68, 139.69, id="tokyo"),
    pytest.param(37.5, 127.0, id="seoul"),
    pytest.param(0.0, 0.0, id="null_island"),
    pytest.param(90.0, 180.0, id="north_pole_on_the_antimeridian"),
])
def test_region_at__outside_china__empty(demo_client, lat, lon):
    data = gql_data(demo_client, operation("WhereAmI"), {"point": {"lat": lat, "lon": lon}})

    assert data["regionAt"] == []


def test_region_at__shanghai_people_square__huangpu_shanghai(demo_client):
    data = gql_data(demo_client, operation("WhereAmI"),
                    {"point": {"lat": 31.2304, "lon": 121.4737, "crs": "GCJ02"}})

    assert [(r["code"], r["name"], r["level"]) for r in data["regionAt"]] == [
        ("310101", "黄浦区", "COUNTY"),
        ("310100", "上海市", "CITY"),
        ("310000", "上海市", "PROVINCE"),
    ]


def test_place_region__equals_region_at_of_its_location(demo_client):
    # given: 100 demo places, 25 from each province, through the list screen's operation
    places = []
    for province in PROVINCES:
        data = gql_data(demo_client, operation("BrowsePlaces"),
                        {"regionCode": province, "first": 25})
        places += [edge["node"] for edge in data["places"]["edges"]]
    assert len(places) == 100

    # when: asking where each place's (WGS-84) location is
    chains = region_chains(
        demo_client, [{**place["location"], "crs": "WGS84"} for place in places]
    )

    # then: its region is the most specific region there
    for place, chain in zip(places, chains, strict=True):
        assert chain, place
        assert place["region"] == {"code": chain[0]["code"], "name": chain[0]["name"]}, place
