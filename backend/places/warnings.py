"""Warnings of an edit (they do not refuse it; the editor confirms them): a probable duplicate
(a very similar name within 50 m, or the same address in the county) and a large move."""

from __future__ import annotations

import difflib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.places.clusters import spatial_prefilter
from backend.places.errors import WARNINGS, PlaceWarning
from backend.places.models import Place
from geodata.geodesic import bbox_around, distance_m

DUPLICATE_RADIUS_M = 50.0
LARGE_MOVE_M = 2_000.0
SIMILAR_NAME_RATIO = 0.8
_NOISE = re.compile(r"[\s\W_]+")


def _plain(text: str | None) -> str:
    return _NOISE.sub("", text or "").lower()


def similar_names(a: str, b: str) -> bool:
    """Equal once spaces and punctuation are dropped, one inside the other (西湖区政务服务中心 /
    杭州市西湖区政务服务中心), or nearly the same characters."""
    a, b = _plain(a), _plain(b)
    if not a or not b:
        return False
    if a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a)):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_NAME_RATIO


def duplicate_warning(session: Session, place_id: int | None, name: str, address: str | None,
                      lat: float, lon: float, county_code: str | None) -> PlaceWarning | None:
    """DUPLICATE_SUSPECTED when another live place looks like this one."""
    box = bbox_around(lat, lon, DUPLICATE_RADIUS_M)
    others = [Place.archived.is_(False)]
    if place_id is not None:
        others.append(Place.id != place_id)
    near = session.execute(select(Place.id, Place.name, Place.lat, Place.lon).where(
        *others, Place.lat.between(box.south, box.north), Place.lon.between(box.west, box.east),
        spatial_prefilter(session.get_bind().dialect.name, [box]),
    ).order_by(Place.id)).all()
    for other_id, other_name, other_lat, other_lon in near:
        if (similar_names(name, other_name)
                and distance_m(lat, lon, other_lat, other_lon) <= DUPLICATE_RADIUS_M):
            return PlaceWarning("DUPLICATE_SUSPECTED",
                                f"{DUPLICATE_RADIUS_M:.0f} 米内已有名称相近的地点：{other_name}"
                                f"（编号 {other_id}），可能重复", "name")
    if address and county_code:
        other = session.execute(select(Place.id, Place.name).where(
            *others, Place.county_code == county_code, Place.address == address,
        ).order_by(Place.id).limit(1)).first()
        if other is not None:
            return PlaceWarning("DUPLICATE_SUSPECTED",
                                f"同一区县已有地址相同的地点：{other.name}"
                                f"（编号 {other.id}），可能重复",
                                "address")
    return None


def move_warning(old: tuple[float, float], new: tuple[float, float]) -> PlaceWarning | None:
    moved = distance_m(*old, *new)
    if moved <= LARGE_MOVE_M:
        return None
    return PlaceWarning("LARGE_MOVE", f"{WARNINGS['LARGE_MOVE']}（{moved / 1000:.1f} 公里），"
                        "请确认新位置无误", "location")
