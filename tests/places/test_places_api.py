"""places(…) and place(id) over HTTP with the apps' own documents, against an independent oracle.

The oracle is the place table read directly through the ORM, regions looked up with geodata's
RegionIndex on each place's WGS-84 location, and distances from GeographicLib.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
import shapely
from geographiclib.geodesic import Geodesic
from sqlalchemy import event, select

from backend.db import session_scope
from backend.places.models import Place
from geodata.cn_regions import load_china_regions
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.regions import RegionIndex
from tests.helpers import OPERATIONS_DIR, ROOT, gql, gql_data, operation
from tests.package_regions import package_features
from tests.schema.test_operation_contract import CASES

GEODESIC = Geodesic.WGS84
ALL_KINDS = ["SERVICE_HALL", "CLINIC", "ELDERLY_CARE"]
AMAP_ID = re.compile(r"^B0[0-9A-Z]{8}$")
METRES_PER_DEGREE_LAT = 111_000.0


@dataclass(frozen=True)
class Stored:
    id: int
    kind: str
    name: str
    address: str | None
    phone: str | None
    lat: float
    lon: float
    source: str
    external_id: str
    clinic_level: str | None
    cross_province_settlement: bool | None
    beds: int | None
    available_beds: int | None
    accepts_non_local: bool | None
    care_levels: list[str] | None
    chain: tuple[str, ...]  # county, city, province containing the point (geodata, not the app)


@pytest.fixture(scope="module")
def region_index() -> RegionIndex:
    return RegionIndex(load_china_regions())  # what `seed regions` stores


@pytest.fixture(scope="module")
def stored(demo_app, region_index) -> dict[int, Stored]:
    """Every demo place, read from the database directly."""
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        places = {
            p.id: Stored(
                id=p.id, kind=p.kind, name=p.name, address=p.address, phone=p.phone,
                lat=p.lat, lon=p.lon, source=p.source, external_id=p.external_id,
                clinic_level=p.clinic_level, cross_province_settlement=p.cross_province_settlement,
                beds=p.beds, available_beds=p.available_beds,
                accepts_non_local=p.accepts_non_local, care_levels=p.care_levels,
                chain=tuple(r.code for r in region_index.at(p.lat, p.lon)),
            )
            for p in session.scalars(select(Place).order_by(Place.id))
        }
    assert len(places) > 4000
    return places


# ---------------------------------------------------------------------------------------------
# helpers


def walk(client, name: str, variables: dict, first: int, max_pages: int = 500) -> list[dict]:
    """All edges of a listing, page by page through its cursors; checks each page's shape."""
    edges: list[dict] = []
    after = None
    for _ in range(max_pages):
        data = gql_data(client, operation(name), {**variables, "first": first, "after": after})
        connection = data["places"]
        page, info = connection["edges"], connection["pageInfo"]
        if page:
            assert info["endCursor"] == page[-1]["cursor"]
        edges += page
        if not info["hasNextPage"]:
            return edges
        # every filter applies before the page is cut: a page with a next one is full
        assert len(page) == first, variables
        after = info["endCursor"]
    raise AssertionError(f"more than {max_pages} pages for {variables}")


def ids_of(edges: list[dict]) -> list[int]:
    return [int(edge["node"]["id"]) for edge in edges]


def in_box(place: Stored, box: dict) -> bool:
    """The place lies in the box, in the box's own datum."""
    lat, lon = from_wgs84(place.lat, place.lon, CRS(box.get("crs", "WGS84")))
    return box["south"] <= lat <= box["north"] and box["west"] <= lon <= box["east"]


def matches(place: Stored, filters: dict) -> bool:
    if "kinds" in filters and place.kind not in filters["kinds"]:
        return False
    if "regionCode" in filters and filters["regionCode"] not in place.chain:
        return False
    return not ("bbox" in filters and not in_box(place, filters["bbox"]))


def distance_m(lat: float, lon: float, place: Stored) -> float:
    return GEODESIC.Inverse(lat, lon, place.lat, place.lon)["s12"]


def place_detail(client, place_id: int | str, crs: str = "WGS84") -> dict | None:
    return gql_data(client, operation("PlaceDetail"), {"id": str(place_id), "crs": crs})["place"]


def first_of(stored: dict[int, Stored], **wanted) -> Stored:
    return next(p for p in stored.values()
                if all(getattr(p, key) == value for key, value in wanted.items()))


# ---------------------------------------------------------------------------------------------
# the documents


def test_operations__every_document__executed_by_a_test():
    # given: the documents the apps send
    documents = {path.stem for path in OPERATIONS_DIR.glob("*.graphql")}
    # when: looking for operation("<name>") in the test suite, and the documents that the
    # statement contract runs one by one (tests/schema/test_operation_contract.py CASES)
    used: set[str] = set(CASES)
    for path in (ROOT / "tests").rglob("test_*.py"):
        used |= set(re.findall(r'operation\("(\w+)"\)', path.read_text(encoding="utf-8")))
    # then
    assert documents, OPERATIONS_DIR
    assert documents - used == set()


# ---------------------------------------------------------------------------------------------
# place(id)


def assert_detail_matches(detail: dict, place: Stored) -> None:
    assert detail["id"] == str(place.id)
    assert detail["name"] == place.name
    assert detail["kind"] == place.kind
    assert detail["address"] == place.address
    assert detail["phone"] == place.phone
    assert detail["source"] == place.source
    assert detail["externalId"] == place.external_id
    assert detail["location"] == {"lat": place.lat, "lon": place.lon}
    region = detail["region"]
    chain = [(region["code"], region["level"]),
             (region["parent"]["code"], region["parent"]["level"]),
             (region["parent"]["parent"]["code"], region["parent"]["parent"]["level"])]
    assert chain == list(zip(place.chain, ["COUNTY", "CITY", "PROVINCE"], strict=True))


def test_place_detail__clinic__clinic_info_and_no_elderly_care(demo_client, stored):
    place = next(p for p in stored.values() if p.kind == "CLINIC" and p.clinic_level)

    detail = place_detail(demo_client, place.id)

    assert_detail_matches(detail, place)
    assert detail["clinic"] == {"level": place.clinic_level,
                                "crossProvinceSettlement": place.cross_province_settlement}
    assert detail["elderlyCare"] is None


def test_place_detail__clinics__settlement_flags_both_ways(demo_client, stored):
    # given: one clinic with and one without cross-province direct settlement
    with_settlement = first_of(stored, kind="CLINIC", cross_province_settlement=True)
    without = first_of(stored, kind="CLINIC", cross_province_settlement=False)

    # then
    assert place_detail(demo_client, with_settlement.id)["clinic"]["crossProvinceSettlement"]
    assert place_detail(demo_client, without.id)["clinic"]["crossProvinceSettlement"] is False


def test_place_detail__elderly_care_home__elderly_care_info_and_no_clinic(demo_client, stored):
    place = next(p for p in stored.values() if p.kind == "ELDERLY_CARE" and p.care_levels)

    detail = place_detail(demo_client, place.id)

    assert_detail_matches(detail, place)
    assert detail["elderlyCare"] == {
        "beds": place.beds,
        "availableBeds": place.available_beds,
        "acceptsNonLocal": place.accepts_non_local,
        "careLevels": place.care_levels,
    }
    assert 0 <= detail["elderlyCare"]["availableBeds"] <= detail["elderlyCare"]["beds"]
    assert detail["clinic"] is None


@pytest.mark.parametrize("source", ["generated", "amap"])
def test_place_detail__service_hall__neither_clinic_nor_elderly_care(demo_client, stored, source):
    place = first_of(stored, kind="SERVICE_HALL", source=source)

    detail = place_detail(demo_client, place.id)

    assert_detail_matches(detail, place)
    assert detail["clinic"] is None
    assert detail["elderlyCare"] is None


@pytest.mark.parametrize("crs", list(CRS))
def test_place_detail__location_in_each_crs__equals_geodata_conversion(demo_client, stored, crs):
    # given: places of every kind spread over the whole data set
    sample = list(stored.values())[::400]

    for place in sample:
        # when
        location = place_detail(demo_client, place.id, crs.value)["location"]

        # then
        lat, lon = from_wgs84(place.lat, place.lon, crs)
        assert abs(location["lat"] - lat) <= 1e-9, place
        assert abs(location["lon"] - lon) <= 1e-9, place
        if crs is not CRS.WGS84:
            # a real shift (hundreds of metres in China), so the datum was not ignored
            assert abs(location["lat"] - place.lat) + abs(location["lon"] - place.lon) > 1e-3


@pytest.mark.parametrize("place_id", ["99999999", "0", "-1", "abc", ""])
def test_place_detail__unknown_id__null_without_error(demo_client, place_id):
    body = gql(demo_client, operation("PlaceDetail"), {"id": place_id})

    assert body == {"data": {"place": None}}


@pytest.mark.parametrize("place_id", ["2147483648", "9223372036854775808", "1" + "0" * 30])
def test_place_detail__id_beyond_the_id_range__null_not_internal_error(demo_client, place_id):
    body = gql(demo_client, operation("PlaceDetail"), {"id": place_id})

    assert body == {"data": {"place": None}}


# ---------------------------------------------------------------------------------------------
# places without near: by id


def test_browse__region_310101_all_kinds__every_place_once_by_ascending_id(demo_client, stored):
    # given
    expected = [p.id for p in stored.values() if "310101" in p.chain]
    assert len(expected) > 10

    # when: paging five at a time
    edges = walk(demo_client, "BrowsePlaces", {"regionCode": "310101", "kinds": ALL_KINDS}, 5)

    # then
    ids = ids_of(edges)
    assert ids == sorted(set(ids))
    assert ids == expected
    assert {edge["node"]["region"]["code"] for edge in edges} == {"310101"}


def test_browse__whole_data_set_in_pages_of_100__every_place_once(demo_client, stored):
    edges = walk(demo_client, "BrowsePlaces", {}, 100)

    assert ids_of(edges) == sorted(stored)


def test_browse__page_info__previous_page_and_cursors(demo_client):
    # when
    first = gql_data(demo_client, operation("BrowsePlaces"), {"first": 3})["places"]
    second = gql_data(demo_client, operation("BrowsePlaces"),
                      {"first": 3, "after": first["pageInfo"]["endCursor"]})["places"]

    # then
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert ids_of(first["edges"]) + ids_of(second["edges"]) == sorted(
        ids_of(first["edges"]) + ids_of(second["edges"])
    )
    assert len(set(ids_of(first["edges"])) | set(ids_of(second["edges"]))) == 6


def test_browse__same_request_twice__same_cursors_and_pages(demo_client):
    variables = {"regionCode": "320100", "kinds": ["CLINIC"], "first": 4}

    once = gql_data(demo_client, operation("BrowsePlaces"), variables)
    again = gql_data(demo_client, operation("BrowsePlaces"), variables)
    cursor = once["places"]["pageInfo"]["endCursor"]
    next_once = gql_data(demo_client, operation("BrowsePlaces"), {**variables, "after": cursor})
    next_again = gql_data(demo_client, operation("BrowsePlaces"), {**variables, "after": cursor})

    assert once == again
    assert next_once == next_again
    assert not set(ids_of(once["places"]["edges"])) & set(ids_of(next_once["places"]["edges"]))


def test_browse__no_near__distance_is_null(demo_client):
    query = "{ places(regionCode: \"310101\", first: 3) { edges { distanceMeters } } }"

    edges = gql_data(demo_client, query)["places"]["edges"]

    assert len(edges) == 3
    assert all(edge["distanceMeters"] is None for edge in edges)


SHANGHAI_BOX = {"south": 31.10, "west": 121.30, "north": 31.35, "east": 121.62}
HANGZHOU_BOX = {"south": 30.22, "west": 120.08, "north": 30.34, "east": 120.22}
BORDER_BOX = {"south": 31.0, "west": 120.7, "north": 31.5, "east": 121.3}  # Shanghai | Suzhou

BROWSE_FILTERS = {
    "city_and_kind": {"regionCode": "320100", "kinds": ["CLINIC"]},
    "province_kinds_and_bbox": {"regionCode": "310000", "kinds": ["CLINIC", "ELDERLY_CARE"],
                                "bbox": BORDER_BOX},
    "county_kind_and_bbox": {"regionCode": "330106", "kinds": ["SERVICE_HALL"],
                             "bbox": HANGZHOU_BOX},
    "city_and_bbox_across_a_border": {"regionCode": "320500", "bbox": BORDER_BOX},
    "kind_and_bbox_across_a_border": {"kinds": ["ELDERLY_CARE"], "bbox": BORDER_BOX},
    "province_and_two_kinds": {"regionCode": "340000", "kinds": ["SERVICE_HALL", "ELDERLY_CARE"]},
}


def assert_every_filter_matters(stored: dict[int, Stored], filters: dict) -> list[int]:
    """The oracle's answer; fails when a filter would not change it (the case proves nothing)."""
    expected = [p.id for p in stored.values() if matches(p, filters)]
    assert expected, filters
    for name in filters:
        without = {key: value for key, value in filters.items() if key != name}
        assert [p.id for p in stored.values() if matches(p, without)] != expected, name
    return expected


@pytest.mark.parametrize("filters", list(BROWSE_FILTERS.values()), ids=list(BROWSE_FILTERS))
def test_browse__filters_combined__equal_brute_force(demo_client, stored, filters):
    # given
    expected = assert_every_filter_matters(stored, filters)

    # when: pages of seven, so most filtered places sit beyond the first page
    edges = walk(demo_client, "BrowsePlaces", filters, 7)

    # then
    assert ids_of(edges) == expected


@pytest.mark.parametrize("crs", [CRS.GCJ02, CRS.BD09])
def test_places__bbox_in_gcj02_or_bd09__same_as_wgs84(demo_client, stored, crs):
    # given: a WGS-84 box over central Shanghai whose edges stay clear of every place by >150 m,
    # so the datum conversion of the edges cannot decide any place
    box = {"south": 31.18, "west": 121.40, "north": 31.28, "east": 121.52}
    clearance = 150 / METRES_PER_DEGREE_LAT
    for edge, step in (("south", -1), ("north", 1), ("west", -1), ("east", 1)):
        axis = "lat" if edge in ("south", "north") else "lon"
        while any(abs(getattr(p, axis) - box[edge]) < clearance for p in stored.values()):
            box[edge] += step * clearance
    south, west = from_wgs84(box["south"], box["west"], crs)
    north, east = from_wgs84(box["north"], box["east"], crs)
    converted = {"south": south, "west": west, "north": north, "east": east, "crs": crs.value}
    expected = [p.id for p in stored.values() if in_box(p, box)]
    assert len(expected) > 20

    # when
    in_wgs84 = ids_of(walk(demo_client, "BrowsePlaces", {"bbox": box}, 100))
    in_other = ids_of(walk(demo_client, "BrowsePlaces", {"bbox": converted}, 100))

    # then
    assert in_wgs84 == expected
    assert in_other == expected


EDGE_OFFSET_M = 5.0


@pytest.mark.parametrize("crs", list(CRS))
@pytest.mark.parametrize("inside", [True, False], ids=["5m_inside", "5m_outside"])
def test_places__bbox_edge_in_any_datum__decided_to_5m(demo_client, stored, crs, inside):
    # given: one place, and long thin boxes (given in `crs`) with one edge 5 m from it, the
    # place at different points along that edge
    place = first_of(stored, kind="CLINIC", source="generated")
    p_lat, p_lon = from_wgs84(place.lat, place.lon, crs)
    d_lat = EDGE_OFFSET_M / METRES_PER_DEGREE_LAT
    d_lon = d_lat / math.cos(math.radians(p_lat))
    sign = 1 if inside else -1
    boxes = []
    for fraction in (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95):
        along_lon = p_lon - fraction * 0.3
        along_lat = p_lat - fraction * 0.3
        south = p_lat - sign * d_lat
        north = p_lat + sign * d_lat
        west = p_lon - sign * d_lon
        east = p_lon + sign * d_lon
        boxes += [
            ("south", {"south": south, "north": south + 0.003,
                       "west": along_lon, "east": along_lon + 0.3}),
            ("north", {"south": north - 0.003, "north": north,
                       "west": along_lon, "east": along_lon + 0.3}),
            ("west", {"south": along_lat, "north": along_lat + 0.3,
                      "west": west, "east": west + 0.003}),
            ("east", {"south": along_lat, "north": along_lat + 0.3,
                      "west": east - 0.003, "east": east}),
        ]
    boxes = [(edge, {**box, "crs": crs.value}) for edge, box in boxes]
    assert all(in_box(place, box) == inside for _, box in boxes)
    fields = "\n".join(
        f'b{i}: places(bbox: $b{i}, kinds: [CLINIC], first: 100) {{ '
        f'edges {{ node {{ id }} }} pageInfo {{ hasNextPage }} }}'
        for i in range(len(boxes))
    )
    params = ", ".join(f"$b{i}: BBoxInput!" for i in range(len(boxes)))

    # when
    data = gql_data(demo_client, f"query({params}) {{\n{fields}\n}}",
                    {f"b{i}": box for i, (_, box) in enumerate(boxes)})

    # then
    wrong = []
    for i, (edge, box) in enumerate(boxes):
        connection = data[f"b{i}"]
        assert not connection["pageInfo"]["hasNextPage"]
        if (place.id in ids_of(connection["edges"])) != inside:
            wrong.append((edge, box))
    assert wrong == [], f"{len(wrong)} of {len(boxes)} boxes decide the place wrongly"


# ---------------------------------------------------------------------------------------------
# places with near: nearest first


SHANGHAI = (31.2304, 121.4737)
BORDER = (31.1, 120.95)  # where Shanghai, Jiangsu and Zhejiang meet

NEARBY_CASES = {
    "radius_only_wgs84": (SHANGHAI, CRS.WGS84, 3_000.0, {}),
    "radius_and_kind_gcj02": (SHANGHAI, CRS.GCJ02, 20_000.0, {"kinds": ["ELDERLY_CARE"]}),
    "radius_region_kinds_bbox_bd09": (
        BORDER, CRS.BD09, 50_000.0,
        {"regionCode": "320500", "kinds": ["CLINIC", "SERVICE_HALL"], "bbox": BORDER_BOX}),
    "region_kind_bbox_without_radius": (
        SHANGHAI, CRS.GCJ02, None,
        {"regionCode": "310000", "kinds": ["CLINIC"], "bbox": BORDER_BOX}),
    "county_without_radius": (BORDER, CRS.WGS84, None, {"regionCode": "330106"}),
    "county_and_bbox_far_from_near": (
        SHANGHAI, CRS.BD09, None, {"regionCode": "330106", "bbox": HANGZHOU_BOX}),
}


@pytest.mark.parametrize(("center", "crs", "radius", "filters"), list(NEARBY_CASES.values()),
                         ids=list(NEARBY_CASES))
def test_nearby__filters_combined__equal_brute_force(
    demo_client, stored, center, crs, radius, filters
):
    # given: the centre as a phone in that datum reports it
    in_lat, in_lon = from_wgs84(*center, crs)
    lat, lon = to_wgs84(in_lat, in_lon, crs)

    def oracle(filters: dict) -> list[tuple[float, int]]:
        found = sorted((distance_m(lat, lon, p), p.id)
                       for p in stored.values() if matches(p, filters))
        return [(d, i) for d, i in found if radius is None or d <= radius]

    expected = oracle(filters)
    assert expected
    for name in filters:  # each filter changes the answer, or the case proves nothing
        assert oracle({k: v for k, v in filters.items() if k != name}) != expected, name

    # when: pages of nine
    variables = {"near": {"lat": in_lat, "lon": in_lon, "crs": crs.value},
                 "radiusMeters": radius, **filters}
    edges = walk(demo_client, "NearbyPlaces", variables, 9)

    # then: the same places in the same order, at the same distances
    assert ids_of(edges) == [i for _, i in expected]
    for edge, (oracle_distance, _) in zip(edges, expected, strict=True):
        assert edge["distanceMeters"] == pytest.approx(oracle_distance, abs=0.01)


def test_nearby__paged__same_as_one_page(demo_client):
    variables = {"near": {"lat": SHANGHAI[0], "lon": SHANGHAI[1]}, "radiusMeters": 4_000.0}

    one_page = gql_data(demo_client, operation("NearbyPlaces"), {**variables, "first": 100})
    paged = walk(demo_client, "NearbyPlaces", variables, 4)

    assert not one_page["places"]["pageInfo"]["hasNextPage"]
    assert len(paged) > 8
    assert paged == one_page["places"]["edges"]


def test_nearby__location_in_requested_crs(demo_client, stored):
    variables = {"near": {"lat": SHANGHAI[0], "lon": SHANGHAI[1]}, "first": 5, "crs": "BD09"}

    edges = gql_data(demo_client, operation("NearbyPlaces"), variables)["places"]["edges"]

    assert len(edges) == 5
    for edge in edges:
        place = stored[int(edge["node"]["id"])]
        lat, lon = from_wgs84(place.lat, place.lon, CRS.BD09)
        assert edge["node"]["location"] == pytest.approx({"lat": lat, "lon": lon}, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# the Amap import


def test_places__amap_import__hangzhou_service_halls_with_amap_ids(demo_client, stored):
    # given: what the database holds from the Amap file
    amap = [p for p in stored.values() if p.source == "amap"]
    assert len(amap) > 100
    assert all(AMAP_ID.match(p.external_id) for p in amap), [p.external_id for p in amap][:5]
    assert all(p.kind == "SERVICE_HALL" for p in amap)
    # Amap's points sit in Hangzhou's outline, or within 100 m of it (the package's outline
    # puts one hall of 临平's border 69 m into 海宁)
    hangzhou = next(geom for code, _, geom in package_features("city") if code == "330100")
    outside = [p for p in amap if "330100" not in p.chain]
    assert len(outside) <= 3
    assert all(hangzhou.distance(shapely.Point(p.lon, p.lat)) < 0.001 for p in outside), outside

    # when: listing Hangzhou's service halls through the API
    listed = set(ids_of(walk(demo_client, "BrowsePlaces",
                             {"regionCode": "330100", "kinds": ["SERVICE_HALL"]}, 100)))

    # then: every Amap place in Hangzhou is there, and its detail says where it came from
    inside = [p for p in amap if "330100" in p.chain]
    assert {p.id for p in inside} <= listed
    for place in inside[::40]:
        detail = place_detail(demo_client, place.id)
        assert detail["source"] == "amap"
        assert AMAP_ID.match(detail["externalId"])
        assert detail["region"]["parent"]["code"] == "330100"


# ---------------------------------------------------------------------------------------------
# the number of SQL statements per request


NEARBY_WITH_REGION_TREE = """
query NearbyWithRegionTree($near: GeoPointInput!, $first: Int) {
  places(near: $near, radiusMeters: 30000, first: $first) {
    edges {
      distanceMeters
      node { id name region { code name parent { code name parent { code name } } } }
    }
  }
}
"""


def run_counting_statements(app, client, query: str, variables: dict) -> tuple[int, dict]:
    engine = app.extensions["servicemap"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # The spatial rounds (a circle widened until the page is full) depend on the page
        # size by design; what must not grow is everything loaded for the page's rows.
        if "place_rtree" not in statement and "geog" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        data = gql_data(client, query, variables)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), data


def test_nearby__region_tree_of_a_page__statements_do_not_grow_with_page_size(
    demo_app, demo_client
):
    # given: a centre where three provinces meet, so a bigger page spans more cities
    near = {"lat": BORDER[0], "lon": BORDER[1]}
    for first in (5, 20, 50):  # warm up whatever is cached per process
        gql_data(demo_client, NEARBY_WITH_REGION_TREE, {"near": near, "first": first})

    # when
    counts, cities, provinces = {}, {}, {}
    for first in (5, 20, 50):
        counts[first], data = run_counting_statements(
            demo_app, demo_client, NEARBY_WITH_REGION_TREE, {"near": near, "first": first}
        )
        regions = [edge["node"]["region"] for edge in data["places"]["edges"]]
        assert len(regions) == first
        cities[first] = {r["parent"]["code"] for r in regions}
        provinces[first] = {r["parent"]["parent"]["code"] for r in regions}

    # then: the case can tell (the big page spans more cities and provinces) ...
    assert len(cities[50]) > len(cities[5]) and len(provinces[50]) >= 2
    # ... and the statements are a constant few, one per relation level at most
    assert counts[5] == counts[20] == counts[50], counts
    assert counts[20] <= 5, counts
