"""Generated demo places and the Amap service-hall reader, checked against the real region data."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely

from backend.fixtures.demo_places import (
    CARE_LEVELS,
    CLINIC_LEVELS,
    DEFAULT_CENTERS_CSV,
    generate_demo_places,
)
from backend.places.amap import read_amap_service_halls
from backend.places.records import PlaceKind, PlaceRecord
from geodata.crs import gcj02_to_wgs84
from geodata.regions import RegionIndex, RegionLevel, RegionRecord, load_yrd_regions

REPO = Path(__file__).resolve().parents[2]
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO / ".." / "shared"))
AMAP_FILE = SHARED_DIR / "data" / "hangzhou_amap_poi.geojson"
EXTERNAL_ID = re.compile(r"^(hall-(\d{6})|clinic-(\d{6})-\d{2}|care-(\d{6})-\d{2})$")
PHONE = re.compile(r"^0\d{2,3}-[2-8]\d{6,7}$")
CITY_AREA_CODES = {  # spot checks, written independently of the module's table
    "310100": "021",
    "320100": "025",
    "320500": "0512",
    "320200": "0510",
    "330100": "0571",
    "330200": "0574",
    "330300": "0577",
    "340100": "0551",
    "341600": "0558",
}


@pytest.fixture(scope="module")
def regions() -> list[RegionRecord]:
    return load_yrd_regions()


@pytest.fixture(scope="module")
def counties(regions: list[RegionRecord]) -> dict[str, RegionRecord]:
    return {r.code: r for r in regions if r.level is RegionLevel.COUNTY}


@pytest.fixture(scope="module")
def index(regions: list[RegionRecord]) -> RegionIndex:
    return RegionIndex(regions)


@pytest.fixture(scope="module")
def places(regions: list[RegionRecord]) -> list[PlaceRecord]:
    return generate_demo_places(regions)


@pytest.fixture(scope="module")
def amap_features() -> list[dict]:
    if not AMAP_FILE.is_file():
        pytest.fail(
            f"Amap test data not found at {AMAP_FILE}. It is not part of the repository (its "
            "terms forbid redistribution); set SHARED_DIR to the folder holding data/"
            "hangzhou_amap_poi.geojson."
        )
    return json.loads(AMAP_FILE.read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def amap_halls(amap_features: list[dict]) -> list[PlaceRecord]:
    return read_amap_service_halls(AMAP_FILE)


def county_code(place: PlaceRecord) -> str:
    match = EXTERNAL_ID.match(place.external_id)
    assert match, place.external_id
    return next(group for group in match.groups()[1:] if group)


def area_km2(geometry) -> float:
    lat = geometry.centroid.y
    return geometry.area * 110.574 * 111.320 * math.cos(math.radians(lat))


def test_generation_is_deterministic_and_order_independent(
    regions: list[RegionRecord], places: list[PlaceRecord]
) -> None:
    again = generate_demo_places(regions)
    shuffled = generate_demo_places(list(reversed(regions)))
    assert len(again) == len(shuffled) == len(places)
    for first, second, third in zip(places, again, shuffled, strict=True):
        assert first == second == third


def test_counts_per_kind_in_intended_range(places: list[PlaceRecord]) -> None:
    kinds = Counter(p.kind for p in places)
    assert 4000 <= len(places) <= 6000
    assert kinds[PlaceKind.SERVICE_HALL] == 308
    assert kinds[PlaceKind.CLINIC] > 2 * kinds[PlaceKind.ELDERLY_CARE] > 0
    assert all(p.source == "generated" for p in places)


def test_external_ids_unique_and_well_formed(places: list[PlaceRecord]) -> None:
    ids = [p.external_id for p in places]
    assert len(set(ids)) == len(ids)
    assert all(EXTERNAL_ID.match(i) for i in ids)


def test_every_place_inside_the_county_its_id_names(
    places: list[PlaceRecord], counties: dict[str, RegionRecord], index: RegionIndex
) -> None:
    for place in places:
        code = county_code(place)
        county = counties[code]
        assert type(place.lat) is float and type(place.lon) is float
        assert shapely.contains_xy(county.geometry, place.lon, place.lat), place
        chain = index.at(place.lat, place.lon)
        assert [r.level for r in chain] == [
            RegionLevel.COUNTY,
            RegionLevel.CITY,
            RegionLevel.PROVINCE,
        ], place
        assert chain[0].code == code, (place, chain[0])
        assert chain[1].code == county.parent_code


def test_one_hall_per_county_at_its_converted_seat(
    places: list[PlaceRecord], counties: dict[str, RegionRecord], index: RegionIndex
) -> None:
    halls = {county_code(p): p for p in places if p.kind is PlaceKind.SERVICE_HALL}
    assert len(halls) == sum(p.kind is PlaceKind.SERVICE_HALL for p in places) == 308
    assert set(halls) == set(counties)

    with DEFAULT_CENTERS_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seat_lat, seat_lon = gcj02_to_wgs84(
        np.array([float(r["center_lat"]) for r in rows]),
        np.array([float(r["center_lng"]) for r in rows]),
    )
    moved = []
    for row, lat, lon in zip(rows, seat_lat, seat_lon, strict=True):
        code, hall = row["adcode"], halls[row["adcode"]]
        chain = index.at(lat, lon)
        seat_in_county = (
            shapely.contains_xy(counties[code].geometry, lon, lat)
            and chain
            and chain[0].code == code
        )
        if seat_in_county:
            assert hall.lat == pytest.approx(lat, abs=1e-6), row["name"]
            assert hall.lon == pytest.approx(lon, abs=1e-6), row["name"]
        else:
            moved.append(row["name"])
    # DataV places 南谯区's seat inside 琅琊区; such halls move into their own county.
    assert len(moved) <= 3, moved


def test_hall_names_addresses_and_phones(
    places: list[PlaceRecord], counties: dict[str, RegionRecord]
) -> None:
    for place in places:
        assert place.name.strip() and place.address
        assert place.address.startswith(("上海市", "江苏省", "浙江省", "安徽省")), place.address
        assert "上海市上海市" not in place.address
        assert place.phone and PHONE.match(place.phone), place.phone
        county = counties[county_code(place)]
        assert county.name in place.address
        expected_area = CITY_AREA_CODES.get(county.parent_code)
        if expected_area:
            assert place.phone.startswith(expected_area + "-"), (place.phone, county.name)
        if place.kind is PlaceKind.SERVICE_HALL:
            assert place.name.endswith("（跨省通办窗口）")
            assert county.name in place.name


def test_names_unique_within_each_county(places: list[PlaceRecord]) -> None:
    per_county = Counter((county_code(p), p.name) for p in places)
    assert [key for key, n in per_county.items() if n > 1] == []


def test_kind_specific_fields_only_for_their_kind(places: list[PlaceRecord]) -> None:
    for place in places:
        clinic_fields = (place.clinic_level, place.cross_province_settlement)
        care_fields = (place.beds, place.available_beds, place.accepts_non_local)
        if place.kind is PlaceKind.CLINIC:
            assert place.clinic_level in CLINIC_LEVELS
            assert isinstance(place.cross_province_settlement, bool)
        else:
            assert clinic_fields == (None, None), place
        if place.kind is PlaceKind.ELDERLY_CARE:
            assert place.beds is not None and place.available_beds is not None
            assert 40 <= place.beds <= 800
            assert 0 <= place.available_beds <= 0.3 * place.beds
            assert isinstance(place.accepts_non_local, bool)
            assert place.care_levels, place
            # A non-empty subset, in the canonical order, without repeats.
            positions = [CARE_LEVELS.index(level) for level in place.care_levels]
            assert positions == sorted(set(positions))
        else:
            assert care_fields == (None, None, None), place
            assert place.care_levels == ()


def test_clinic_levels_and_settlement_are_plausible(places: list[PlaceRecord]) -> None:
    clinics = [p for p in places if p.kind is PlaceKind.CLINIC]
    levels = Counter(p.clinic_level for p in clinics)
    assert set(levels) == set(CLINIC_LEVELS)
    # Top hospitals are the rarest, primary care the most common.
    assert levels["三级甲等"] < levels["二级甲等"] < levels["社区卫生服务中心"] + levels["一级"]
    hospitals = [p for p in clinics if p.clinic_level.startswith(("三级", "二级"))]
    others = [p for p in clinics if not p.clinic_level.startswith(("三级", "二级"))]
    assert statistics.mean(p.cross_province_settlement for p in hospitals) > 0.75
    assert 0 < statistics.mean(p.cross_province_settlement for p in others) < 0.5


def test_city_districts_are_denser_than_counties(
    places: list[PlaceRecord], counties: dict[str, RegionRecord]
) -> None:
    counts = Counter(county_code(p) for p in places if p.kind is not PlaceKind.SERVICE_HALL)
    by_suffix: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for code, county in counties.items():
        by_suffix[county.name[-1]].append((counts[code], counts[code] / area_km2(county.geometry)))
    districts, rural = by_suffix["区"], by_suffix["县"]
    assert len(districts) > 100 and len(rural) > 100
    assert statistics.mean(c for c, _ in districts) > statistics.mean(c for c, _ in rural) + 3
    assert statistics.mean(d for _, d in districts) > 2 * statistics.mean(d for _, d in rural)


def test_places_cluster_near_the_seat(
    places: list[PlaceRecord], counties: dict[str, RegionRecord]
) -> None:
    halls = {county_code(p): p for p in places if p.kind is PlaceKind.SERVICE_HALL}
    by_county: dict[str, list[PlaceRecord]] = defaultdict(list)
    for place in places:
        if place.kind is not PlaceKind.SERVICE_HALL:
            by_county[county_code(place)].append(place)
    rng = np.random.default_rng(0)
    closer = 0
    for code, county in counties.items():
        hall = halls[code]
        # Baseline: points spread evenly over the county outline.
        min_lon, min_lat, max_lon, max_lat = county.geometry.bounds
        lon = rng.uniform(min_lon, max_lon, 2000)
        lat = rng.uniform(min_lat, max_lat, 2000)
        inside = shapely.contains_xy(county.geometry, lon, lat)
        uniform = np.median(np.hypot(lat[inside] - hall.lat, lon[inside] - hall.lon))
        generated = np.median(
            [math.hypot(p.lat - hall.lat, p.lon - hall.lon) for p in by_county[code]]
        )
        closer += generated < uniform
    assert closer > 0.85 * len(counties)


# -- Amap ------------------------------------------------------------------------------------


def independently_filtered(features: list[dict]) -> list[dict]:
    return [
        f
        for f in features
        if f["properties"]["category"] == "gov_service"
        and f["properties"]["amapType"].split(";")[0] == "政府机构及社会团体"
    ]


def test_amap_reader_keeps_exactly_the_government_service_halls(
    amap_features: list[dict], amap_halls: list[PlaceRecord]
) -> None:
    expected = independently_filtered(amap_features)
    assert len(amap_halls) == len(expected) > 0
    ids = [h.external_id for h in amap_halls]
    assert len(set(ids)) == len(ids)
    assert set(ids) == {f["properties"]["amapId"] for f in expected}

    by_id = {f["properties"]["amapId"]: f["properties"] for f in amap_features}
    for hall in amap_halls:
        props = by_id[hall.external_id]
        assert props["category"] == "gov_service"
        assert not props["amapType"].startswith(("生活服务", "餐饮服务", "商务住宅", "公司企业"))
        assert hall.kind is PlaceKind.SERVICE_HALL and hall.source == "amap"
        assert hall.name == props["name"].strip()
        assert hall.phone == (props["phone"].strip() or None)
        assert all(v is None for v in (hall.clinic_level, hall.beds, hall.accepts_non_local))
    # The keyword-search noise the filter exists for.
    assert not {"市民之家食堂", "杨家沁苑", "市民之家快递驿站"} & {h.name for h in amap_halls}


def test_amap_halls_converted_into_hangzhou(
    amap_features: list[dict], amap_halls: list[PlaceRecord], regions: list[RegionRecord]
) -> None:
    hangzhou = next(r for r in regions if r.code == "330100")
    raw = {f["properties"]["amapId"]: f["geometry"]["coordinates"] for f in amap_features}
    for hall in amap_halls:
        assert shapely.contains_xy(hangzhou.geometry, hall.lon, hall.lat), hall
        lon_gcj, lat_gcj = raw[hall.external_id]
        # GCJ-02 is offset by a few hundred metres here; WGS-84 lies south-west of it.
        shift_m = math.hypot(
            (lat_gcj - hall.lat) * 110_574,
            (lon_gcj - hall.lon) * 111_320 * math.cos(math.radians(hall.lat)),
        )
        assert 100 < shift_m < 1000, (hall, shift_m)


def test_amap_addresses_read_naturally(
    amap_features: list[dict], amap_halls: list[PlaceRecord]
) -> None:
    by_id = {f["properties"]["amapId"]: f["properties"] for f in amap_features}
    for hall in amap_halls:
        original = by_id[hall.external_id]["address"].strip()
        if not original:
            assert hall.address is None
            continue
        assert hall.address.endswith(original)
        assert hall.address.startswith("杭州")
        assert "杭州市杭州" not in hall.address
        for county in ("桐庐", "淳安", "建德"):
            assert f"{county}区" not in hall.address
        assert not re.search(r"(..区)\1", hall.address), hall.address
