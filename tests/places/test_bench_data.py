"""The benchmark data generator (backend/fixtures/bench_places.py) and `flask seed bench`."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
import shapely
from sqlalchemy.engine import make_url

from backend.fixtures.bench_places import (
    BENCH_SOURCE,
    KIND_SHARES,
    BenchPlaces,
    generate_bench_places,
    load_geography,
    sample_points,
)
from backend.fixtures.demo_places import CLINIC_LEVELS
from backend.places.records import PlaceKind
from geodata.geodesic import distances_m
from geodata.regions import RegionIndex, RegionLevel, RegionRecord, load_yrd_regions
from tests.conftest import make_test_app
from tests.helpers import gql_data, operation

N = 2_000
SEED = 7
PHONE = re.compile(r"^0\d{2,3}-[2-8]\d{6,7}$")
YRD_BOX = (27.0, 114.8, 35.2, 123.0)  # south, west, north, east: generous, written by hand


@pytest.fixture(scope="module")
def regions() -> list[RegionRecord]:
    return load_yrd_regions()


@pytest.fixture(scope="module")
def geography(regions):
    return load_geography(regions)


@pytest.fixture(scope="module")
def places(geography) -> BenchPlaces:
    return generate_bench_places(N, SEED, geography)


def columns(places: BenchPlaces) -> dict[str, list]:
    return {name: places.column(name) for name in BenchPlaces.FIELDS}


def test_deterministic_for_a_seed(places: BenchPlaces, geography) -> None:
    again = generate_bench_places(N, SEED, geography)
    assert columns(again) == columns(places)
    other = generate_bench_places(N, SEED + 1, geography)
    assert other.column("lat") != places.column("lat")
    assert other.column("name") != places.column("name")


def test_every_point_in_the_yrd_and_in_its_county_and_city(
    places: BenchPlaces, regions: list[RegionRecord]
) -> None:
    by_code = {r.code: r for r in regions}
    south, west, north, east = YRD_BOX
    lat, lon = np.asarray(places.lat), np.asarray(places.lon)
    assert ((lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)).all()
    assert np.array_equal(lat, np.round(lat, 6)) and np.array_equal(lon, np.round(lon, 6))
    for level, codes in (("county", places.county_code), ("city", places.city_code)):
        for code in set(codes):
            mask = np.array([c == code for c in codes])
            inside = shapely.intersects_xy(by_code[code].geometry, lon[mask], lat[mask])
            assert inside.all(), (level, code)


def test_region_codes_form_a_chain(places: BenchPlaces, regions: list[RegionRecord]) -> None:
    by_code = {r.code: r for r in regions}
    index = RegionIndex(regions)
    for i in range(0, N, 7):  # what regionAt answers for the point is the chain we stored
        chain = [r.code for r in index.at(places.lat[i], places.lon[i])]
        assert chain == [places.county_code[i], places.city_code[i], places.province_code[i]]
    for county, city, province in zip(
        places.county_code, places.city_code, places.province_code, strict=True
    ):
        assert by_code[county].level is RegionLevel.COUNTY
        assert by_code[county].parent_code == city
        assert by_code[city].level is RegionLevel.CITY
        assert by_code[city].parent_code == province
        assert by_code[province].level is RegionLevel.PROVINCE


def test_kind_proportions(places: BenchPlaces) -> None:
    counts = Counter(places.kind)
    assert set(counts) == set(KIND_SHARES)
    for kind, share in KIND_SHARES.items():
        assert abs(counts[kind] / N - share) < 0.035, (kind, counts)


def test_spread_over_the_cities_and_denser_in_centres(places: BenchPlaces, geography) -> None:
    cities = Counter(places.city_code)
    assert len(cities) >= 35  # 41 cities; the smallest get ~0.5 % each
    assert cities.most_common(1)[0][0] == "310100"  # Shanghai, the most populous
    city_index = {code: i for i, code in enumerate(geography.city_codes)}
    ci = np.array([city_index[c] for c in places.city_code])
    lat, lon = np.asarray(places.lat), np.asarray(places.lon)
    to_centre = np.array([
        float(distances_m(geography.city_centre_lat[c], geography.city_centre_lon[c],
                          np.array([la]), np.array([lo]))[0])
        for c, la, lo in zip(ci, lat, lon, strict=True)
    ])
    # Half of the mixture is a few-km Gaussian around the centre.
    assert np.mean(to_centre < 10_000) > 0.35
    assert np.mean(to_centre > 30_000) > 0.05  # and the rest reaches the whole city


def test_ids_names_and_attributes(places: BenchPlaces) -> None:
    assert len(set(places.external_id)) == N
    assert all(e.startswith(f"bench-{SEED}-") for e in places.external_id)
    assert set(places.column("source")) == {BENCH_SOURCE}
    records = list(places.records())
    assert len(records) == N
    for place in records:
        assert place.name.strip() and place.address
        assert place.address.startswith(("上海市", "江苏省", "浙江省", "安徽省")), place.address
        assert "上海市上海市" not in place.address
        assert PHONE.match(place.phone), place.phone
        if place.kind is PlaceKind.CLINIC:
            assert place.clinic_level in CLINIC_LEVELS
            assert isinstance(place.cross_province_settlement, bool)
        else:
            assert (place.clinic_level, place.cross_province_settlement) == (None, None)
        if place.kind is PlaceKind.ELDERLY_CARE:
            assert 40 <= place.beds <= 800
            assert 0 <= place.available_beds <= 0.3 * place.beds
            assert isinstance(place.accepts_non_local, bool)
            assert place.care_levels
        else:
            assert (place.beds, place.available_beds, place.accepts_non_local) == (None,) * 3
            assert place.care_levels == ()
    names = places.name
    assert any(re.fullmatch(r".+市.+区第\d+社区卫生服务中心", name) for name in names)
    assert any("医保" in name for name in names)  # for the text + geo query of the bench


def test_sample_points_are_deterministic_and_inside(geography) -> None:
    lat1, lon1, county1 = sample_points(300, 99, geography)
    lat2, lon2, county2 = sample_points(300, 99, geography)
    assert np.array_equal(lat1, lat2) and np.array_equal(lon1, lon2)
    assert np.array_equal(county1, county2)
    inside = [shapely.intersects_xy(geography.county_geoms[c], lo, la)
              for c, la, lo in zip(county1, lat1, lon1, strict=True)]
    assert all(inside)


def test_seed_bench_command(database_factory: Callable[[str], str]) -> None:
    url = database_factory("sqlite")
    app = make_test_app(url)
    runner = app.test_cli_runner()
    n = 600  # the FTS index of search_text makes loading the slow part
    result = runner.invoke(args=["seed", "bench", "--places", str(n), "--seed", str(SEED)])
    assert result.exit_code == 0, result.output
    assert f"{n} inserted" in result.output

    path = make_url(url).database
    with sqlite3.connect(path) as db:
        count, ids, external_ids, sources = db.execute(
            "SELECT count(*), count(DISTINCT id), count(DISTINCT external_id),"
            " count(DISTINCT source) FROM place"
        ).fetchone()
        assert count == ids == external_ids == n and sources == 1
        assert db.execute("SELECT count(*) FROM place_rtree").fetchone()[0] == n
        assert db.execute(
            "SELECT count(*) FROM place WHERE county_code IS NULL OR city_code IS NULL"
            " OR province_code IS NULL"
        ).fetchone()[0] == 0
        first = db.execute("SELECT name, lat, lon, care_levels FROM place"
                           " WHERE kind = 'ELDERLY_CARE' ORDER BY id LIMIT 1").fetchone()
        assert json.loads(first[3])

    again = runner.invoke(args=["seed", "bench", "--places", "10"])
    assert again.exit_code != 0 and "--replace" in again.output
    replaced = runner.invoke(args=["seed", "bench", "--places", "300", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert f"{n} deleted, 300 inserted" in replaced.output
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM place").fetchone()[0] == 300
        name, lat, lon = db.execute("SELECT name, lat, lon FROM place ORDER BY id LIMIT 1"
                                    ).fetchone()

    # The rows read back through the API like any other place.
    data = gql_data(app.test_client(), operation("NearbyPlaces"), {
        "near": {"lat": lat, "lon": lon}, "radiusMeters": 1000, "first": 5,
    })
    edges = data["places"]["edges"]
    assert edges and edges[0]["distanceMeters"] == 0.0
    assert edges[0]["node"]["name"] == name
    app.extensions["servicemap"].engine.dispose()
