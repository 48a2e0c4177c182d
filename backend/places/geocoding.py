"""geocodeAddress: an address to candidate positions, through the geopy geocoder the settings
name (GEOCODER=offline|baidu|nominatim), wrapped in geopy's RateLimiter, answers cached in
`geocode_cache`. The offline geocoder (the default) knows our places and region names."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, literal, or_, select
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.core.clock import as_utc, utcnow
from backend.core.errors import DomainError, InvalidInput
from backend.core.unit_of_work import UnitOfWork
from backend.db import insert_ignoring_conflicts
from backend.places.models import GeocodeCache, Place
from backend.places.permissions import require_some_editor
from backend.places.regions import (
    region_centres,
    region_codes_at,
    region_index,
    regions_by_code,
)
from geodata.gazetteer import Entry, plain

if TYPE_CHECKING:
    from geopy.extra.rate_limiter import RateLimiter

GEOCODERS = ("offline", "baidu", "nominatim")
MAX_ADDRESS = 200
MAX_CANDIDATES = 5
MAX_PLACES = 50  # places the offline geocoder weighs for one text


class GeocoderUnavailable(DomainError):
    code = "GEOCODER_UNAVAILABLE"


@dataclass(frozen=True)
class GeocoderConfig:
    name: str = "offline"
    api_key: str | None = None
    domain: str | None = None
    scheme: str = "https"
    user_agent: str = "servicemap-editor"
    min_delay_seconds: float = 1.0
    timeout_seconds: float = 10.0
    cache_days: int = 30


    @classmethod
    def from_settings(cls, settings) -> GeocoderConfig:  # noqa: ANN001
        scheme, domain = "https", None
        if settings.geocoder_url:
            scheme, _, rest = settings.geocoder_url.partition("://")
            domain = rest.rstrip("/")
        return cls(name=settings.geocoder, api_key=settings.baidu_map_ak, domain=domain,
                   scheme=scheme, user_agent=settings.geocoder_user_agent,
                   min_delay_seconds=settings.geocoder_min_delay_ms / 1000,
                   cache_days=settings.geocoder_cache_days)


@dataclass(frozen=True)
class GeocodeCandidate:
    lat: float  # WGS-84
    lon: float
    formatted_address: str
    precision: str
    provider: str
    region_code: str | None  # the county (else city) the point lies in


_limiters: dict[GeocoderConfig, RateLimiter] = {}
_limiters_lock = threading.Lock()


def _limited(config: GeocoderConfig, lookup) -> RateLimiter:  # noqa: ANN001
    """One RateLimiter per remote provider and process (the provider's quota is per key);
    ours is not limited (no one else's service is asked)."""
    # geopy and requests (~6 MB) are imported by the first geocoding, not by every process
    # that serves the API: only editors geocode.
    from geopy.extra.rate_limiter import RateLimiter

    from geodata.geocoding import provider

    geocoder = provider(config.name, lookup=lookup, api_key=config.api_key,
                        domain=config.domain, scheme=config.scheme,
                        user_agent=config.user_agent, timeout=config.timeout_seconds)
    if config.name == "offline":
        return geocoder.geocode
    with _limiters_lock:
        if config not in _limiters:
            _limiters[config] = RateLimiter(geocoder.geocode,
                                            min_delay_seconds=config.min_delay_seconds,
                                            max_retries=1, swallow_exceptions=False)
        return _limiters[config]


def offline_lookup(session: Session):  # noqa: ANN201
    """What our offline geocoder may match a text against: the live places whose name the
    text holds (or that hold it), those whose address it holds, and every county and city."""

    def lookup(text: str, region_code: str | None) -> list[Entry]:
        statement = select(Place.name, Place.address, Place.lat, Place.lon,
                           Place.county_code, Place.city_code).where(
            Place.archived.is_(False),
            or_(literal(text).contains(Place.name), Place.name.contains(text),
                literal(text).contains(Place.address)))
        if region_code:
            statement = statement.where(or_(Place.county_code == region_code,
                                            Place.city_code == region_code))
        entries = [Entry(name, lat, lon, "POI", county or city, address)
                   for name, address, lat, lon, county, city
                   in session.execute(statement.order_by(Place.id).limit(MAX_PLACES))]
        index = region_index(session)
        centres = region_centres(session)
        for record in index.records():
            level = record.level.value
            if level == "PROVINCE":
                continue
            if region_code and region_code not in (record.code, record.parent_code):
                continue
            county = level == "COUNTY"
            parent = index.get(record.parent_code) if county and record.parent_code else None
            entries.append(Entry(record.name, *centres[record.code],
                                 "DISTRICT" if county else "CITY", record.code,
                                 # shown as 杭州市西湖区: there are several 西湖区
                                 address=f"{parent.name}{record.name}" if parent else None,
                                 parent_code=record.parent_code if county else None))
        return entries

    return lookup


def _check(session: Session, address: str, region_code: str | None) -> tuple[str, str | None]:
    address = (address or "").strip()
    if not plain(address) or len(address) > MAX_ADDRESS:
        raise InvalidInput(f"地址须为 1–{MAX_ADDRESS} 个字符", "address")
    if region_code is not None:
        region_code = region_code.strip()
        if region_code not in regions_by_code(session, [region_code]):
            raise InvalidInput(f"未知的行政区划代码：{region_code}", "regionCode")
    return address, region_code


def geocode_address(uow: UnitOfWork, principal: Principal, config: GeocoderConfig,
                    address: str, region_code: str | None = None) -> list[GeocodeCandidate]:
    """Candidates for an address (best first), within `region_code` when given."""
    require_some_editor(principal)
    with uow:
        session = uow.session
        address, region_code = _check(session, address, region_code)
        key = f"{region_code or ''}|{address}"
        cached = session.scalar(select(GeocodeCache).where(
            GeocodeCache.provider == config.name, GeocodeCache.query == key))
        if cached is not None and as_utc(cached.created_at) > utcnow() - timedelta(
                days=config.cache_days):
            return [GeocodeCandidate(**candidate) for candidate in cached.answer]
        candidates = _ask(session, config, address, region_code)
        if cached is not None:
            session.execute(delete(GeocodeCache).where(GeocodeCache.id == cached.id))
        insert_ignoring_conflicts(session, GeocodeCache, [{
            "provider": config.name, "query": key, "created_at": utcnow(),
            "answer": [candidate.__dict__ for candidate in candidates]}], ["provider", "query"])
        uow.commit()
    return candidates


def _ask(session: Session, config: GeocoderConfig, address: str,
         region_code: str | None) -> list[GeocodeCandidate]:
    from geopy.exc import GeopyError

    from geodata.geocoding import nominatim_precision

    geocode = _limited(config, offline_lookup(session))
    query = address
    if region_code is not None and config.name != "offline":
        # Remote geocoders take the region as part of the text (geopy passes no city filter).
        names = _region_names(session, region_code)
        query = address if names in address else f"{names}{address}"
    try:
        if config.name == "offline":
            found = geocode(query, exactly_one=False, limit=MAX_CANDIDATES,
                            region_code=region_code)
        elif config.name == "baidu":
            found = [location for location in [geocode(query, exactly_one=True)] if location]
        else:
            found = geocode(query, exactly_one=False, limit=MAX_CANDIDATES,
                            country_codes="cn") or []
    except GeopyError as exc:
        raise GeocoderUnavailable("地址解析服务暂时不可用，请稍后重试或直接在地图上选点") from exc
    candidates = []
    for location in found or []:
        lat, lon = location.latitude, location.longitude
        codes = region_codes_at(session, lat, lon)
        in_region = codes["county_code"] or codes["city_code"]
        if region_code is not None and region_code not in codes.values():
            continue
        precision = location.raw.get("precision") or nominatim_precision(location.raw)
        candidates.append(GeocodeCandidate(lat, lon, str(location.address), precision,
                                           config.name, in_region))
    return candidates[:MAX_CANDIDATES]


def _region_names(session: Session, code: str) -> str:
    """杭州市西湖区 for 330106: the city's name and the county's."""
    rows = regions_by_code(session, [code])
    row = rows[code]
    parent = regions_by_code(session, [row.parent_code]).get(row.parent_code) \
        if row.parent_code else None
    if parent is not None and parent.level == "CITY":
        return f"{parent.name}{row.name}"
    return row.name
