"""geocodeAddress on both stores: the offline geocoder (the default) over the world's places
and the region names, through GraphQL as the editor; the Baidu provider (geopy's class)
against a fake on 127.0.0.1 through the use case, with its cache and rate limit; who may
ask; bad input."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from backend.accounts.grants import principal_for
from backend.places.geocoding import GeocoderConfig, GeocoderUnavailable, geocode_address
from backend.places.models import GeocodeCache
from backend.places.regions import region_codes_at
from geodata.crs import CRS, from_wgs84
from geodata.geodesic import distance_m
from tests.booking.conftest import EDITOR, RESIDENT, World
from tests.geodata.test_geodata_geocoding import XIHU, FakeGeocoder
from tests.helpers import operation

GEOCODE = operation("GeocodeAddress")


def _ask(world: World, address: str, uid: str | None = EDITOR, **variables) -> dict:  # noqa: ANN003
    return world.gql(GEOCODE, {"address": address, **variables}, uid=uid)


def _candidates(world: World, address: str, **variables) -> list[dict]:  # noqa: ANN003
    body = _ask(world, address, **variables)
    assert "errors" not in body, body
    return body["data"]["geocodeAddress"]


def test_offline__a_place_by_name__that_place_first(world: World):
    (first, *_) = _candidates(world, "西湖区政务服务中心", crs="BD09")
    assert (first["precision"], first["provider"]) == ("POI", "offline")
    assert (first["location"]["lat"], first["location"]["lon"]) == (30.2741, 120.1551)
    with world.session() as session:
        county = region_codes_at(session, 30.2741, 120.1551)["county_code"]
    assert first["region"]["code"] == county
    bd = from_wgs84(30.2741, 120.1551, CRS.BD09)
    assert distance_m(first["shown"]["lat"], first["shown"]["lon"], *bd) < 0.01


def test_offline__only_the_district_known__its_centre(world: World):
    (first, *_) = _candidates(world, "杭州市西湖区某某路 8 号")
    assert first["precision"] == "DISTRICT" and first["region"]["code"] == "330106"


def test_offline__region_code__keeps_its_candidates(world: World):
    candidates = _candidates(world, "鼓楼区", regionCode="320100")
    assert candidates and {c["region"]["code"] for c in candidates} == {"320106"}


@pytest.mark.parametrize(("uid", "code"), [(None, "UNAUTHENTICATED"), (RESIDENT, "FORBIDDEN")])
def test_geocode__not_an_editor__refused(world: World, uid, code):  # noqa: ANN001
    body = _ask(world, "西湖区", uid=uid)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


@pytest.mark.parametrize("variables", [{"address": ""}, {"address": "路" * 201},
                                       {"address": "西湖区", "regionCode": "999999"}])
def test_geocode__bad_input__bad_user_input(world: World, variables):  # noqa: ANN001
    body = world.gql(GEOCODE, variables, uid=EDITOR)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


def _cached(world: World) -> int:
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(GeocodeCache))


def test_baidu__through_geopy__converted_cached_and_rate_limited(world: World):
    with FakeGeocoder({"文三路 1 号": (*XIHU, "门址"), "文三路 9 号": (*XIHU, "门址")}) as fake:
        config = GeocoderConfig(name="baidu", api_key="test-ak", scheme="http",
                                domain=fake.base_url.split("://")[1], min_delay_seconds=0.3)
        with world.session() as session:
            editor = principal_for(session, EDITOR)
        before = _cached(world)

        started = time.monotonic()
        first = geocode_address(world.services.unit_of_work(), editor, config, "文三路 1 号",
                                "330106")
        again = geocode_address(world.services.unit_of_work(), editor, config, "文三路 1 号",
                                "330106")
        other = geocode_address(world.services.unit_of_work(), editor, config, "文三路 9 号")
        elapsed = time.monotonic() - started

    (candidate,) = first
    assert distance_m(candidate.lat, candidate.lon, *XIHU) < 0.01
    assert (candidate.precision, candidate.provider, candidate.region_code) == (
        "POI", "baidu", "330106")
    assert again == first and len(other) == 1
    # asked twice (the repeat came from the cache), the region put in front of the address,
    # and the second question waited for the rate limit
    assert [params["address"] for _, params in fake.requests] == ["杭州市西湖区文三路 1 号",
                                                                 "文三路 9 号"]
    assert elapsed >= 0.3
    assert _cached(world) == before + 2


def test_baidu__service_refuses__geocoder_unavailable_nothing_cached(world: World):
    with FakeGeocoder({}) as fake:
        config = GeocoderConfig(name="baidu", api_key="wrong", scheme="http",
                                domain=fake.base_url.split("://")[1], min_delay_seconds=0)
        with world.session() as session:
            editor = principal_for(session, EDITOR)
        before = _cached(world)
        with pytest.raises(GeocoderUnavailable) as raised:
            geocode_address(world.services.unit_of_work(), editor, config, "文三路 1 号")
    assert "地址解析服务暂时不可用" in raised.value.message
    assert _cached(world) == before
