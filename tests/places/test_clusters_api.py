"""City clusters over HTTP + GraphQL on both stores: `clusters`, `Region.clusters`,
`places(clusterCode:)` against a brute-force filter, and `regionAt` across the borders of the
provinces two clusters span. Oracles: the package's own files (tests.package_regions), the
place table read through the ORM, and GeographicLib."""

from __future__ import annotations

import pytest
import shapely
from geographiclib.geodesic import Geodesic
from sqlalchemy import select

from backend.db import session_scope
from backend.places.models import Place
from tests.helpers import error_codes, gql, gql_data, operation
from tests.package_regions import package_counties, package_features

CLUSTER_CITIES = {"yrd": 41, "chengyu": 16, "hubaoeyuwu": 5}
CHENGDU = {"lat": 30.6586, "lon": 104.0648}



@pytest.fixture(scope="module")
def clusters(demo_app) -> dict[str, dict]:
    data = gql_data(demo_app.test_client(), operation("Clusters"))
    return {cluster["code"]: cluster for cluster in data["clusters"]}


@pytest.fixture(scope="module")
def stored(demo_app) -> list[Place]:
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        places = list(session.scalars(select(Place)))
        session.expunge_all()
    return places


def test_clusters__three_packs_with_their_cities_named_as_in_the_package(clusters):
    city_names = {code: name for code, name, _ in package_features("city")}
    city_names.update({"310100": "上海市", "500100": "重庆市"})  # municipalities' city records
    assert {code: len(c["cities"]) for code, c in clusters.items()} == CLUSTER_CITIES
    for cluster in clusters.values():
        assert {c["code"]: c["name"] for c in cluster["cities"]} == {
            c["code"]: city_names[c["code"]] for c in cluster["cities"]}
        assert cluster["citiesSource"].startswith("《")
    assert (clusters["chengyu"]["name"], clusters["hubaoeyuwu"]["name"]) == ("成渝", "呼包鄂榆乌")
    assert "演示" in clusters["chengyu"]["serviceItemList"]
    assert "演示" in clusters["hubaoeyuwu"]["serviceItemList"]
    assert {"重庆市", "成都市", "资阳市"} <= {c["name"] for c in clusters["chengyu"]["cities"]}
    assert {"榆林市", "乌兰察布市"} <= {c["name"] for c in clusters["hubaoeyuwu"]["cities"]}


def walk(client, variables: dict) -> list[tuple[float | None, int]]:
    seen, after = [], None
    while True:
        page = gql_data(client, operation("ClusterPlaces"),
                        {**variables, "first": 100, "after": after})["places"]
        seen += [(edge["distanceMeters"], int(edge["node"]["id"])) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("code", list(CLUSTER_CITIES))
def test_places__cluster_code__every_place_of_its_cities_by_id(demo_client, clusters, stored,
                                                               code):
    cities = {c["code"] for c in clusters[code]["cities"]}
    expected = sorted(p.id for p in stored if p.city_code in cities)
    assert len(expected) > 500

    found = walk(demo_client, {"clusterCode": code})

    assert [place_id for _, place_id in found] == expected


@pytest.mark.parametrize(("code", "centre", "radius"), [
    ("chengyu", CHENGDU, 50_000),
    ("chengyu", {"lat": 30.2, "lon": 106.2}, 40_000),  # 合川 / 广安, across the border
    ("hubaoeyuwu", {"lat": 39.6, "lon": 109.8}, 50_000),  # 鄂尔多斯
    ("yrd", {"lat": 31.23, "lon": 121.47}, 20_000),
])
def test_places__cluster_code_near__brute_force_geodesic_scan_of_its_cities(
        demo_client, clusters, stored, code, centre, radius):
    cities = {c["code"] for c in clusters[code]["cities"]}
    expected = sorted(
        (Geodesic.WGS84.Inverse(centre["lat"], centre["lon"], p.lat, p.lon)["s12"], p.id)
        for p in stored if p.city_code in cities)
    expected = [(d, i) for d, i in expected if d <= radius]
    assert expected

    found = walk(demo_client, {"clusterCode": code, "near": centre, "radiusMeters": radius})

    assert [i for _, i in found] == [i for _, i in expected]
    for (distance, _), (oracle, _) in zip(found, expected, strict=True):
        assert distance == pytest.approx(oracle, abs=0.01)


@pytest.mark.parametrize("bad", ["nowhere", "", "YRD"])
def test_places__unknown_cluster_code__refused_in_chinese(demo_client, bad):
    body = gql(demo_client, operation("ClusterPlaces"), {"clusterCode": bad})

    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert "未知的城市群代码" in body["errors"][0]["message"]


@pytest.mark.parametrize(("point", "expected"), [
    ({"lat": 30.6586, "lon": 104.0648}, [["chengyu"], ["chengyu"], []]),  # 成都 / 四川省
    ({"lat": 29.5630, "lon": 106.5516}, [["chengyu"], ["chengyu"], ["chengyu"]]),  # 重庆
    ({"lat": 31.2304, "lon": 121.4737}, [["yrd"], ["yrd"], ["yrd"]]),  # 上海
    ({"lat": 38.2852, "lon": 109.7341}, [["hubaoeyuwu"], ["hubaoeyuwu"], []]),  # 榆林 / 陕西省
    ({"lat": 40.8425, "lon": 111.7492}, [["hubaoeyuwu"], ["hubaoeyuwu"], []]),  # 呼和浩特
    ({"lat": 39.9087, "lon": 116.3975}, [[], [], []]),  # 北京
    ({"lat": 23.1291, "lon": 113.2644}, [[], [], []]),  # 广州
])
def test_region_at__clusters_of_county_city_province(demo_client, point, expected):
    chain = gql_data(demo_client, operation("WhereAmI"), {"point": point})["regionAt"]

    assert [r["level"] for r in chain] == ["COUNTY", "CITY", "PROVINCE"]
    assert [[c["code"] for c in r["clusters"]] for r in chain] == expected


def points_across(province_a: str, province_b: str, count: int = 5) -> list[tuple]:
    """Pairs of points 300 m either side of the shared border of two provinces, with the county
    holding each: computed from the package's polygons with shapely (the oracle)."""
    provinces = {code: geom for code, _, geom in package_features("province")}
    counties = [(code, geom) for code, _, geom in package_features("district")]
    a, b = provinces[province_a], provinces[province_b]
    border = shapely.line_merge(shapely.intersection(a.boundary, b.boundary))
    pairs = []
    step = 0.003  # degrees, about 300 m
    for i in range(1, count + 1):
        point = shapely.line_interpolate_point(border, i / (count + 1), normalized=True)
        for dx, dy in ((step, 0), (0, step), (step, step), (step, -step)):
            one = shapely.Point(point.x + dx, point.y + dy)
            two = shapely.Point(point.x - dx, point.y - dy)
            if a.contains(two) and b.contains(one):
                one, two = two, one
            if a.contains(one) and b.contains(two):
                holder = [next(code for code, geom in counties if geom.contains(p))
                          for p in (one, two)]
                pairs.append(((one.y, one.x, holder[0]), (two.y, two.x, holder[1])))
                break
    assert len(pairs) >= count - 1
    return pairs


@pytest.mark.parametrize(("province_a", "province_b"), [
    ("510000", "500000"),  # 四川–重庆
    ("150000", "610000"),  # 内蒙古–陕西
])
def test_region_at__either_side_of_the_border__the_county_and_province_of_that_side(
        demo_client, province_a, province_b):
    for side_a, side_b in points_across(province_a, province_b):
        for (lat, lon, county), province in ((side_a, province_a), (side_b, province_b)):
            chain = gql_data(demo_client, operation("WhereAmI"),
                             {"point": {"lat": lat, "lon": lon}})["regionAt"]
            assert [chain[0]["code"], chain[-1]["code"]] == [county, province], (lat, lon)


@pytest.mark.parametrize("code", ["chengyu", "hubaoeyuwu"])
def test_region_at__every_county_point_of_the_cluster__its_own_chain(demo_client, clusters,
                                                                     code):
    cities = tuple(c["code"] for c in clusters[code]["cities"])
    counties = package_counties(cities=cities)
    assert len(counties) > 20
    for county in counties:
        chain = gql_data(demo_client, operation("WhereAmI"),
                         {"point": {"lat": county.lat, "lon": county.lon}})["regionAt"]
        assert [(r["code"], r["level"]) for r in chain] == county.chain, county
        assert chain[0]["name"] == county.name
