"""Service halls from an Amap (高德) POI export: GCJ-02 points converted to WGS-84.

Amap lists no opening hours; the halls get one of the usual hall timetables, drawn
deterministically per POI, so the demo's halls have hours like the generated ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

from backend.places.records import PlaceKind, PlaceRecord
from geodata.crs import gcj02_to_wgs84

AMAP_SOURCE = "amap"
COORD_DECIMALS = 6

Weights = dict[str, float]
HALL_HOURS: Weights = {
    "Mo-Fr 09:00-12:00,13:30-17:00; PH off": 5,
    "Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off": 3,
    "Mo-Fr 09:00-17:00; Sa-Su 09:00-12:00; PH off": 2,
}


def round_point(lat: float, lon: float) -> tuple[float, float]:
    return round(float(lat), COORD_DECIMALS), round(float(lon), COORD_DECIMALS)


def weighted(rng: random.Random, weights: Weights) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


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
        return amap_service_halls(json.load(fh)["features"])


def amap_service_halls(features: list[dict]) -> list[PlaceRecord]:
    """The government service halls among Amap POI features, as records (WGS-84)."""
    halls = [f for f in features if is_amap_service_hall(f["properties"])]
    if not halls:
        return []
    import numpy as np  # imports and seeding only: the API server need not load it

    lon_gcj, lat_gcj = np.array([f["geometry"]["coordinates"][:2] for f in halls], float).T
    lat, lon = gcj02_to_wgs84(lat_gcj, lon_gcj)
    records = []
    for feature, la, lo in zip(halls, lat, lon, strict=True):
        props = feature["properties"]
        la, lo = round_point(la, lo)
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
                opening_hours=weighted(random.Random(f"amap-hours:{props['amapId']}"),
                                        HALL_HOURS),
            )
        )
    return records
