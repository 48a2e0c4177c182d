"""The geopy geocoders of geodata.geocoding: our offline one over a lookup, and geopy's own
Baidu (v3) and Nominatim classes driven against a fake geocoding service on 127.0.0.1 (as
the fake FCM endpoint: real client code, a fake of what is outside our machine)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pytest
from geopy.exc import GeocoderQuotaExceeded

from geodata.crs import CRS, from_wgs84
from geodata.geocoding import Entry, OfflineGeocoder, provider
from geodata.geodesic import distance_m
from tests.local_http import LocalHttpServer

XIHU = (30.2592, 120.1300)


class FakeGeocoder(LocalHttpServer):
    """Baidu's /geocoding/v3/ (answers in BD-09) and Nominatim's /search, from a table of
    address → WGS-84 point; records every request."""

    def __init__(self, places: dict[str, tuple[float, float, str]]) -> None:
        self.places = places
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def handler_class(self):  # noqa: ANN201
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    fake.requests.append((url.path, params))
                if url.path == "/geocoding/v3/":
                    body = fake.baidu(params)
                elif url.path == "/search":
                    body = fake.nominatim(params)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _find(self, text: str):  # noqa: ANN202
        return next(((addr, *point) for addr, point in self.places.items() if addr in text), None)

    def baidu(self, params: dict) -> dict:
        if params.get("ak") != "test-ak":
            return {"status": 302, "message": "天配额超限，限制访问"}
        found = self._find(params.get("address", ""))
        if found is None:
            return {"status": 0, "result": []}
        _, lat, lon, level = found
        bd_lat, bd_lon = from_wgs84(lat, lon, CRS.BD09)
        return {"status": 0, "result": {"location": {"lng": bd_lon, "lat": bd_lat},
                                        "precise": 1, "confidence": 80, "level": level}}

    def nominatim(self, params: dict) -> list:
        found = self._find(params.get("q", ""))
        if found is None:
            return []
        address, lat, lon, kind = found
        return [{"lat": str(lat), "lon": str(lon), "display_name": address,
                 "addresstype": kind, "place_id": 1}]


@pytest.fixture
def fake():  # noqa: ANN201
    with FakeGeocoder({"文三路 1 号": (*XIHU, "门址"), "文三路": (30.2770, 120.1400, "road")}) \
            as server:
        yield server


def _remote(name: str, fake: FakeGeocoder, **kwargs):  # noqa: ANN003, ANN202
    return provider(name, api_key="test-ak", domain=fake.base_url.split("://")[1],
                    scheme="http", user_agent="servicemap-tests", **kwargs)


def test_baidu__answer_in_bd09__converted_to_wgs84(fake):
    location = _remote("baidu", fake).geocode("杭州市西湖区文三路 1 号")
    assert distance_m(location.latitude, location.longitude, *XIHU) < 0.01
    assert location.raw["precision"] == "POI"
    (path, params), = fake.requests
    assert path == "/geocoding/v3/" and params["address"] == "杭州市西湖区文三路 1 号"


def test_baidu__no_result__none(fake):
    assert _remote("baidu", fake).geocode("不存在的地址") is None


def test_baidu__quota__geopy_error(fake):
    geocoder = provider("baidu", api_key="wrong", domain=fake.base_url.split("://")[1],
                        scheme="http", user_agent="servicemap-tests")
    with pytest.raises(GeocoderQuotaExceeded):
        geocoder.geocode("文三路 1 号")


def test_nominatim__through_geopy__wgs84_and_type(fake):
    (location,) = _remote("nominatim", fake).geocode("文三路", exactly_one=False)
    assert (location.latitude, location.longitude) == (30.2770, 120.1400)
    assert location.raw["addresstype"] == "road"
    assert fake.requests[0][0] == "/search"


ENTRIES = [
    Entry("西湖区政务服务中心", 30.2741, 120.1551, "POI", "330106", "杭州市西湖区文三路 100 号"),
    Entry("西湖区", 30.20, 120.08, "DISTRICT", "330106", "杭州市西湖区", parent_code="330100"),
    Entry("西湖区", 28.64, 115.88, "DISTRICT", "360103", "南昌市西湖区", parent_code="360100"),
    Entry("杭州市", 30.25, 120.20, "CITY", "330100"),
    Entry("南昌市", 28.68, 115.86, "CITY", "360100"),
    Entry("鼓楼区", 32.07, 118.77, "DISTRICT", "320106"),
]


def _offline() -> OfflineGeocoder:
    return OfflineGeocoder(lambda text, region: ENTRIES, user_agent="servicemap-tests")


@pytest.mark.parametrize(("query", "name", "precision"), [
    ("西湖区政务服务中心", "西湖区政务服务中心", "POI"),
    ("杭州市西湖区文三路 100 号", "西湖区政务服务中心", "POI"),
    ("政务服务中心 西湖区", "西湖区", "DISTRICT"),
    ("杭州西湖区某小区", "西湖区", "DISTRICT"),
    ("杭州市某某路", "杭州市", "CITY"),
    ("杭州某某路", "杭州市", "CITY"),
])
def test_offline__most_specific_match_first(query: str, name: str, precision: str):
    location = _offline().geocode(query)
    assert (location.raw["name"], location.raw["precision"]) == (name, precision)


def test_offline__a_named_city__rules_out_its_namesakes_elsewhere():
    found = _offline().geocode("杭州市西湖区某小区", exactly_one=False)
    districts = [(found_at.address, found_at.raw["region_code"]) for found_at in found
                 if found_at.raw["precision"] == "DISTRICT"]
    assert districts == [("杭州市西湖区", "330106")]
    # without a city both are candidates
    unnamed = _offline().geocode("西湖区某小区", exactly_one=False)
    assert {found_at.raw["region_code"] for found_at in unnamed} >= {"330106", "360103"}


def test_offline__nothing_named__none_and_empty():
    assert _offline().geocode("某某路 8 号") is None
    assert _offline().geocode("  ", exactly_one=False) == []
