"""places(near…) against a brute-force geodesic scan, on both stores, through HTTP + GraphQL."""

from __future__ import annotations

import random

import pytest
from geographiclib.geodesic import Geodesic
from sqlalchemy import select

from backend.db import session_scope
from backend.places.importing import import_places
from backend.places.models import Place
from backend.places.records import PlaceKind, PlaceRecord
from geodata.cn_regions import load_china_regions
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.regions import RegionIndex
from tests.helpers import gql_data, operation, uow_of

# Clusters over the YRD: Shanghai, Hangzhou, Nanjing, Hefei, a rural county in southern Anhui.
CLUSTERS = [(31.23, 121.47), (30.27, 120.15), (32.06, 118.79), (31.82, 117.23), (30.0, 118.2)]
FAR_CENTRES = [(39.9, 116.4), (35.68, 139.69), (-30.0, -160.0)]
KINDS = [kind.value for kind in PlaceKind]
GEODESIC = Geodesic.WGS84  # the oracle: GeographicLib, independent of the stores' code


@pytest.fixture(scope="module")
def region_index() -> RegionIndex:
    return RegionIndex(load_china_regions())  # what `seed regions` stores


def random_places(rng: random.Random, count: int) -> list[PlaceRecord]:
    records = []
    for n in range(count):
        if n % 50 == 49:
            # Exactly the same point as an earlier place: the tie must be broken by id.
            twin = records[rng.randrange(len(records))]
            lat, lon = twin.lat, twin.lon
        else:
            c_lat, c_lon = rng.choice(CLUSTERS)
            lat = c_lat + rng.gauss(0, 0.15)
            lon = c_lon + rng.gauss(0, 0.15)
        records.append(
            PlaceRecord(kind=PlaceKind(rng.choice(KINDS)), name=f"测试场所{n}", lat=lat, lon=lon,
                        source="test", external_id=f"oracle-{n}")
        )
    return records


def brute_force(places: list[dict], lat: float, lon: float, radius: float | None) -> list[tuple]:
    found = []
    for place in places:
        distance = GEODESIC.Inverse(lat, lon, place["lat"], place["lon"])["s12"]
        if radius is None or distance <= radius:
            found.append((distance, place["id"]))
    return sorted(found)


def walk_pages(client, variables: dict, max_pages: int | None = None) -> list[tuple]:
    seen, after, pages = [], None, 0
    while True:
        data = gql_data(client, operation("NearbyPlaces"), {**variables, "after": after})
        connection = data["places"]
        seen += [(edge["distanceMeters"], int(edge["node"]["id"]), edge["node"])
                 for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"] or (max_pages and pages >= max_pages):
            return seen
        after = connection["pageInfo"]["endCursor"]


def test_nearby__random_queries__equal_brute_force_scan(scratch_app, region_index):
    # given: 900 places in five clusters, stored through the importer
    rng = random.Random(20261122)
    records = random_places(rng, 900)
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        import_places(uow_of(session), records)
        stored = [
            {"id": p.id, "lat": p.lat, "lon": p.lon, "kind": p.kind,
             "regions": {r.code for r in region_index.at(p.lat, p.lon)}}
            for p in session.scalars(select(Place))
        ]
    client = scratch_app.test_client()
    region_codes = ["310000", "330100", "320102", "340100"]

    for case in range(120):
        # when: a random centre in a random datum, radius, page size and filters
        # every 24th centre is far from all places (Beijing, Tokyo, the South Pacific)
        c_lat, c_lon = (FAR_CENTRES[case // 24 % 3] if case % 24 == 0
                        else rng.choice(CLUSTERS))
        wgs_lat, wgs_lon = c_lat + rng.gauss(0, 0.2), c_lon + rng.gauss(0, 0.2)
        crs = rng.choice(list(CRS))
        in_lat, in_lon = from_wgs84(wgs_lat, wgs_lon, crs)
        radii = [300.0, 2_000.0, 8_000.0, 25_000.0, 50_000.0]
        radius = None if case % 8 == 0 else rng.choice(radii)
        variables: dict = {"near": {"lat": in_lat, "lon": in_lon, "crs": crs.value},
                           "radiusMeters": radius, "first": rng.choice([7, 20, 100])}
        candidates = stored
        if rng.random() < 0.3:
            kinds = rng.sample(KINDS, rng.randint(1, 2))
            variables["kinds"] = kinds
            candidates = [p for p in candidates if p["kind"] in kinds]
        if rng.random() < 0.2:
            code = rng.choice(region_codes)
            variables["regionCode"] = code
            candidates = [p for p in candidates if code in p["regions"]]
        if rng.random() < 0.25:
            # a box in any datum holds the places whose coordinates in that datum lie inside
            box_crs = rng.choice(list(CRS))
            box = {"south": in_lat - 0.1, "north": in_lat + 0.12,
                   "west": in_lon - 0.15, "east": in_lon + 0.1, "crs": box_crs.value}
            variables["bbox"] = box

            def in_box(place: dict, box: dict = box, box_crs: CRS = box_crs) -> bool:
                lat, lon = from_wgs84(place["lat"], place["lon"], box_crs)
                return box["south"] <= lat <= box["north"] and box["west"] <= lon <= box["east"]

            candidates = [p for p in candidates if in_box(p)]
        center = to_wgs84(in_lat, in_lon, crs)
        expected = brute_force(candidates, *center, radius)
        got = walk_pages(client, variables, max_pages=3 if radius is None else None)

        # then: same places, same order, same distances
        assert [i for _, i, _ in got] == [i for _, i in expected[: len(got)]], variables
        if radius is not None:
            assert len(got) == len(expected), variables
        else:
            page = variables["first"]
            assert len(got) == min(len(expected), 3 * page), variables
        for (distance, _, node), (oracle_distance, _) in zip(got, expected, strict=False):
            assert distance == pytest.approx(oracle_distance, abs=0.1)
            assert node["location"]["lat"] == pytest.approx(
                next(p["lat"] for p in stored if p["id"] == int(node["id"])), abs=1e-12
            )


def test_nearby__equal_distance__ordered_by_id_across_pages(scratch_app):
    # given: five places at exactly one point and one farther away
    records = [PlaceRecord(kind=PlaceKind.CLINIC, name=f"同点{n}", lat=31.2, lon=121.5,
                           source="test", external_id=f"tie-{n}") for n in range(5)]
    records.append(PlaceRecord(kind=PlaceKind.CLINIC, name="远处", lat=31.21, lon=121.5,
                               source="test", external_id="far"))
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        import_places(uow_of(session), records)
    client = scratch_app.test_client()

    # when: paging two at a time
    got = walk_pages(client, {"near": {"lat": 31.19, "lon": 121.5}, "radiusMeters": 10_000,
                              "first": 2})

    # then: the five ties in id order, then the farther one; each exactly once
    ids = [i for _, i, _ in got]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert ids[:5] == sorted(ids[:5])
    assert got[5][2]["name"] == "远处"
    assert got[0][0] == got[4][0] < got[5][0]
