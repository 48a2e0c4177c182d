"""Administrative regions (province → city → county), point lookup; the YRD's DataV files."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from geodata.crs import gcj02_to_wgs84

# numpy and shapely are imported by the functions that read or test outlines: the serving
# process of PostgreSQL tests them in SQL and never loads either (issue 18, memory).
if TYPE_CHECKING:
    import numpy as np
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "DATA_DIR", "Holding", "RegionIndex", "RegionLevel", "RegionRecord", "load_yrd_regions",
    "outline_bounds",
]

DATA_DIR = Path(__file__).resolve().parent / "data"

CITIES_FILE = "yrd_prefecture_cities.geojson"
COUNTIES_FILE = "yrd_county_level_districts.geojson"


class RegionLevel(StrEnum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"


@dataclass(frozen=True)
class RegionRecord:
    """One region; `geometry` is a WGS-84 (Multi)Polygon in lon/lat axis order (None in an
    index that reads outlines on demand)."""

    code: str  # 6-digit adcode
    name: str
    level: RegionLevel
    parent_code: str | None
    # Regions are identified by code; comparing or printing outlines would only cost time.
    geometry: BaseGeometry | None = field(default=None, compare=False, repr=False)


def _read_features(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["features"]


def _gcj_coords_to_wgs(coords: np.ndarray) -> np.ndarray:
    import numpy as np

    lat, lon = gcj02_to_wgs84(coords[:, 1], coords[:, 0])
    return np.column_stack([lon, lat])


def _to_wgs84_polygons(features: list[dict]) -> list[BaseGeometry]:
    import numpy as np
    import shapely
    from shapely.geometry import shape

    geoms = np.array([shape(f["geometry"]) for f in features], dtype=object)
    # One vectorized call over the vertices of all geometries.
    geoms = shapely.transform(geoms, _gcj_coords_to_wgs)
    # Some source outlines self-intersect; containment tests need valid polygons.
    invalid = ~shapely.is_valid(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return list(geoms)


def _city_code_for_municipality(province_code: str) -> str:
    # A municipality (直辖市) has one city-level unit, conventionally xx0100 (上海市 → 310100).
    return province_code[:2] + "0100"


def load_yrd_regions(data_dir: Path = DATA_DIR) -> list[RegionRecord]:
    """Provinces, cities and counties from the bundled GCJ-02 files, converted to WGS-84.

    Sorted by level (province, city, county), then code.
    """
    import shapely

    city_features = _read_features(data_dir / CITIES_FILE)
    county_features = _read_features(data_dir / COUNTIES_FILE)
    city_geoms = _to_wgs84_polygons(city_features)
    county_geoms = _to_wgs84_polygons(county_features)

    provinces: dict[str, str] = {}
    province_parts: dict[str, list[BaseGeometry]] = defaultdict(list)
    cities: list[RegionRecord] = []
    municipality_city: dict[str, str] = {}  # province-level record code → its city-level code
    for feature, geom in zip(city_features, city_geoms, strict=True):
        props = feature["properties"]
        province_code = str(props["province_adcode"])
        provinces[province_code] = props["province_name"]
        province_parts[province_code].append(geom)
        code = str(props["adcode"])
        if props["level"] == "province":
            municipality_city[code] = _city_code_for_municipality(code)
            code = municipality_city[code]
        cities.append(RegionRecord(code, props["name"], RegionLevel.CITY, province_code, geom))

    province_records = [
        RegionRecord(
            code, name, RegionLevel.PROVINCE, None, shapely.union_all(province_parts[code])
        )
        for code, name in provinces.items()
    ]
    counties = []
    for feature, geom in zip(county_features, county_geoms, strict=True):
        props = feature["properties"]
        city_code = str(props["city_adcode"])
        parent = municipality_city.get(city_code, city_code)
        counties.append(
            RegionRecord(str(props["adcode"]), props["name"], RegionLevel.COUNTY, parent, geom)
        )

    def by_code(records: list[RegionRecord]) -> list[RegionRecord]:
        return sorted(records, key=lambda r: r.code)

    return by_code(province_records) + by_code(cities) + by_code(counties)


# Which of the regions named (codes) have an outline holding the point (lat, lon), boundary
# included: how an index that holds no outlines tests its candidates.
Holding = Callable[[Sequence[str], float, float], Collection[str]]


class _BoxGrid:
    """The bounding boxes of one level's regions, filed by the 1° cells they touch.

    Boxes, not outlines: they only say which outlines to test, and the outlines may be kept
    elsewhere (the serving process reads or tests them in the database; bench/RESULTS.md,
    "Server memory, issue 18"). Plain Python: the serving process of PostgreSQL loads no numpy
    or shapely. The outlines are not prepared: the boxes leave one to three candidates, and a
    plain point-in-polygon test on them is as fast as a prepared one, while GEOS's point
    locators inside prepared polygons took ~40 MB for all of China (bench/RESULTS.md, "City
    clusters")."""

    def __init__(self, codes: list[str], bounds: list[tuple[float, float, float, float]]) -> None:
        self._codes = codes
        self._bounds = bounds
        self._cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (minx, miny, maxx, maxy) in enumerate(bounds):
            if not all(map(math.isfinite, (minx, miny, maxx, maxy))):
                continue  # an empty outline holds nothing
            for x in range(math.floor(minx), math.floor(maxx) + 1):
                for y in range(math.floor(miny), math.floor(maxy) + 1):
                    self._cells[x, y].append(i)

    def candidates(self, lat: float, lon: float) -> list[str]:
        """Codes of the regions whose box holds the point (edges included), in code order."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return []
        found = []
        for i in self._cells.get((math.floor(lon), math.floor(lat)), ()):
            minx, miny, maxx, maxy = self._bounds[i]
            if minx <= lon <= maxx and miny <= lat <= maxy:
                found.append(self._codes[i])
        return found


def outline_bounds(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of an outline: its box in an index."""
    import shapely

    return tuple(shapely.bounds(geometry).tolist())


class RegionIndex:
    """Point → region chain lookup over a set of region records.

    Records with outlines answer from them. An index of records without outlines
    (`geometry=None`) takes each region's box in `bounds` (minx, miny, maxx, maxy) and the
    test of its candidates' outlines from the `holding` function passed to `at`."""

    def __init__(self, records: Iterable[RegionRecord],
                 bounds: Mapping[str, tuple[float, float, float, float]] | None = None) -> None:
        self._by_code: dict[str, RegionRecord] = {}
        for record in records:
            if record.code in self._by_code:
                raise ValueError(f"duplicate region code {record.code}")
            self._by_code[record.code] = record
        self._chains = {code: self._chain(code) for code in self._by_code}
        # Counties first; the coarser levels catch points in slivers between county outlines.
        self._levels: list[_BoxGrid] = []
        for level in (RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE):
            codes = sorted(r.code for r in self._by_code.values() if r.level is level)
            if codes:
                self._levels.append(_BoxGrid(codes, [
                    bounds[code] if bounds is not None
                    else outline_bounds(self._by_code[code].geometry) for code in codes]))

    def _chain(self, code: str) -> tuple[RegionRecord, ...]:
        chain: list[RegionRecord] = []
        current: str | None = code
        while current is not None:
            record = self._by_code.get(current)
            if record is None:
                raise ValueError(f"region {chain[-1].code} has unknown parent {current}")
            if record in chain:
                raise ValueError(f"parent cycle through region {current}")
            chain.append(record)
            current = record.parent_code
        return tuple(chain)

    def _own_holding(self, codes: Sequence[str], lat: float, lon: float) -> list[str]:
        import shapely

        return [code for code in codes
                if shapely.intersects_xy(self._by_code[code].geometry, lon, lat)]

    def at(self, lat: float, lon: float, holding: Holding | None = None) -> list[RegionRecord]:
        """The regions containing the point, most specific first; [] outside every region."""
        holding = holding or self._own_holding
        for level in self._levels:
            candidates = level.candidates(lat, lon)
            if not candidates:
                continue
            held = set(holding(candidates, lat, lon))
            codes = [code for code in candidates if code in held]
            if codes:
                return list(self._chains[self._pick(codes, lat, lon, holding)])
        return []

    def _pick(self, codes: list[str], lat: float, lon: float, holding: Holding) -> str:
        """One of several overlapping regions (separately simplified outlines overlap along
        borders): the first whose parent outline holds the point too, else the smallest code."""
        if len(codes) > 1:
            for code in codes:
                parent = self._by_code[code].parent_code
                if parent is not None and parent in self._by_code and \
                        parent in holding([parent], lat, lon):
                    return code
        return codes[0]

    def get(self, code: str) -> RegionRecord | None:
        return self._by_code.get(code)

    def __len__(self) -> int:
        return len(self._by_code)

    def records(self) -> list[RegionRecord]:
        return list(self._by_code.values())
