"""线下导航: links that open a place in Amap, Baidu Maps or Apple Maps, ready to route there.

Pure: no Flask, no database. Each app gets the destination in the datum its own map is drawn
in (Amap and Apple Maps in China: GCJ-02; Baidu: BD-09), converted from our WGS-84, so the pin
lands on the door and not a few hundred metres off. The URL formats are the apps' documented
URI APIs; no origin is given, so every app routes from the phone's current position.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from geodata.crs import CRS, from_wgs84

# Who is calling, for the apps' statistics (Amap `src`/`sourceApplication`, Baidu `src`).
SOURCE_APP = "servicemap"

AMAP_WEB = "https://uri.amap.com/navigation"
AMAP_IOS = "iosamap://path"
AMAP_ANDROID = "amapuri://route/plan/"
BAIDU_WEB = "https://api.map.baidu.com/direction"
BAIDU_APP = "baidumap://map/direction"  # one scheme for the iOS and the Android app
APPLE_WEB = "https://maps.apple.com/"
APPLE_IOS = "maps://"


@dataclass(frozen=True)
class MapLink:
    """One app's links; lat/lon are the destination in `crs`, the datum that app expects."""

    crs: CRS
    lat: float
    lon: float
    web_url: str
    ios_app_url: str
    android_app_url: str | None


@dataclass(frozen=True)
class NavigationLinks:
    name: str
    amap: MapLink
    baidu: MapLink
    apple: MapLink


def navigation_links(name: str, lat: float, lon: float) -> NavigationLinks:
    """Links to route to (lat, lon) (WGS-84), labelled `name`, in each map app."""
    return NavigationLinks(
        name=name, amap=amap_link(name, lat, lon), baidu=baidu_link(name, lat, lon),
        apple=apple_link(name, lat, lon),
    )


def amap_link(name: str, lat: float, lon: float) -> MapLink:
    g_lat, g_lon = from_wgs84(lat, lon, CRS.GCJ02)
    # `to` is "lon,lat,name": a comma in the name would end it early.
    to = f"{_coord(g_lon)},{_coord(g_lat)},{name.replace(',', '，')}"
    app = {"dlat": _coord(g_lat), "dlon": _coord(g_lon), "dname": name, "dev": "0", "t": "0"}
    return MapLink(
        crs=CRS.GCJ02, lat=g_lat, lon=g_lon,
        web_url=_url(AMAP_WEB, {"to": to, "mode": "car", "coordinate": "gaode",
                                "callnative": "1", "src": SOURCE_APP}),
        # dev=0: the coordinates are already GCJ-02, the app must not shift them again.
        ios_app_url=_url(AMAP_IOS, {"sourceApplication": SOURCE_APP, **app}),
        android_app_url=_url(AMAP_ANDROID, {"sourceApplication": SOURCE_APP, **app}),
    )


def baidu_link(name: str, lat: float, lon: float) -> MapLink:
    b_lat, b_lon = from_wgs84(lat, lon, CRS.BD09)
    # `destination` is a "|"-separated list read after URL decoding, so a "|" in the name
    # (percent-encoded or not) would cut it; the full-width bar reads the same.
    destination = f"latlng:{_coord(b_lat)},{_coord(b_lon)}|name:{name.replace('|', '｜')}"
    # No `region`: it tells Baidu that origin and destination are in one city, which is often
    # wrong for a cross-province service; coordinates are enough to route.
    common = {"destination": destination, "coord_type": "bd09ll", "mode": "driving"}
    app_url = _url(BAIDU_APP, {**common, "src": SOURCE_APP})
    return MapLink(
        crs=CRS.BD09, lat=b_lat, lon=b_lon,
        web_url=_url(BAIDU_WEB, {**common, "output": "html", "src": SOURCE_APP}),
        ios_app_url=app_url,
        android_app_url=app_url,
    )


def apple_link(name: str, lat: float, lon: float) -> MapLink:
    # In China Apple Maps draws AutoNavi (Amap) data, so it expects GCJ-02 there too.
    g_lat, g_lon = from_wgs84(lat, lon, CRS.GCJ02)
    params = {"daddr": f"{_coord(g_lat)},{_coord(g_lon)}", "q": name, "dirflg": "d"}
    return MapLink(
        crs=CRS.GCJ02, lat=g_lat, lon=g_lon,
        web_url=_url(APPLE_WEB, params),
        ios_app_url=_url(APPLE_IOS, params),
        android_app_url=None,  # there is no Apple Maps app on Android
    )


def _coord(value: float) -> str:
    """Six decimals: about 0.1 m, finer than any map app resolves."""
    return f"{value:.6f}"


def _url(base: str, params: dict[str, str]) -> str:
    # quote, not quote_plus: "+" for a space is not decoded by every app's URI parser.
    # Everything but the coordinate comma is percent-encoded ("|", ":", "#", "&", CJK …).
    return f"{base}?{urlencode(params, quote_via=quote, safe=',')}"
