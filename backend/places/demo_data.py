"""Demo place data: a deterministic generated set for the whole YRD, and the Amap halls reader.

The region has no open point data for service halls, clinics or care homes (see
shared/data/SOURCES.md), so the demo map runs on generated places: one service hall per county
at its seat, clinics and care homes scattered inside the county outline. Everything here is
pure: no database, no network, no global state.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from backend.places.records import PlaceKind, PlaceRecord
from geodata.crs import gcj02_to_wgs84
from geodata.regions import DATA_DIR, RegionLevel, RegionRecord

__all__ = [
    "DEFAULT_CENTERS_CSV",
    "generate_demo_places",
    "is_amap_service_hall",
    "read_amap_service_halls",
]

DEFAULT_CENTERS_CSV = DATA_DIR / "yrd_county_level_centers.csv"

GENERATED_SOURCE = "generated"
AMAP_SOURCE = "amap"

# Output coordinates are rounded (~0.1 m) so that last-ulp differences between platforms' libm
# cannot change the data; containment is tested on the rounded values.
COORD_DECIMALS = 6

CARE_LEVELS = ("自理", "半失能", "失能", "失智")
CLINIC_LEVELS = ("三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级", "社区卫生服务中心")

# Telephone area code and local-number length per prefecture (keyed by the city's name, which
# is unique in the region and reads better than adcodes here).
CITY_PHONE: dict[str, tuple[str, int]] = {
    "上海市": ("021", 8),
    # Jiangsu: all 13 cities dial 8-digit local numbers.
    "南京市": ("025", 8),
    "无锡市": ("0510", 8),
    "徐州市": ("0516", 8),
    "常州市": ("0519", 8),
    "苏州市": ("0512", 8),
    "南通市": ("0513", 8),
    "连云港市": ("0518", 8),
    "淮安市": ("0517", 8),
    "盐城市": ("0515", 8),
    "扬州市": ("0514", 8),
    "镇江市": ("0511", 8),
    "泰州市": ("0523", 8),
    "宿迁市": ("0527", 8),
    # Zhejiang: the smaller cities in the south-west and the islands still have 7 digits.
    "杭州市": ("0571", 8),
    "宁波市": ("0574", 8),
    "温州市": ("0577", 8),
    "嘉兴市": ("0573", 8),
    "湖州市": ("0572", 7),
    "绍兴市": ("0575", 8),
    "金华市": ("0579", 8),
    "衢州市": ("0570", 7),
    "舟山市": ("0580", 7),
    "台州市": ("0576", 8),
    "丽水市": ("0578", 7),
    # Anhui: only Hefei moved to 8 digits; Fuyang and Bozhou share 0558.
    "合肥市": ("0551", 8),
    "芜湖市": ("0553", 7),
    "蚌埠市": ("0552", 7),
    "淮南市": ("0554", 7),
    "马鞍山市": ("0555", 7),
    "淮北市": ("0561", 7),
    "铜陵市": ("0562", 7),
    "安庆市": ("0556", 7),
    "黄山市": ("0559", 7),
    "滁州市": ("0550", 7),
    "阜阳市": ("0558", 7),
    "宿州市": ("0557", 7),
    "六安市": ("0564", 7),
    "亳州市": ("0558", 7),
    "池州市": ("0566", 7),
    "宣城市": ("0563", 7),
}

# Cities in the YRD cross-province elderly-care (异地养老) pilot, whose homes mostly take
# residents from elsewhere; other cities' homes do so less often.
NON_LOCAL_CARE_CITIES = frozenset(
    {"苏州市", "南通市", "无锡市", "常州市", "嘉兴市", "湖州市", "宣城市", "芜湖市", "黄山市"}
)
# Urban districts of Shanghai and the provincial capitals get extra places.
METROPOLISES = frozenset({"上海市", "南京市", "杭州市", "合肥市"})
# County names that mean nothing without their city ("郊区" of Tongling).
GENERIC_COUNTY_NAMES = frozenset({"郊区", "城区", "矿区"})

ROADS = (
    "人民路", "解放路", "中山路", "建设路", "文化路", "胜利路", "和平路", "新华路",
    "长江路", "环城路", "府前路", "迎宾大道", "振兴路", "健康路", "朝阳路", "光明路",
    "公园路", "学府路", "湖滨路", "青年路", "世纪大道", "发展大道", "工农路", "东风路",
)  # fmt: skip
# Town / sub-district names are made of two syllables from these lists ("金塘", "石桥").
TOWN_FIRST = "东西南北新长青白金石龙凤桃梅柳江河山花杨松竹兴安永太康和平福"
TOWN_SECOND = "塘桥湾浦港庄集店岗埠口溪坝墩渡亭林园"
CARE_BRANDS = ("颐和", "松鹤", "福寿", "康乐", "安泰", "怡年", "长青", "椿萱", "夕阳红", "乐龄")
PRIVATE_HOSPITAL_BRANDS = ("仁爱", "博爱", "康宁", "华康", "济民", "安康")
CHINESE_ORDINALS = "一二三四五"

# Places per county (clinics, care homes) by the suffix of the county's name; 区 are urban.
PLACE_COUNTS = {"区": (12, 4), "市": (9, 3), "县": (7, 3)}
METROPOLIS_BONUS = (4, 2)

# Gaussian spread around the seat: sigma = factor * sqrt(area), clamped; a share of places
# uses a wider spread so that townships far from the seat get some too.
SIGMA_AREA_FACTOR = 0.22
URBAN_CORE_KM2 = 150.0
SIGMA_MIN_KM = 1.0
SIGMA_MAX_KM = 10.0
WIDE_SHARE = 0.35
WIDE_FACTOR = 2.5
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320

Weights = dict[str, float]
LEVEL_2_3 = frozenset(CLINIC_LEVELS[:4])


@dataclass(frozen=True)
class _County:
    code: str
    name: str
    label: str  # name as used inside place names: city-prefixed where the name is ambiguous
    province: str
    city: str
    seat: tuple[float, float] | None  # WGS-84 (lat, lon)
    centroid: tuple[float, float] | None

    @property
    def suffix(self) -> str:
        return self.name[-1] if self.name[-1] in PLACE_COUNTS else "县"

    @property
    def address_prefix(self) -> str:
        # 上海市 is both province and city: "上海市黄浦区", not "上海市上海市黄浦区".
        city = "" if self.city == self.province else self.city
        return f"{self.province}{city}{self.name}"


class _Sampler:
    """Accepts points strictly inside one county and inside no other county outline.

    Neighbouring outlines overlap in slivers (separately simplified exports); excluding them
    keeps every place unambiguous for RegionIndex.at.
    """

    def __init__(self, geometry: BaseGeometry, others: list[BaseGeometry]) -> None:
        self.geometry = geometry
        self.others = others
        shapely.prepare(geometry)
        for other in others:
            shapely.prepare(other)

    def accepts(self, lat: float, lon: float) -> bool:
        if not shapely.contains_xy(self.geometry, lon, lat):
            return False
        return not any(shapely.intersects_xy(other, lon, lat) for other in self.others)


def _round(lat: float, lon: float) -> tuple[float, float]:
    return round(float(lat), COORD_DECIMALS), round(float(lon), COORD_DECIMALS)


def _area_km2(geometry: BaseGeometry, lat: float) -> float:
    return geometry.area * KM_PER_DEG_LAT * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))


def _sample_point(
    rng: random.Random,
    sampler: _Sampler,
    center: tuple[float, float],
    sigma_km: float,
    max_tries: int = 400,
) -> tuple[float, float]:
    """Rejection-sample a Gaussian around `center`; falls back to uniform over the bbox."""
    lat0, lon0 = center
    sigma_lat = sigma_km / KM_PER_DEG_LAT
    sigma_lon = sigma_km / (KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)))
    for _ in range(max_tries):
        lat, lon = _round(rng.gauss(lat0, sigma_lat), rng.gauss(lon0, sigma_lon))
        if sampler.accepts(lat, lon):
            return lat, lon
    # Only thin or island counties get here (the seat far from most of the land).
    min_lon, min_lat, max_lon, max_lat = sampler.geometry.bounds
    for _ in range(100 * max_tries):
        lat, lon = _round(rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon))
        if sampler.accepts(lat, lon):
            return lat, lon
    raise RuntimeError("could not sample a point inside the county outline")


def _weighted(rng: random.Random, weights: Weights) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _phone(rng: random.Random, city: str) -> str:
    area, digits = CITY_PHONE[city]
    # Local numbers never start with 0 or 1 (trunk and service prefixes); 9 is rare too.
    first = str(rng.randint(2, 8))
    rest = "".join(str(rng.randrange(10)) for _ in range(digits - 1))
    return f"{area}-{first}{rest}"


def _street_address(rng: random.Random, county: _County, town: str = "") -> str:
    return f"{county.address_prefix}{town}{rng.choice(ROADS)}{rng.randint(1, 399)}号"


def _towns(rng: random.Random, county: _County, count: int, area_km2: float) -> list[str]:
    """Distinct township-level names; urban districts are mostly 街道, counties mostly 镇."""
    street_share = {"区": 0.8, "市": 0.35, "县": 0.25}[county.suffix]
    if area_km2 < URBAN_CORE_KM2:
        street_share = 1.0  # city-centre districts have no towns left
    pairs = [a + b for a in TOWN_FIRST for b in TOWN_SECOND]
    return [
        name + ("街道" if rng.random() < street_share else "镇")
        for name in rng.sample(pairs, count)
    ]


def _read_centers(path: Path) -> dict[str, dict[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        return {row["adcode"]: row for row in csv.DictReader(fh)}


def _convert(rows: list[dict[str, str]], lng_key: str, lat_key: str) -> list:
    """GCJ-02 → WGS-84 in one vectorized call; None where the CSV cell is empty."""
    present = [i for i, row in enumerate(rows) if row[lng_key] and row[lat_key]]
    out: list[tuple[float, float] | None] = [None] * len(rows)
    if present:
        lat, lon = gcj02_to_wgs84(
            np.array([float(rows[i][lat_key]) for i in present]),
            np.array([float(rows[i][lng_key]) for i in present]),
        )
        for i, la, lo in zip(present, lat, lon, strict=True):
            out[i] = _round(la, lo)
    return out


def _counties(
    county_records: list[RegionRecord], centers_csv: Path
) -> list[tuple[_County, RegionRecord]]:
    centers = _read_centers(centers_csv)
    missing = [r.code for r in county_records if r.code not in centers]
    if missing:
        raise ValueError(f"{centers_csv} has no seat for counties {missing}")
    rows = [centers[r.code] for r in county_records]
    seats = _convert(rows, "center_lng", "center_lat")
    centroids = _convert(rows, "centroid_lng", "centroid_lat")
    name_counts = Counter(row["name"] for row in rows)
    result = []
    for record, row, seat, centroid in zip(county_records, rows, seats, centroids, strict=True):
        name = row["name"]
        # Two 鼓楼区 (Nanjing, Xuzhou) and two 普陀区 (Shanghai, Zhoushan) exist in the region.
        ambiguous = name_counts[name] > 1 or name in GENERIC_COUNTY_NAMES
        label = row["city_name"] + name if ambiguous else name
        county = _County(
            record.code, name, label, row["province_name"], row["city_name"], seat, centroid
        )
        result.append((county, record))
    return result


def _clinic_templates(county: _County, city_rank: int) -> list[tuple[str, Weights]]:
    """The county's named hospitals, in order, with level weights."""
    c = county.label
    if county.suffix == "区":
        templates = [
            (f"{c}人民医院", {"三级甲等": 0.35, "三级乙等": 0.35, "二级甲等": 0.3}),
            (f"{c}中医医院", {"三级乙等": 0.3, "二级甲等": 0.6, "二级乙等": 0.1}),
            (f"{c}妇幼保健院", {"三级乙等": 0.1, "二级甲等": 0.6, "二级乙等": 0.3}),
        ]
        # The city's numbered hospitals sit in its first (core) districts.
        if city_rank < len(CHINESE_ORDINALS):
            numbered = f"{county.city}第{CHINESE_ORDINALS[city_rank]}人民医院"
            templates.insert(0, (numbered, {"三级甲等": 0.6, "三级乙等": 0.3, "二级甲等": 0.1}))
        return templates
    return [
        (f"{c}人民医院", {"三级甲等": 0.1, "三级乙等": 0.3, "二级甲等": 0.6}),
        (f"{c}中医院", {"三级乙等": 0.2, "二级甲等": 0.7, "二级乙等": 0.1}),
        (f"{c}第二人民医院", {"二级甲等": 0.4, "二级乙等": 0.6}),
        (f"{c}妇幼保健院", {"二级甲等": 0.5, "二级乙等": 0.4, "一级": 0.1}),
    ]


# Opening hours (OSM syntax). Halls: weekdays with a lunch break, some with Saturday or weekend
# mornings; closed on statutory holidays. Hospitals' outpatient departments open every day and
# on holiday mornings; elderly-care homes receive visitors daily.
HALL_HOURS: Weights = {
    "Mo-Fr 09:00-12:00,13:30-17:00; PH off": 5,
    "Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off": 3,
    "Mo-Fr 09:00-17:00; Sa-Su 09:00-12:00; PH off": 2,
}
HOSPITAL_HOURS = "Mo-Su 08:00-12:00,13:30-17:00; PH 08:00-12:00"
COMMUNITY_CLINIC_HOURS = "Mo-Fr 08:00-11:30,13:30-17:00; Sa 08:00-11:30; PH off"
TOWNSHIP_CLINIC_HOURS = "Mo-Sa 08:00-11:30,13:30-17:00; PH 08:00-11:30"
CARE_HOME_HOURS = "Mo-Su 08:30-11:30,13:30-17:00; PH 09:00-11:30"


def _clinic_hours(level: str) -> str:
    if level == "社区卫生服务中心":
        return COMMUNITY_CLINIC_HOURS
    return HOSPITAL_HOURS if level in LEVEL_2_3 else TOWNSHIP_CLINIC_HOURS


def _care_levels(rng: random.Random) -> tuple[str, ...]:
    chances = {"自理": 0.85, "半失能": 0.9, "失能": 0.7, "失智": 0.35}
    levels = tuple(level for level in CARE_LEVELS if rng.random() < chances[level])
    return levels or ("自理",)


def _generate_county(
    county: _County,
    sampler: _Sampler,
    area_km2: float,
    city_rank: int,
    rng_for: Callable[[str], random.Random],
) -> list[PlaceRecord]:
    # Hall at the seat; DataV puts a few seats outside their own outline (南谯区's lies in
    # 琅琊区), and a hall must stay inside the county it serves.
    hall_rng = rng_for("hall")
    candidates = [p for p in (county.seat, county.centroid) if p is not None]
    rep = sampler.geometry.representative_point()
    candidates.append(_round(rep.y, rep.x))
    hall_at = next((p for p in candidates if sampler.accepts(*p)), None)
    if hall_at is None:
        hall_at = _sample_point(hall_rng, sampler, candidates[0], SIGMA_MIN_KM)
    hall_name = _weighted(hall_rng, {"政务服务中心": 6, "市民服务中心": 2, "行政服务中心": 2})
    places = [
        PlaceRecord(
            kind=PlaceKind.SERVICE_HALL,
            name=f"{county.label}{hall_name}（跨省通办窗口）",
            lat=hall_at[0],
            lon=hall_at[1],
            source=GENERATED_SOURCE,
            external_id=f"hall-{county.code}",
            address=_street_address(hall_rng, county),
            phone=_phone(hall_rng, county.city),
            opening_hours=_weighted(rng_for("hours"), HALL_HOURS),
        )
    ]

    plan_rng = rng_for("plan")
    n_clinics, n_care = PLACE_COUNTS[county.suffix]
    if county.suffix == "区" and county.city in METROPOLISES:
        n_clinics += METROPOLIS_BONUS[0]
        n_care += METROPOLIS_BONUS[1]
    n_clinics += plan_rng.randint(-2, 2)
    n_care += plan_rng.randint(-1, 1)
    towns = _towns(plan_rng, county, n_clinics + n_care, area_km2)
    sigma = min(SIGMA_MAX_KM, max(SIGMA_MIN_KM, SIGMA_AREA_FACTOR * math.sqrt(area_km2)))

    def place_point(rng: random.Random) -> tuple[float, float]:
        wide = rng.random() < WIDE_SHARE
        return _sample_point(rng, sampler, hall_at, sigma * (WIDE_FACTOR if wide else 1.0))

    clinic_rng = rng_for("clinic")
    named = _clinic_templates(county, city_rank)
    if clinic_rng.random() < 0.4:
        brand = clinic_rng.choice(PRIVATE_HOSPITAL_BRANDS)
        named.append((f"{county.label}{brand}医院", {"二级乙等": 0.4, "一级": 0.6}))
    for i in range(n_clinics):
        town = towns[i]
        if i < len(named):
            name, weights = named[i]
            level = _weighted(clinic_rng, weights)
        elif town.endswith("街道"):
            name, level = f"{town}社区卫生服务中心", "社区卫生服务中心"
        elif clinic_rng.random() < 0.3:
            name, level = f"{town}中心卫生院", _weighted(clinic_rng, {"一级": 0.7, "二级乙等": 0.3})
        else:
            name, level = f"{town}卫生院", "一级"
        settles = clinic_rng.random() < (0.9 if level in LEVEL_2_3 else 0.3)
        lat, lon = place_point(clinic_rng)
        places.append(
            PlaceRecord(
                kind=PlaceKind.CLINIC,
                name=name,
                lat=lat,
                lon=lon,
                source=GENERATED_SOURCE,
                external_id=f"clinic-{county.code}-{i + 1:02d}",
                address=_street_address(clinic_rng, county, town),
                phone=_phone(clinic_rng, county.city),
                clinic_level=level,
                cross_province_settlement=settles,
                opening_hours=_clinic_hours(level),
            )
        )

    care_rng = rng_for("care")
    non_local_chance = 0.85 if county.city in NON_LOCAL_CARE_CITIES else 0.4
    brands = care_rng.sample(CARE_BRANDS, len(CARE_BRANDS))  # drawn in turn: names stay unique
    for i in range(n_care):
        town = towns[n_clinics + i]
        if i == 0:
            name, beds = f"{county.label}社会福利院", care_rng.randint(150, 600)
        else:
            style = care_rng.randrange(3)
            if style == 0:
                brand = brands.pop()
                name, beds = f"{county.label}{brand}康养中心", care_rng.randint(100, 800)
            elif style == 1:
                name, beds = f"{town}颐养院", care_rng.randint(40, 300)
            else:
                name, beds = f"{town}养老院", care_rng.randint(40, 250)
        lat, lon = place_point(care_rng)
        places.append(
            PlaceRecord(
                kind=PlaceKind.ELDERLY_CARE,
                name=name,
                lat=lat,
                lon=lon,
                source=GENERATED_SOURCE,
                external_id=f"care-{county.code}-{i + 1:02d}",
                address=_street_address(care_rng, county, town),
                phone=_phone(care_rng, county.city),
                beds=beds,
                available_beds=care_rng.randint(0, int(beds * 0.3)),
                accepts_non_local=care_rng.random() < non_local_chance,
                care_levels=_care_levels(care_rng),
                opening_hours=CARE_HOME_HOURS,
            )
        )
    return places


def generate_demo_places(
    regions: Sequence[RegionRecord], centers_csv: Path = DEFAULT_CENTERS_CSV
) -> list[PlaceRecord]:
    """Generated halls, clinics and care homes for every county record in `regions`.

    Deterministic: each county draws from its own random.Random streams seeded with strings
    built from its adcode (str seeds go through SHA-512, so PYTHONHASHSEED does not matter), and
    counties are processed in code order, so the order of `regions` does not matter either.
    Points lie strictly inside their county and outside every other county given (outlines
    overlap in slivers). Coordinates are WGS-84, rounded to 6 decimals.
    """
    county_records = sorted(
        (r for r in regions if r.level is RegionLevel.COUNTY), key=lambda r: r.code
    )
    if not county_records:
        return []
    geoms = np.array([r.geometry for r in county_records], dtype=object)
    tree = shapely.STRtree(geoms)
    city_ranks: Counter[str] = Counter()
    places: list[PlaceRecord] = []
    for index, (county, record) in enumerate(_counties(county_records, Path(centers_csv))):
        neighbours = [geoms[j] for j in tree.query(record.geometry) if j != index]
        sampler = _Sampler(record.geometry, neighbours)
        seat = county.seat or county.centroid
        lat_ref = seat[0] if seat else record.geometry.centroid.y
        city_rank = city_ranks[county.city]
        if county.suffix == "区":
            city_ranks[county.city] += 1

        def rng_for(stream: str, code: str = county.code) -> random.Random:
            return random.Random(f"demo-places:{code}:{stream}")

        places.extend(
            _generate_county(
                county, sampler, _area_km2(record.geometry, lat_ref), city_rank, rng_for
            )
        )
    return places


# Amap's district field is the short name; these are not 区.
_HANGZHOU_DISTRICT_SUFFIX = {"桐庐": "县", "淳安": "县", "建德": "市"}
_HANGZHOU_COUNTY_NAMES = (
    "上城区", "下城区", "江干区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区",
    "钱塘区", "富阳区", "临安区", "桐庐县", "淳安县", "建德市",
)  # fmt: skip


def _amap_address(address: str, district: str) -> str | None:
    """Full address where prefixing city and district reads naturally, else Amap's own."""
    address = address.strip()
    if not address:
        return None
    if address.startswith(("杭州", "浙江")) or not district:
        return address
    if address.startswith(_HANGZHOU_COUNTY_NAMES):
        return f"杭州市{address}"
    return f"杭州市{district}{_HANGZHOU_DISTRICT_SUFFIX.get(district, '区')}{address}"


def is_amap_service_hall(properties: dict) -> bool:
    """Keyword search also found canteens, estates and shops; keep government bodies only."""
    return properties.get("category") == "gov_service" and str(
        properties.get("amapType") or ""
    ).startswith("政府机构及社会团体")


def read_amap_service_halls(path: Path) -> list[PlaceRecord]:
    """SERVICE_HALL records from the Amap Hangzhou POI GeoJSON (GCJ-02 → WGS-84)."""
    with Path(path).open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    halls = [f for f in features if is_amap_service_hall(f["properties"])]
    if not halls:
        return []
    lon_gcj, lat_gcj = np.array([f["geometry"]["coordinates"][:2] for f in halls], float).T
    lat, lon = gcj02_to_wgs84(lat_gcj, lon_gcj)
    records = []
    for feature, la, lo in zip(halls, lat, lon, strict=True):
        props = feature["properties"]
        la, lo = _round(la, lo)
        records.append(
            PlaceRecord(
                kind=PlaceKind.SERVICE_HALL,
                name=props["name"].strip(),
                lat=la,
                lon=lo,
                source=AMAP_SOURCE,
                external_id=props["amapId"],
                address=_amap_address(props.get("address") or "", props.get("district") or ""),
                phone=(props.get("phone") or "").strip() or None,
                opening_hours=_weighted(random.Random(f"amap-hours:{props['amapId']}"),
                                        HALL_HOURS),
            )
        )
    return records
