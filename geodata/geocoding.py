"""Geocoding through geopy: the providers are geopy geocoders, and our own offline one is a
geopy `Geocoder` subclass, so all of them are driven (and rate-limited, by geopy's
RateLimiter) the same way. No database here: the offline geocoder asks a `lookup` function
the caller gives it for the places and regions a text may name.

Every answer is a `Location` whose `raw` holds `precision` (POI, STREET, DISTRICT, CITY) and,
for ours, the region code; Baidu answers in BD-09 and is converted to WGS-84 here."""

from __future__ import annotations

from geopy.geocoders import BaiduV3, Nominatim
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point

from geodata.crs import CRS, to_wgs84
from geodata.gazetteer import PRECISIONS, Entry, Lookup, plain

__all__ = ["PRECISIONS", "Entry", "Lookup", "OfflineGeocoder", "nominatim_precision", "plain",
           "provider"]


class OfflineGeocoder(Geocoder):
    """Our places and region names as a geopy geocoder. A query naming a place (its name or
    its address inside the text) answers that place (POI); else the most specific region it
    names: the county's centroid (DISTRICT), or the city's (CITY)."""

    def __init__(self, lookup: Lookup, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self._lookup = lookup

    def geocode(self, query: str, *, exactly_one: bool = True, limit: int = 5,
                region_code: str | None = None, timeout=DEFAULT_SENTINEL):  # noqa: ANN001
        text = plain(query)
        if not text:
            return None if exactly_one else []
        scored = []
        for entry in self._lookup(text, region_code):
            name, address = plain(entry.name), plain(entry.address)
            if entry.precision == "POI":
                hit = max(len(name) if name and name in text else 0,
                          len(text) if len(text) >= 2 and text in name else 0,
                          len(address) if len(address) >= 6 and address in text else 0)
            else:
                hit = len(name) if name and (name in text or _short(name) in text) else 0
            if hit:
                scored.append((PRECISIONS.index(entry.precision), -hit, entry.name, entry))
        # 杭州市西湖区 names Hangzhou's 西湖区, not Nanchang's: a named city rules out the
        # counties of other cities
        cities = {entry.region_code for *_, entry in scored if entry.precision == "CITY"}
        if cities:
            scored = [item for item in scored if item[3].precision != "DISTRICT"
                      or item[3].parent_code is None or item[3].parent_code in cities]
        scored.sort(key=lambda item: item[:3])
        locations = [Location(entry.address or entry.name, Point(entry.lat, entry.lon), {
            "precision": entry.precision, "region_code": entry.region_code, "name": entry.name,
        }) for *_, entry in scored[:limit]]
        if exactly_one:
            return locations[0] if locations else None
        return locations


def _short(region_name: str) -> str:
    """西湖区 → 西湖, 杭州市 → 杭州: people leave the suffix out (but keep 2 characters)."""
    return region_name[:-1] if len(region_name) > 2 and region_name[-1] in "区县市" else region_name


# Baidu's `level` (what the answer points at) → our precision.
BAIDU_LEVELS = {"门址": "POI", "兴趣点": "POI", "商务大厦": "POI", "道路": "STREET",
                "道路交叉点": "STREET", "村庄": "STREET", "乡镇": "DISTRICT",
                "区县": "DISTRICT", "城市": "CITY", "省份": "CITY"}


class Baidu(BaiduV3):
    """geopy's Baidu geocoder (v3), with the host configurable like Nominatim's `domain`
    (an egress proxy, the tests' fake on 127.0.0.1). Its answers are BD-09: converted."""

    def __init__(self, *, domain: str = "api.map.baidu.com", **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.api = f"{self.scheme}://{domain}{self.api_path}"

    def _parse_json(self, page, exactly_one=True):  # noqa: ANN001, ANN202
        found = super()._parse_json(page, exactly_one)
        locations = [] if found is None else [found] if exactly_one else found
        converted = []
        for location in locations:
            lat, lon = to_wgs84(location.latitude, location.longitude, CRS.BD09)
            raw = {**location.raw, "precision": BAIDU_LEVELS.get(location.raw.get("level"),
                                                                 "STREET")}
            converted.append(Location(location.address, Point(lat, lon), raw))
        if exactly_one:
            return converted[0] if converted else None
        return converted


# Nominatim's `addresstype` → our precision.
NOMINATIM_TYPES = {"city": "CITY", "state": "CITY", "county": "DISTRICT", "district": "DISTRICT",
                   "suburb": "DISTRICT", "road": "STREET", "neighbourhood": "STREET"}


def nominatim_precision(raw: dict) -> str:
    return NOMINATIM_TYPES.get(raw.get("addresstype") or raw.get("type") or "", "POI")


def provider(name: str, *, lookup: Lookup | None = None, api_key: str | None = None,
             domain: str | None = None, scheme: str = "https", user_agent: str,
             timeout: float = 10) -> Geocoder:
    """The geopy geocoder a GEOCODER setting names."""
    if name == "offline":
        return OfflineGeocoder(lookup, user_agent=user_agent)
    if name == "baidu":
        return Baidu(api_key=api_key, domain=domain or "api.map.baidu.com", scheme=scheme,
                     user_agent=user_agent, timeout=timeout)
    if name == "nominatim":
        return Nominatim(domain=domain or "nominatim.openstreetmap.org", scheme=scheme,
                         user_agent=user_agent, timeout=timeout)
    raise ValueError(f"unknown geocoder {name!r}")
