"""What a geocoding text may name, without geopy (which geodata.geocoding drives): the
precisions of an answer, the entries the offline geocoder weighs, and the plain form of a text.
Kept apart so that the serving process needs geopy only once an address is geocoded."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PRECISIONS = ("POI", "STREET", "DISTRICT", "CITY")
_NOISE = re.compile(r"[\s\W_]+")


def plain(text: str | None) -> str:
    return _NOISE.sub("", text or "")


@dataclass(frozen=True)
class Entry:
    """Something a text may name: a place (POI) or a region (DISTRICT / CITY, its centroid)."""

    name: str
    lat: float
    lon: float
    precision: str
    region_code: str | None = None
    address: str | None = None
    parent_code: str | None = None  # a county's city


Lookup = Callable[[str, str | None], Sequence[Entry]]
