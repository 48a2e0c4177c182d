"""Benchmark place data: N places over the 41 YRD cities, deterministic for a seed, loaded fast.

The benchmark (bench/, issue 6) needs 10k to 1M places spread the way real ones are: most in
the populous cities, and within a city crowded around its centre. Each point is drawn from a
mixture per city (weighted by a population-ish table):

- CORE: a tight Gaussian around the city centre (the city government, from the DataV export);
- DISTRICT: a Gaussian around the seat of one of the city's counties (urban districts weigh more);
- WIDE: a broad Gaussian over the whole city.

A point is kept when it falls inside a county of the city it was drawn for (one bulk STRtree
query per round, rejected points are drawn again), which also gives its county / city /
province codes without a per-point lookup. Names, addresses, phones and the kind-specific
columns are plausible in the same way as backend/places/demo_data.py, with `source='bench'`.

Everything comes from one seeded numpy Generator: the same (n, seed) gives the same rows on
every machine. Loading bypasses the ORM: SQLite executemany in large transactions (the
place_rtree triggers maintain the R*Tree), PostgreSQL COPY (the generated `geog` column and
its GiST index are maintained by the server).
"""

from __future__ import annotations

import importlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import shapely
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SAWarning

from backend.places.demo_data import (
    CARE_BRANDS,
    CITY_PHONE,
    GENERIC_COUNTY_NAMES,
    NON_LOCAL_CARE_CITIES,
    PRIVATE_HOSPITAL_BRANDS,
    ROADS,
    TOWN_FIRST,
    TOWN_SECOND,
)
from backend.places.records import PlaceKind, PlaceRecord
from geodata.crs import gcj02_to_wgs84
from geodata.regions import DATA_DIR, RegionLevel, RegionRecord, load_yrd_regions

__all__ = [
    "BENCH_SOURCE",
    "GENERATOR_VERSION",
    "KIND_SHARES",
    "BenchDataExists",
    "BenchGeography",
    "BenchPlaces",
    "SeedReport",
    "generate_bench_places",
    "insert_bench_places",
    "load_geography",
    "sample_points",
    "seed_bench_places",
]

BENCH_SOURCE = "bench"
# Bumped whenever the same (n, seed) would give different rows: bench/ re-seeds its databases.
GENERATOR_VERSION = 1
KIND_SHARES: dict[str, float] = {
    PlaceKind.SERVICE_HALL.value: 0.10,
    PlaceKind.CLINIC.value: 0.70,
    PlaceKind.ELDERLY_CARE.value: 0.20,
}

# Resident population in millions (7th census, 2020, rounded): only the relative sizes matter.
CITY_POPULATION_M: dict[str, float] = {
    "310100": 24.9,
    "320100": 9.3, "320200": 7.5, "320300": 9.1, "320400": 5.3, "320500": 12.7,
    "320600": 7.7, "320700": 4.6, "320800": 4.6, "320900": 6.7, "321000": 4.6,
    "321100": 3.2, "321200": 4.5, "321300": 5.0,
    "330100": 11.9, "330200": 9.4, "330300": 9.6, "330400": 5.4, "330500": 3.4,
    "330600": 5.3, "330700": 7.1, "330800": 2.3, "330900": 1.2, "331000": 6.6,
    "331100": 2.5,
    "340100": 9.4, "340200": 3.6, "340300": 3.3, "340400": 3.0, "340500": 2.2,
    "340600": 2.0, "340700": 1.3, "340800": 4.2, "341000": 1.3, "341100": 4.0,
    "341200": 8.2, "341300": 5.3, "341500": 4.4, "341600": 5.0, "341700": 1.3,
    "341800": 2.5,
}  # fmt: skip
DEFAULT_CITY_POPULATION_M = 3.0

# The mixture (the rest is WIDE).
CORE_SHARE = 0.45
DISTRICT_SHARE = 0.35
# CORE sigma grows with the city: 2.5 km for 5 M people, about 5.5 km for Shanghai.
CORE_SIGMA_KM_PER_SQRT_M = 1.1
CORE_SIGMA_KM = (1.5, 6.0)
DISTRICT_SIGMA_AREA_FACTOR = 0.15  # * sqrt(county area in km²)
DISTRICT_SIGMA_KM = (1.5, 8.0)
WIDE_SIGMA_AREA_FACTOR = 0.35  # * sqrt(city area in km²)
URBAN_DISTRICT_WEIGHT = 3.0  # a 区 gets this weight among the counties of its city, others 1
MAX_ROUNDS = 200
COORD_DECIMALS = 6
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320

CARE_LEVELS = ("自理", "半失能", "失能", "失智")
CARE_LEVEL_CHANCES = (0.85, 0.9, 0.7, 0.35)
LEVEL_2_3 = frozenset({"三级甲等", "三级乙等", "二级甲等", "二级乙等"})

# (name template, share, level weights for clinics / bed range for care homes).
# {city} {county} {town} {brand} {k}: k numbers the template's places within the county.
HALL_TEMPLATES: tuple[tuple[str, float], ...] = (
    ("{county}{town}便民服务中心（跨省通办窗口）", 0.45),
    ("{county}政务服务中心第{k}分中心", 0.20),
    ("{county}{town}医保服务站", 0.20),
    ("{county}{town}社保服务站", 0.15),
)
CLINIC_TEMPLATES: tuple[tuple[str, float, dict[str, float]], ...] = (
    ("{city}{county}第{k}社区卫生服务中心", 0.45, {"社区卫生服务中心": 1.0}),
    ("{county}{town}卫生院", 0.25, {"一级": 0.8, "二级乙等": 0.2}),
    ("{county}{brand}医院", 0.12, {"二级乙等": 0.4, "一级": 0.6}),
    ("{county}第{k}人民医院", 0.08, {"三级甲等": 0.3, "三级乙等": 0.3, "二级甲等": 0.4}),
    ("{county}中医医院第{k}分院", 0.05, {"二级甲等": 0.7, "二级乙等": 0.3}),
    ("{county}{town}中西医结合门诊部", 0.05, {"一级": 1.0}),
)
CARE_TEMPLATES: tuple[tuple[str, float, tuple[int, int]], ...] = (
    ("{county}{town}养老院", 0.40, (40, 250)),
    ("{county}{brand}康养中心", 0.25, (100, 800)),
    ("{county}{town}颐养院", 0.25, (40, 300)),
    ("{county}第{k}社会福利院", 0.10, (150, 600)),
)
TOWNS = tuple(a + b + s for a in TOWN_FIRST for b in TOWN_SECOND for s in ("街道", "镇"))
# A county has a few dozen township-level units and main roads, not all 1,140 names: it also
# keeps the distinct search-text runs few enough to tokenise each once (see _search_texts).
TOWNS_PER_COUNTY = 24
ROADS_PER_COUNTY = 8
INSERT_BATCH = 50_000


class BenchDataExists(ValueError):
    """The database already holds bench places and replacing them was not asked for."""


@dataclass(frozen=True)
class BenchGeography:
    """What the sampler needs from the region records, as arrays (index = position by code)."""

    county_codes: list[str]
    county_names: list[str]
    county_labels: list[str]  # city-prefixed where the name alone is ambiguous
    county_address_prefixes: list[str]
    county_city: np.ndarray  # index into city_codes
    county_urban: np.ndarray  # bool: a 区
    county_geoms: np.ndarray
    county_tree: shapely.STRtree
    county_seat_lat: np.ndarray
    county_seat_lon: np.ndarray
    county_sigma_km: np.ndarray
    city_codes: list[str]
    city_names: list[str]
    city_geoms: np.ndarray
    city_safe_point: np.ndarray  # (lat, lon) per city, inside exactly one of its counties
    city_safe_county: np.ndarray
    city_province_codes: list[str]
    city_p: np.ndarray  # sampling probability
    city_centre_lat: np.ndarray
    city_centre_lon: np.ndarray
    city_core_sigma_km: np.ndarray
    city_wide_sigma_km: np.ndarray
    # Counties grouped by city: flat_counties[j] with key city + cumulative weight in (0, 1].
    flat_counties: np.ndarray
    flat_keys: np.ndarray
    bbox: tuple[float, float, float, float]  # south, west, north, east of all counties

    def county_for_city_draws(self, city: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A county of each city, drawn by weight from uniforms u in [0, 1)."""
        return self.flat_counties[np.searchsorted(self.flat_keys, city + u, side="right")]


def _area_km2(geometry, lat: float) -> float:
    return geometry.area * KM_PER_DEG_LAT * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))


def _read_centres(path, key: str) -> dict[str, tuple[float, float]]:
    """adcode → WGS-84 (lat, lon) of the `center` of a DataV GeoJSON export (GCJ-02)."""
    with path.open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    codes, lats, lons = [], [], []
    for feature in features:
        props = feature["properties"]
        if props.get(key):
            codes.append(str(props["adcode"]))
            lons.append(float(props[key][0]))
            lats.append(float(props[key][1]))
    lat, lon = gcj02_to_wgs84(np.array(lats), np.array(lons))
    return {code: (float(a), float(o)) for code, a, o in zip(codes, lat, lon, strict=True)}


def load_geography(regions: Sequence[RegionRecord] | None = None) -> BenchGeography:
    """Arrays for the sampler, from the region records (default: the bundled YRD regions)."""
    regions = list(regions) if regions is not None else load_yrd_regions()
    by_code = {r.code: r for r in regions}
    cities = sorted((r for r in regions if r.level is RegionLevel.CITY), key=lambda r: r.code)
    counties = sorted(
        (r for r in regions if r.level is RegionLevel.COUNTY and r.parent_code in
         {c.code for c in cities}),
        key=lambda r: r.code,
    )
    if not cities or not counties:
        raise ValueError("no city or county regions to place bench data in")
    city_index = {c.code: i for i, c in enumerate(cities)}

    city_centres = _read_centres(DATA_DIR / "yrd_prefecture_cities.geojson", "center")
    # The municipality's record is the province (310000); its city-level code is 310100.
    for code in list(city_centres):
        if code.endswith("0000"):
            city_centres.setdefault(code[:2] + "0100", city_centres[code])
    county_seats = _read_centres(DATA_DIR / "yrd_county_level_districts.geojson", "center")

    def inside_or_representative(geometry, point):
        if point is not None and shapely.contains_xy(geometry, point[1], point[0]):
            return point
        rep = geometry.representative_point()
        return (rep.y, rep.x)

    city_lat, city_lon, core_sigma, wide_sigma, pop = [], [], [], [], []
    for city in cities:
        lat, lon = inside_or_representative(city.geometry, city_centres.get(city.code))
        city_lat.append(lat)
        city_lon.append(lon)
        people = CITY_POPULATION_M.get(city.code, DEFAULT_CITY_POPULATION_M)
        pop.append(people)
        core_sigma.append(float(np.clip(CORE_SIGMA_KM_PER_SQRT_M * math.sqrt(people),
                                        *CORE_SIGMA_KM)))
        wide_sigma.append(WIDE_SIGMA_AREA_FACTOR * math.sqrt(_area_km2(city.geometry, lat)))
    city_p = np.array(pop) / sum(pop)

    names = [c.name for c in counties]
    seat_lat, seat_lon, sigma, urban, labels, prefixes = [], [], [], [], [], []
    for county in counties:
        lat, lon = inside_or_representative(county.geometry, county_seats.get(county.code))
        seat_lat.append(lat)
        seat_lon.append(lon)
        sigma.append(float(np.clip(
            DISTRICT_SIGMA_AREA_FACTOR * math.sqrt(_area_km2(county.geometry, lat)),
            *DISTRICT_SIGMA_KM,
        )))
        urban.append(county.name.endswith("区"))
        city = by_code[county.parent_code]
        province = by_code.get(city.parent_code or "")
        province_name = province.name if province is not None else ""
        ambiguous = names.count(county.name) > 1 or county.name in GENERIC_COUNTY_NAMES
        labels.append(city.name + county.name if ambiguous else county.name)
        # 上海市 is both province and city: "上海市黄浦区", not "上海市上海市黄浦区".
        city_part = "" if city.name == province_name else city.name
        prefixes.append(f"{province_name}{city_part}{county.name}")

    county_city = np.array([city_index[c.parent_code] for c in counties])
    county_urban = np.array(urban)
    weights = np.where(county_urban, URBAN_DISTRICT_WEIGHT, 1.0)
    order = np.argsort(county_city, kind="stable")
    flat_keys = np.empty(len(order))
    for i in range(len(cities)):
        in_city = county_city[order] == i
        members = order[in_city]
        cumulative = np.cumsum(weights[members]) / weights[members].sum()
        cumulative[-1] = 1.0
        flat_keys[in_city] = i + cumulative
    geoms = np.array([c.geometry for c in counties], dtype=object)
    city_geoms = np.array([c.geometry for c in cities], dtype=object)
    shapely.prepare(city_geoms)
    tree = shapely.STRtree(geoms)
    safe_point, safe_county = [], []
    for i, city in enumerate(cities):
        members = np.flatnonzero(county_city == i)
        candidates = [(city_lat[i], city_lon[i])]
        candidates += [(seat_lat[j], seat_lon[j]) for j in members]
        for j in members:
            rep = geoms[j].representative_point()
            candidates.append((rep.y, rep.x))
        for lat, lon in candidates:
            lat, lon = round(lat, COORD_DECIMALS), round(lon, COORD_DECIMALS)
            hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
            if (len(hits) == 1 and county_city[hits[0]] == i
                    and shapely.intersects_xy(city.geometry, lon, lat)):
                safe_point.append((lat, lon))
                safe_county.append(int(hits[0]))
                break
        else:
            raise ValueError(f"no point of city {city.code} lies in exactly one of its counties")
    bounds = shapely.bounds(geoms)
    return BenchGeography(
        county_codes=[c.code for c in counties],
        county_names=names,
        county_labels=labels,
        county_address_prefixes=prefixes,
        county_city=county_city,
        county_urban=county_urban,
        county_geoms=geoms,
        county_tree=tree,
        county_seat_lat=np.array(seat_lat),
        county_seat_lon=np.array(seat_lon),
        county_sigma_km=np.array(sigma),
        city_codes=[c.code for c in cities],
        city_names=[c.name for c in cities],
        city_geoms=city_geoms,
        city_safe_point=np.array(safe_point),
        city_safe_county=np.array(safe_county),
        city_province_codes=[c.parent_code or "" for c in cities],
        city_p=city_p,
        city_centre_lat=np.array(city_lat),
        city_centre_lon=np.array(city_lon),
        city_core_sigma_km=np.array(core_sigma),
        city_wide_sigma_km=np.array(wide_sigma),
        flat_counties=order,
        flat_keys=flat_keys,
        bbox=(float(bounds[:, 1].min()), float(bounds[:, 0].min()),
              float(bounds[:, 3].max()), float(bounds[:, 2].max())),
    )


def sample_points(
    n: int, seed: int, geography: BenchGeography | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, county index) of n points drawn from the city mixture; deterministic.

    Every point lies inside the county it is given (a county of the city it was drawn for);
    coordinates are WGS-84 rounded to 6 decimals.
    """
    geo = geography or load_geography()
    rng = np.random.default_rng([seed, 0xBE7C])
    city = rng.choice(len(geo.city_codes), size=n, p=geo.city_p)
    lat = np.zeros(n)
    lon = np.zeros(n)
    county = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(MAX_ROUNDS):
        if todo.size == 0:
            break
        m = todo.size
        c = city[todo]
        u = rng.random(m)
        core = u < CORE_SHARE
        district = (u >= CORE_SHARE) & (u < CORE_SHARE + DISTRICT_SHARE)
        drawn_county = geo.county_for_city_draws(c, rng.random(m))
        lat0 = np.where(district, geo.county_seat_lat[drawn_county], geo.city_centre_lat[c])
        lon0 = np.where(district, geo.county_seat_lon[drawn_county], geo.city_centre_lon[c])
        sigma = np.where(core, geo.city_core_sigma_km[c],
                         np.where(district, geo.county_sigma_km[drawn_county],
                                  geo.city_wide_sigma_km[c]))
        normal = rng.standard_normal((2, m))
        plat = np.round(lat0 + normal[0] * sigma / KM_PER_DEG_LAT, COORD_DECIMALS)
        plon = np.round(
            lon0 + normal[1] * sigma / (KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0))),
            COORD_DECIMALS,
        )
        points = shapely.points(plon, plat)
        inputs, hits = geo.county_tree.query(points, predicate="intersects")
        # Separately simplified outlines overlap in slivers: keep only points inside exactly
        # one county, of the city they were drawn for, and inside that city's outline too,
        # so that every place is unambiguous for RegionIndex.at (as demo_data does).
        hit_count = np.bincount(inputs, minlength=m)
        single = hit_count[inputs] == 1
        inputs, hits = inputs[single], hits[single]
        good = geo.county_city[hits] == c[inputs]
        inputs, hits = inputs[good], hits[good]
        good = shapely.intersects_xy(geo.city_geoms[c[inputs]], plon[inputs], plat[inputs])
        accepted, hits = inputs[good], hits[good]
        done = todo[accepted]
        lat[done] = plat[accepted]
        lon[done] = plon[accepted]
        county[done] = hits
        keep = np.ones(m, dtype=bool)
        keep[accepted] = False
        todo = todo[keep]
    if todo.size:  # never seen in practice: a safe point of the city all the same
        chosen = city[todo]
        lat[todo] = geo.city_safe_point[chosen, 0]
        lon[todo] = geo.city_safe_point[chosen, 1]
        county[todo] = geo.city_safe_county[chosen]
    return lat, lon, county


@dataclass
class BenchPlaces:
    """N generated places, column by column (a million PlaceRecords would cost seconds)."""

    seed: int
    kind: list[str]
    name: list[str]
    address: list[str]
    phone: list[str]
    lat: np.ndarray
    lon: np.ndarray
    county_code: list[str]
    city_code: list[str]
    province_code: list[str]
    external_id: list[str]
    clinic_level: list[str | None]
    cross_province_settlement: list[bool | None]
    beds: list[int | None]
    available_beds: list[int | None]
    accepts_non_local: list[bool | None]
    care_levels: list[tuple[str, ...] | None]
    # name and address cut where digits split them (search_document tokenises runs of Han
    # characters and runs of digits separately), so each distinct part is tokenised once.
    name_parts: list[tuple[str, ...]] = field(default_factory=list, repr=False)
    address_parts: list[tuple[str, ...]] = field(default_factory=list, repr=False)

    FIELDS = (
        "kind", "name", "address", "phone", "lat", "lon", "county_code", "city_code",
        "province_code", "source", "external_id", "clinic_level", "cross_province_settlement",
        "beds", "available_beds", "accepts_non_local", "care_levels",
    )  # fmt: skip

    def __len__(self) -> int:
        return len(self.kind)

    def column(self, name: str) -> list:
        if name == "source":
            return [BENCH_SOURCE] * len(self)
        values = getattr(self, name)
        return values.tolist() if isinstance(values, np.ndarray) else values

    def records(self) -> Iterator[PlaceRecord]:
        columns = {name: self.column(name) for name in self.FIELDS}
        for i in range(len(self)):
            row = {name: values[i] for name, values in columns.items()}
            for code in ("county_code", "city_code", "province_code"):
                del row[code]
            row["kind"] = PlaceKind(row["kind"])
            row["care_levels"] = row["care_levels"] or ()
            yield PlaceRecord(**row)


def _pick(rng: np.random.Generator, shares: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _numbering(county: np.ndarray, template: np.ndarray, group: int) -> np.ndarray:
    """1, 2, 3 … within each (county, template) group, in row order."""
    key = county * group + template
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    counts = np.diff(np.r_[starts, key.size])
    rank = np.arange(key.size) - np.repeat(starts, counts)
    k = np.empty(key.size, dtype=np.int64)
    k[order] = rank + 1
    return k


def generate_bench_places(
    n: int, seed: int = 0, geography: BenchGeography | None = None
) -> BenchPlaces:
    """n places (10 % halls, 70 % clinics, 20 % care homes), deterministic for (n, seed)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    geo = geography or load_geography()
    lat, lon, county = sample_points(n, seed, geo)
    rng = np.random.default_rng([seed, 0xDA7A])
    kind_names = list(KIND_SHARES)
    kind_ix = _pick(rng, list(KIND_SHARES.values()), n)
    hall, clinic, care = (kind_ix == i for i in range(3))

    template = np.zeros(n, dtype=np.int64)
    template[hall] = _pick(rng, [t[1] for t in HALL_TEMPLATES], int(hall.sum()))
    template[clinic] = _pick(rng, [t[1] for t in CLINIC_TEMPLATES], int(clinic.sum()))
    template[care] = _pick(rng, [t[1] for t in CARE_TEMPLATES], int(care.sum()))
    # Numbers count per (county, kind, template).
    k = _numbering(county, kind_ix * 16 + template, 64)
    local_rng = np.random.default_rng([seed, 0x70E7])
    n_counties = len(geo.county_codes)
    county_towns = np.stack([local_rng.choice(len(TOWNS), TOWNS_PER_COUNTY, replace=False)
                             for _ in range(n_counties)])
    county_roads = np.stack([local_rng.choice(len(ROADS), ROADS_PER_COUNTY, replace=False)
                             for _ in range(n_counties)])
    town = county_towns[county, rng.integers(0, TOWNS_PER_COUNTY, n)]
    road = county_roads[county, rng.integers(0, ROADS_PER_COUNTY, n)]
    house = rng.integers(1, 400, n)
    brand_clinic = rng.integers(0, len(PRIVATE_HOSPITAL_BRANDS), n)
    brand_care = rng.integers(0, len(CARE_BRANDS), n)
    level_u = rng.random(n)
    settle_u = rng.random(n)
    beds_u = rng.random(n)
    available_u = rng.random(n)
    non_local_u = rng.random(n)
    care_u = rng.random((n, len(CARE_LEVELS)))
    phone_first = rng.integers(2, 9, n)
    phone_rest = rng.integers(0, 10_000_000, n)

    city_ix = geo.county_city[county]
    # Each template cut at its number: (text before, text after) or (whole text,).
    templates = tuple(
        [tuple(t[0].split("{k}")) for t in group]
        for group in (HALL_TEMPLATES, CLINIC_TEMPLATES, CARE_TEMPLATES)
    )
    clinic_levels = [(list(t[2]), np.cumsum(list(t[2].values()))) for t in CLINIC_TEMPLATES]
    care_beds = [t[2] for t in CARE_TEMPLATES]
    phones = {i: CITY_PHONE.get(name, ("0000", 8)) for i, name in enumerate(geo.city_names)}
    care_chances = np.array(CARE_LEVEL_CHANCES)

    out: dict[str, list] = {name: [None] * n for name in (
        "kind", "name", "address", "phone", "county_code", "city_code", "province_code",
        "external_id", "clinic_level", "cross_province_settlement", "beds", "available_beds",
        "accepts_non_local", "care_levels", "name_parts", "address_parts",
    )}  # fmt: skip
    county_l, city_l, kind_l, template_l, k_l = (
        county.tolist(), city_ix.tolist(), kind_ix.tolist(), template.tolist(), k.tolist()
    )
    town_l, road_l, house_l = town.tolist(), road.tolist(), house.tolist()
    care_has = (care_u < care_chances).tolist()
    width = len(str(max(n - 1, 0)))
    for i in range(n):
        c, ci, kd, t = county_l[i], city_l[i], kind_l[i], template_l[i]
        city_name = geo.city_names[ci]
        town_name = TOWNS[town_l[i]]
        values = {
            "city": city_name,
            "county": geo.county_labels[c],
            "town": town_name,
            "brand": (PRIVATE_HOSPITAL_BRANDS[brand_clinic[i]] if kd == 1
                      else CARE_BRANDS[brand_care[i]]),
        }
        # "杭州市西湖区第3社区卫生服务中心" names the city itself; others start at the county.
        pieces = templates[kd][t]
        if len(pieces) == 1:
            name_parts: tuple[str, ...] = (pieces[0].format(**values),)
        else:
            name_parts = (pieces[0].format(**values), str(k_l[i]), pieces[1].format(**values))
        street = f"{geo.county_address_prefixes[c]}{town_name}{ROADS[road_l[i]]}"
        address_parts = (street, f"{house_l[i]}号")
        out["kind"][i] = kind_names[kd]
        out["name"][i] = "".join(name_parts)
        out["name_parts"][i] = name_parts
        out["address"][i] = street + address_parts[1]
        out["address_parts"][i] = address_parts
        area, digits = phones[ci]
        local = phone_rest[i] % 10 ** (digits - 1)
        out["phone"][i] = f"{area}-{phone_first[i]}{local:0{digits - 1}d}"
        out["county_code"][i] = geo.county_codes[c]
        out["city_code"][i] = geo.city_codes[ci]
        out["province_code"][i] = geo.city_province_codes[ci]
        out["external_id"][i] = f"bench-{seed}-{i:0{width}d}"
        if kd == 1:
            levels, cumulative = clinic_levels[t]
            level = levels[min(int(np.searchsorted(cumulative, level_u[i], side="right")),
                               len(levels) - 1)]
            out["clinic_level"][i] = level
            out["cross_province_settlement"][i] = bool(
                settle_u[i] < (0.9 if level in LEVEL_2_3 else 0.3)
            )
        elif kd == 2:
            low, high = care_beds[t]
            beds = low + int(beds_u[i] * (high - low + 1))
            out["beds"][i] = beds
            out["available_beds"][i] = int(available_u[i] * (int(beds * 0.3) + 1))
            out["accepts_non_local"][i] = bool(
                non_local_u[i] < (0.85 if city_name in NON_LOCAL_CARE_CITIES else 0.4)
            )
            levels = tuple(lv for lv, has in zip(CARE_LEVELS, care_has[i], strict=True) if has)
            out["care_levels"][i] = levels or ("自理",)
    return BenchPlaces(seed=seed, lat=lat, lon=lon, **out)


@dataclass(frozen=True)
class SeedReport:
    deleted: int
    inserted: int
    generate_seconds: float
    insert_seconds: float
    search_text: bool


def _search_document() -> Callable[..., str] | None:
    """backend.places.text.search_document when that module (the text-search work) exists."""
    try:
        module = importlib.import_module("backend.places.text")
    except ImportError:
        return None
    return getattr(module, "search_document", None)


def _place_columns(engine: Engine) -> dict[str, dict]:
    with warnings.catch_warnings():  # PostGIS's geography type is unknown to SQLAlchemy
        warnings.simplefilter("ignore", SAWarning)
        return {column["name"]: column for column in inspect(engine).get_columns("place")}


def _columns_to_write(engine: Engine) -> tuple[list[str], dict[str, object], bool]:
    """The columns we write, constant values for the others that need one, and whether
    search_text is filled."""
    from backend.places.models import Place

    db_columns = _place_columns(engine)
    written = [name for name in BenchPlaces.FIELDS if name in db_columns]
    missing = set(BenchPlaces.FIELDS) - set(db_columns)
    if missing:
        raise ValueError(f"the place table has no column {sorted(missing)}: run `db upgrade`")
    constants: dict[str, object] = {}
    search_document = _search_document()
    with_search_text = (
        "search_text" in db_columns and hasattr(Place, "search_text") and
        search_document is not None
    )
    if with_search_text:
        written.append("search_text")
    now = datetime.now(UTC).replace(microsecond=0)
    model_columns = Place.__table__.c
    for name, column in db_columns.items():
        if name in written or name == "id" or column.get("computed") or name == "geog":
            continue
        if name in ("created_at", "updated_at"):
            constants[name] = now
            continue
        if column.get("nullable", True) or column.get("default") is not None:
            continue
        default = model_columns[name].default if name in model_columns else None
        if default is not None and default.is_scalar:
            constants[name] = default.arg
        else:
            raise ValueError(f"place.{name} is required and has no default the bench knows")
    return written, constants, with_search_text


def _search_texts(
    places: BenchPlaces, start: int, stop: int, cache: dict[str, list[str]]
) -> list[str]:
    """search_document(name, address) for rows start..stop, each distinct part tokenised once.

    search_document tokenises each text's runs (of Han characters, of Latin letters and
    digits) on their own and joins the distinct tokens in order, so the document of
    (name, address) is the ordered union of the documents of the parts they are cut into at
    run boundaries. Checked against the direct call on the first rows; on any difference
    every row is done directly (slow, but never wrong).
    """
    document = _search_document()

    def tokens(part: str) -> list[str]:
        found = cache.get(part)
        if found is None:
            found = cache[part] = document(part).split(" ")
        return found

    def composed(i: int) -> str:
        merged: dict[str, None] = {}
        for part in (*places.name_parts[i], *places.address_parts[i]):
            merged.update(dict.fromkeys(tokens(part)))
        merged.pop("", None)
        return " ".join(merged)

    rows = range(start, stop)
    if not places.name_parts or any(
        composed(i) != document(places.name[i], places.address[i]) for i in rows[:200]
    ):
        return [document(places.name[i], places.address[i]) for i in rows]
    return [composed(i) for i in rows]


def _rows(places: BenchPlaces, columns: list[str], constants: dict, dialect: str,
          start: int, stop: int, cache: dict[str, list[str]]) -> Iterator[tuple]:
    values = {name: places.column(name)[start:stop] for name in columns if name != "search_text"}
    if "search_text" in columns:
        values["search_text"] = _search_texts(places, start, stop, cache)
    levels = values.get("care_levels")
    if levels is not None:
        values["care_levels"] = [None if v is None else json.dumps(list(v)) for v in levels]
    constant_values = list(constants.values())
    if dialect == "sqlite":
        constant_values = [
            value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value
            for value in constant_values
        ]
    ordered = [values[name] for name in columns]
    for row in zip(*ordered, strict=True):
        yield (*row, *constant_values)


def insert_bench_places(
    engine: Engine,
    places: BenchPlaces,
    *,
    replace: bool = False,
    batch_size: int = INSERT_BATCH,
    echo: Callable[[str], None] | None = None,
) -> tuple[int, int, bool]:
    """Bulk-load places; returns (deleted, inserted, search_text filled).

    Refuses (BenchDataExists) when bench rows exist already, unless `replace`, which deletes
    every `source='bench'` row first.
    """
    columns, constants, with_search_text = _columns_to_write(engine)
    all_columns = [*columns, *constants]
    dialect = engine.dialect.name
    with engine.begin() as connection:
        existing = connection.execute(
            text("SELECT count(*) FROM place WHERE source = :source"), {"source": BENCH_SOURCE}
        ).scalar_one()
        if existing and not replace:
            raise BenchDataExists(
                f"the database holds {existing} bench places already: use --replace"
            )
        if existing:
            connection.execute(text("DELETE FROM place WHERE source = :source"),
                               {"source": BENCH_SOURCE})
    cache: dict[str, list[str]] = {}  # search-text tokens of each distinct name/address part
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        n = len(places)
        if dialect == "sqlite":
            # A large page cache keeps the R*Tree, FTS and index b-trees in memory while loading.
            dbapi.execute("PRAGMA cache_size = -262144")
            placeholders = ", ".join("?" for _ in all_columns)
            statement = f"INSERT INTO place ({', '.join(all_columns)}) VALUES ({placeholders})"
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                dbapi.executemany(
                    statement, _rows(places, columns, constants, dialect, start, stop, cache)
                )
                dbapi.commit()
                if echo is not None and n > batch_size:
                    echo(f"  {stop} / {n}")
            dbapi.execute("ANALYZE")
            dbapi.commit()
        else:
            with dbapi.cursor() as cursor:
                copy_sql = f"COPY place ({', '.join(all_columns)}) FROM STDIN"
                for start in range(0, n, batch_size):
                    stop = min(n, start + batch_size)
                    with cursor.copy(copy_sql) as copy:
                        for row in _rows(places, columns, constants, dialect, start, stop, cache):
                            copy.write_row(row)
                    dbapi.commit()
                    if echo is not None and n > batch_size:
                        echo(f"  {stop} / {n}")
                cursor.execute("ANALYZE place")
            dbapi.commit()
    finally:
        raw.close()
    return int(existing), len(places), with_search_text


def seed_bench_places(
    engine: Engine,
    n: int,
    *,
    seed: int = 0,
    replace: bool = False,
    echo: Callable[[str], None] | None = None,
) -> SeedReport:
    """Generate n bench places and load them (regions must be in the database already)."""
    started = time.perf_counter()
    places = generate_bench_places(n, seed)
    generated = time.perf_counter()
    deleted, inserted, with_search_text = insert_bench_places(
        engine, places, replace=replace, echo=echo
    )
    return SeedReport(
        deleted=deleted,
        inserted=inserted,
        generate_seconds=generated - started,
        insert_seconds=time.perf_counter() - generated,
        search_text=with_search_text,
    )
