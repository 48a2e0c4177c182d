"""geodata.regions: the loaded YRD hierarchy and point lookups checked against the source tables."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import box, shape

from geodata.crs import gcj02_to_wgs84
from geodata.geodesic import distance_m
from geodata.regions import DATA_DIR, RegionIndex, RegionLevel, RegionRecord

BUNDLED = [
    "yrd_prefecture_cities.geojson",
    "yrd_county_level_districts.geojson",
    "yrd_county_level_centers.csv",
]
PROVINCES = {"310000": "上海市", "320000": "江苏省", "330000": "浙江省", "340000": "安徽省"}


def codes(records: list[RegionRecord]) -> list[str]:
    return [r.code for r in records]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_data__bundled_files_are_unchanged_copies(shared_file: Callable[..., Path]) -> None:
    for name in BUNDLED:
        assert sha256(DATA_DIR / name) == sha256(shared_file("data", name)), name
    assert (DATA_DIR / "SOURCES.md").is_file()


def test_data__amap_poi_file_is_not_redistributed() -> None:
    assert not list(DATA_DIR.glob("*amap*"))


def test_load__counts_levels_and_codes(yrd_regions: list[RegionRecord]) -> None:
    assert Counter(r.level for r in yrd_regions) == {
        RegionLevel.PROVINCE: 4,
        RegionLevel.CITY: 41,
        RegionLevel.COUNTY: 308,
    }
    all_codes = codes(yrd_regions)
    assert len(set(all_codes)) == len(all_codes)
    assert all(len(c) == 6 and c.isdigit() for c in all_codes)
    provinces = {r.code: r.name for r in yrd_regions if r.level is RegionLevel.PROVINCE}
    assert provinces == PROVINCES


def test_load__hierarchy(yrd_regions: list[RegionRecord]) -> None:
    by_code = {r.code: r for r in yrd_regions}
    for r in yrd_regions:
        if r.level is RegionLevel.PROVINCE:
            assert r.parent_code is None
        elif r.level is RegionLevel.CITY:
            assert by_code[r.parent_code].level is RegionLevel.PROVINCE
            assert r.code[:2] == r.parent_code[:2]
        else:
            city = by_code[r.parent_code]
            assert city.level is RegionLevel.CITY
            assert by_code[city.parent_code].level is RegionLevel.PROVINCE
            assert r.code[:4] == city.code[:4], r

    per_province = Counter(
        by_code[by_code[r.parent_code].parent_code].code
        for r in yrd_regions
        if r.level is RegionLevel.COUNTY
    )
    assert per_province == {"310000": 16, "320000": 97, "330000": 90, "340000": 105}
    cities_per_province = Counter(r.parent_code for r in yrd_regions if r.level is RegionLevel.CITY)
    assert cities_per_province == {"310000": 1, "320000": 13, "330000": 11, "340000": 16}


def test_load__shanghai_is_province_and_city(yrd_regions: list[RegionRecord]) -> None:
    by_code = {r.code: r for r in yrd_regions}
    province, city = by_code["310000"], by_code["310100"]
    assert (province.name, province.level, province.parent_code) == (
        "上海市",
        RegionLevel.PROVINCE,
        None,
    )
    assert (city.name, city.level, city.parent_code) == ("上海市", RegionLevel.CITY, "310000")
    assert shapely.equals(province.geometry, city.geometry)
    districts = [
        r for r in yrd_regions if r.code.startswith("31") and r.level is RegionLevel.COUNTY
    ]
    assert len(districts) == 16
    assert {r.parent_code for r in districts} == {"310100"}


def test_load__geometries_are_valid_wgs84_polygons(yrd_regions: list[RegionRecord]) -> None:
    for r in yrd_regions:
        assert r.geometry.geom_type in ("Polygon", "MultiPolygon"), r
        assert r.geometry.is_valid and not r.geometry.is_empty, r
        west, south, east, north = r.geometry.bounds  # lon/lat axis order
        assert 114 < west < east < 123.5 and 27 < south < north < 35.5, r


def test_load__vertices_are_converted_from_gcj02(yrd_regions: list[RegionRecord]) -> None:
    by_code = {r.code: r for r in yrd_regions}
    features = json.loads((DATA_DIR / "yrd_county_level_districts.geojson").read_text("utf-8"))
    checked = 0
    for feature in features["features"]:
        raw = shape(feature["geometry"])
        if not raw.is_valid:  # repaired outlines may have reordered vertices
            continue
        raw_xy = shapely.get_coordinates(raw)
        lat, lon = gcj02_to_wgs84(raw_xy[:, 1], raw_xy[:, 0])
        loaded_xy = shapely.get_coordinates(by_code[str(feature["properties"]["adcode"])].geometry)
        np.testing.assert_array_equal(loaded_xy, np.column_stack([lon, lat]))
        # The datum shift in the YRD is a few hundred metres.
        assert 100 < distance_m(lat[0], lon[0], raw_xy[0, 1], raw_xy[0, 0]) < 1_000
        checked += 1
    assert checked >= 290


def test_load__province_outline_is_union_of_its_cities(yrd_regions: list[RegionRecord]) -> None:
    for province in (r for r in yrd_regions if r.level is RegionLevel.PROVINCE):
        cities = [r for r in yrd_regions if r.parent_code == province.code]
        assert cities and all(r.level is RegionLevel.CITY for r in cities)
        union = shapely.union_all([r.geometry for r in cities])
        assert province.geometry.symmetric_difference(union).area < 1e-9 * union.area


def test_at__county_centroids(
    region_index: RegionIndex, county_centers: list[dict[str, str]]
) -> None:
    assert len(county_centers) == 308
    without_centroid = {row["adcode"] for row in county_centers if not row["centroid_lat"]}
    # The source lacks these two centroids; their seat points stand in (both lie inside).
    assert without_centroid == {"320312", "330603"}
    for row in county_centers:
        kind = "centroid" if row["centroid_lat"] else "center"
        lat, lon = gcj02_to_wgs84(float(row[f"{kind}_lat"]), float(row[f"{kind}_lng"]))
        city = "310100" if row["city_adcode"] == "310000" else row["city_adcode"]
        expected = [row["adcode"], city, row["province_adcode"]]
        assert codes(region_index.at(lat, lon)) == expected, row["name"]


def test_at__shanghai_chain(region_index: RegionIndex) -> None:
    chain = region_index.at(31.2222, 121.4905)  # the Bund, 黄浦区
    assert codes(chain) == ["310101", "310100", "310000"]
    assert [r.level for r in chain] == [RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE]


def test_at__city_centres_lie_in_their_city(region_index: RegionIndex) -> None:
    features = json.loads((DATA_DIR / "yrd_prefecture_cities.geojson").read_text("utf-8"))
    assert len(features["features"]) == 41
    for feature in features["features"]:
        props = feature["properties"]
        lng, lat_gcj = props["center"]
        lat, lon = gcj02_to_wgs84(lat_gcj, lng)
        code = str(props["adcode"])
        city = "310100" if code == "310000" else code
        chain = region_index.at(lat, lon)
        assert codes(chain)[1:] == [city, str(props["province_adcode"])], props["name"]
        assert region_index.get(city).geometry.covers(shapely.Point(lon, lat)), props["name"]


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(30.0, 124.5), (39.9042, 116.4074), (22.5431, 114.0579), (48.8566, 2.3522), (0.0, 0.0)],
    ids=["east-china-sea", "beijing", "shenzhen", "paris", "null-island"],
)
def test_at__outside_every_region(region_index: RegionIndex, lat: float, lon: float) -> None:
    assert region_index.at(lat, lon) == []


def test_get(region_index: RegionIndex) -> None:
    hangzhou = region_index.get("330100")
    assert hangzhou is not None and hangzhou.name == "杭州市" and hangzhou.level is RegionLevel.CITY
    assert region_index.get("310100").parent_code == "310000"
    assert region_index.get("330113") is None  # 临平区 came after the 2020 data
    assert region_index.get("999999") is None


def toy_records() -> list[RegionRecord]:
    return [
        RegionRecord("100000", "P", RegionLevel.PROVINCE, None, box(0, 0, 4, 2)),
        RegionRecord("100100", "C", RegionLevel.CITY, "100000", box(0, 0, 4, 2)),
        # Two counties overlapping in 1 <= x <= 2; x > 3 is covered by the city only.
        RegionRecord("100102", "B", RegionLevel.COUNTY, "100100", box(1, 0, 3, 2)),
        RegionRecord("100101", "A", RegionLevel.COUNTY, "100100", box(0, 0, 2, 2)),
    ]


def test_index__overlap_goes_to_smallest_code() -> None:
    index = RegionIndex(toy_records())
    assert codes(index.at(1.0, 1.5)) == ["100101", "100100", "100000"]  # inside both
    assert codes(index.at(1.0, 2.0)) == ["100101", "100100", "100000"]  # on A's edge, inside B
    assert codes(index.at(1.0, 2.5)) == ["100102", "100100", "100000"]
    assert codes(index.at(1.0, 0.5)) == ["100101", "100100", "100000"]


def test_index__falls_back_to_city_outside_every_county() -> None:
    index = RegionIndex(toy_records())
    assert codes(index.at(1.0, 3.5)) == ["100100", "100000"]
    assert index.at(1.0, 4.5) == []
    assert index.at(float("nan"), 1.0) == []


def test_index__rejects_duplicate_codes_and_unknown_parents() -> None:
    records = toy_records()
    with pytest.raises(ValueError, match="duplicate"):
        RegionIndex([*records, records[0]])
    orphan = RegionRecord("200101", "X", RegionLevel.COUNTY, "200100", box(5, 0, 6, 1))
    with pytest.raises(ValueError, match="unknown parent"):
        RegionIndex([*records, orphan])


def test_index__overlapping_counties_of_two_cities__county_of_the_city_holding_the_point():
    # given: county 100101 of city 100100 overlaps county 200101 of city 200100 in 1 <= x <= 2,
    # and the two city outlines split that strip at x = 1.5
    records = [
        RegionRecord("100000", "P", RegionLevel.PROVINCE, None, box(0, 0, 4, 2)),
        RegionRecord("100100", "C1", RegionLevel.CITY, "100000", box(0, 0, 1.5, 2)),
        RegionRecord("200100", "C2", RegionLevel.CITY, "100000", box(1.5, 0, 4, 2)),
        RegionRecord("100101", "A", RegionLevel.COUNTY, "100100", box(0, 0, 2, 2)),
        RegionRecord("200101", "B", RegionLevel.COUNTY, "200100", box(1, 0, 4, 2)),
    ]
    index = RegionIndex(records)
    # then: inside the overlap, the county whose city holds the point, not the smaller code
    assert codes(index.at(1.0, 1.8)) == ["200101", "200100", "100000"]
    assert codes(index.at(1.0, 1.2)) == ["100101", "100100", "100000"]
    assert codes(index.at(1.0, 0.5)) == ["100101", "100100", "100000"]


def test_at__overlapping_counties_of_two_cities__follow_the_city_outlines(
    yrd_regions: list[RegionRecord], region_index: RegionIndex
) -> None:
    # given: every overlap between counties of different cities (separately simplified exports)
    by_code = {r.code: r for r in yrd_regions}
    counties = [r for r in yrd_regions if r.level is RegionLevel.COUNTY]
    tree = shapely.STRtree([r.geometry for r in counties])
    rng = np.random.default_rng(5)
    checked = 0
    for i, j in zip(*tree.query([r.geometry for r in counties], "intersects"), strict=True):
        a, b = counties[i], counties[j]
        if i >= j or a.parent_code == b.parent_code:
            continue
        overlap = a.geometry.intersection(b.geometry)
        if overlap.area < 1e-6:
            continue
        minx, miny, maxx, maxy = overlap.bounds
        for lon, lat in zip(rng.uniform(minx, maxx, 1000), rng.uniform(miny, maxy, 1000),
                            strict=True):
            if not shapely.intersects_xy(overlap, lon, lat):
                continue
            in_a = shapely.intersects_xy(by_code[a.parent_code].geometry, lon, lat)
            in_b = shapely.intersects_xy(by_code[b.parent_code].geometry, lon, lat)
            if in_a == in_b:
                continue
            # then: the county of the one city outline that holds the point
            assert codes(region_index.at(lat, lon))[0] == (a.code if in_a else b.code)
            checked += 1
    assert checked > 100
