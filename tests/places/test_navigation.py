"""线下导航: every app link routes to the place in the datum that app draws its map in.

The oracle is geodata's conversion, applied per app as the apps document it (Amap and Apple
Maps in China: GCJ-02; Baidu: BD-09 with coord_type=bd09ll); the URLs are taken apart with
urllib, as an app's URI parser would.
"""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.db import session_scope
from backend.places.models import Place
from backend.places.navigation import MapLink, NavigationLinks, navigation_links
from geodata.crs import CRS, from_wgs84, out_of_china
from tests.helpers import gql_data, operation

# What each app expects, stated here independently of the code under test.
APP_DATUM = {"amap": CRS.GCJ02, "baidu": CRS.BD09, "apple": CRS.GCJ02}
# The URLs carry 6 decimals: at most 5e-7 off the exact value.
URL_TOLERANCE = 1e-6
TRICKY_NAME = "市民中心 A&B #2 | 东门 100% ?=+/"
BAIDU_DESTINATION = re.compile(
    r"latlng:(?P<lat>-?\d+\.\d{6}),(?P<lon>-?\d+\.\d{6})\|name:(?P<name>.*)", re.DOTALL
)
PERCENT_ENCODED = re.compile(r"(?:[^%]|%[0-9A-F]{2})*")  # every "%" starts an escape


def query_of(url: str) -> dict[str, str]:
    """The parameters of a URL, each once, decoded; the URL must not end in a fragment."""
    parts = urlsplit(url)
    assert parts.fragment == "", url
    params = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in params.values()), url
    return {key: values[0] for key, values in params.items()}


def destination_in(app: str, url: str) -> tuple[float, float, str]:
    """(lat, lon, name) of the destination, read the way that app reads its URL."""
    params = query_of(url)
    if "dlat" in params:  # Amap apps
        return float(params["dlat"]), float(params["dlon"]), params["dname"]
    if "to" in params:  # Amap web: lon,lat,name
        lon, lat, name = params["to"].split(",", 2)
        return float(lat), float(lon), name
    if "destination" in params:  # Baidu, web and apps
        match = BAIDU_DESTINATION.fullmatch(params["destination"])
        assert match, params["destination"]
        return float(match["lat"]), float(match["lon"]), match["name"]
    lat, lon = params["daddr"].split(",")  # Apple
    return float(lat), float(lon), params["q"]


def name_as_sent(app: str, url: str, name: str) -> str:
    """The name as it must arrive: separators of the app's own destination syntax (Amap web's
    "lon,lat,name", Baidu's "latlng:…|name:…") come back full-width."""
    if app == "baidu":
        return name.replace("|", "｜")
    if app == "amap" and url.startswith("https://"):
        return name.replace(",", "，")
    return name


def urls_of(link: MapLink) -> list[str]:
    return [url for url in (link.web_url, link.ios_app_url, link.android_app_url) if url]


def assert_links_route_to(links: NavigationLinks, name: str, lat: float, lon: float) -> None:
    assert links.name == name
    for app, datum in APP_DATUM.items():
        link: MapLink = getattr(links, app)
        want_lat, want_lon = from_wgs84(lat, lon, datum)
        assert link.crs is datum, app
        assert (link.lat, link.lon) == pytest.approx((want_lat, want_lon), abs=1e-12), app
        for url in urls_of(link):
            got_lat, got_lon, _ = destination_in(app, url)
            assert abs(got_lat - want_lat) <= URL_TOLERANCE, url
            assert abs(got_lon - want_lon) <= URL_TOLERANCE, url


def test_navigation__points_across_china__each_app_in_its_datum():
    # given: random points across China's provinces
    rng = random.Random(20260301)
    points = [(rng.uniform(18.5, 48.0), rng.uniform(98.0, 127.0)) for _ in range(200)]

    for lat, lon in points:
        # when
        links = navigation_links("测试场所", lat, lon)

        # then: the right datum for every app, in every URL ...
        assert_links_route_to(links, "测试场所", lat, lon)
        # ... and the case can tell the datums apart (they are hundreds of metres apart here)
        assert not out_of_china(lat, lon)
        assert abs(links.amap.lat - lat) + abs(links.amap.lon - lon) > 1e-3
        assert abs(links.baidu.lat - links.amap.lat) + abs(links.baidu.lon - links.amap.lon) > 1e-3


def test_navigation__app_parameters__as_the_uri_apis_document():
    links = navigation_links("杭州市民中心", 30.2454, 120.2098)

    amap_web = query_of(links.amap.web_url)
    assert links.amap.web_url.startswith("https://uri.amap.com/navigation?")
    assert amap_web["mode"] == "car" and amap_web["coordinate"] == "gaode"
    assert amap_web["callnative"] == "1" and amap_web["src"]
    assert links.amap.ios_app_url.startswith("iosamap://path?")
    assert links.amap.android_app_url.startswith("amapuri://route/plan/?")
    for url in (links.amap.ios_app_url, links.amap.android_app_url):
        params = query_of(url)
        # dev=0: the coordinates are GCJ-02 already and must not be shifted again
        assert params["dev"] == "0" and params["t"] == "0" and params["sourceApplication"]

    assert links.baidu.web_url.startswith("https://api.map.baidu.com/direction?")
    assert query_of(links.baidu.web_url)["output"] == "html"
    assert links.baidu.ios_app_url.startswith("baidumap://map/direction?")
    assert links.baidu.android_app_url == links.baidu.ios_app_url
    for url in urls_of(links.baidu):
        params = query_of(url)
        assert params["coord_type"] == "bd09ll" and params["mode"] == "driving" and params["src"]

    assert links.apple.web_url.startswith("https://maps.apple.com/?")
    assert links.apple.ios_app_url.startswith("maps://?")
    assert links.apple.android_app_url is None
    for url in urls_of(links.apple):
        assert query_of(url)["dirflg"] == "d"


def test_navigation__name_with_url_syntax__encoded_and_decodes_back():
    links = navigation_links(TRICKY_NAME, 31.2304, 121.4737)

    for app in APP_DATUM:
        for url in urls_of(getattr(links, app)):
            # then: nothing in the name leaks into the URL's syntax ...
            assert url.isascii(), url
            assert " " not in url and "#" not in url and "|" not in url, url
            assert PERCENT_ENCODED.fullmatch(url), url
            # ... and the app reads the whole name back (Baidu's destination is itself a
            # "|"-separated list, so there the bar comes back full-width)
            _, _, name = destination_in(app, url)
            assert name == name_as_sent(app, url, TRICKY_NAME), (app, url)
            assert name.replace("｜", "|") == TRICKY_NAME
    assert links.name == TRICKY_NAME


def test_navigation__comma_in_name__does_not_cut_amap_destination():
    links = navigation_links("南京市政务服务中心,江北分中心", 32.06, 118.79)

    _, _, name = destination_in("amap", links.amap.web_url)

    assert name == "南京市政务服务中心，江北分中心"
    assert destination_in("amap", links.amap.ios_app_url)[2] == "南京市政务服务中心,江北分中心"


@pytest.mark.parametrize(("lat", "lon"), [(35.6812, 139.7671), (48.8584, 2.2945),
                                          (-33.8568, 151.2153), (64.1466, -21.9426)])
def test_navigation__point_outside_china__not_shifted(lat, lon):
    links = navigation_links("Somewhere", lat, lon)

    assert out_of_china(lat, lon)
    for app in APP_DATUM:
        link: MapLink = getattr(links, app)
        assert (link.lat, link.lon) == (lat, lon)
        for url in urls_of(link):
            got_lat, got_lon, _ = destination_in(app, url)
            assert (got_lat, got_lon) == (round(lat, 6), round(lon, 6)), url


# ---------------------------------------------------------------------------------------------
# through the API


def test_place_navigation__demo_places__links_of_the_stored_location(demo_app, demo_client):
    # given: places of every kind spread over the demo data set, read from the database
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        sample = [(p.id, p.name, p.lat, p.lon)
                  for p in session.scalars(select(Place).order_by(Place.id))][::250]
    assert len(sample) > 15

    for place_id, name, lat, lon in sample:
        # when
        data = gql_data(demo_client, operation("PlaceNavigation"), {"id": str(place_id)})

        # then
        navigation = data["place"]["navigation"]
        assert navigation["name"] == name
        for app, datum in APP_DATUM.items():
            link = navigation[app]
            want_lat, want_lon = from_wgs84(lat, lon, datum)
            assert link["crs"] == datum.value
            assert link["location"] == pytest.approx({"lat": want_lat, "lon": want_lon},
                                                     abs=1e-9)
            urls = [link["webUrl"], link["iosAppUrl"], link["androidAppUrl"]]
            assert (urls[2] is None) == (app == "apple"), link
            for url in filter(None, urls):
                got_lat, got_lon, got_name = destination_in(app, url)
                assert abs(got_lat - want_lat) <= URL_TOLERANCE, url
                assert abs(got_lon - want_lon) <= URL_TOLERANCE, url
                assert got_name == name_as_sent(app, url, name)


def test_place_navigation__unknown_place__null(demo_client):
    data = gql_data(demo_client, operation("PlaceNavigation"), {"id": "99999999"})

    assert data["place"] is None
