"""Plain records that move place data between generators, importers and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PlaceKind(StrEnum):
    SERVICE_HALL = "SERVICE_HALL"
    CLINIC = "CLINIC"
    ELDERLY_CARE = "ELDERLY_CARE"


@dataclass(frozen=True)
class PlaceRecord:
    """One place as an importer produces it: WGS-84 coordinates, no database id yet.

    (source, external_id) identifies the record across imports, so loading twice updates
    instead of duplicating.
    """

    kind: PlaceKind
    name: str
    lat: float
    lon: float
    source: str  # "generated", "amap", "editor" …
    external_id: str
    address: str | None = None
    phone: str | None = None
    opening_hours: str | None = None  # OSM opening_hours syntax
    # CLINIC only
    clinic_level: str | None = None  # e.g. "三级甲等", "二级", "一级", "社区卫生服务中心"
    cross_province_settlement: bool | None = None
    # ELDERLY_CARE only
    beds: int | None = None
    available_beds: int | None = None
    accepts_non_local: bool | None = None
    care_levels: tuple[str, ...] = field(default_factory=tuple)  # e.g. ("自理", "半失能", "失能")
