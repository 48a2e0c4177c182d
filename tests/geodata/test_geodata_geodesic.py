"""geodata.geodesic against geopy/geographiclib (distances) and Direct problems (bounding boxes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic
from pyproj import Geod

from geodata.geodesic import BBox, bbox_around, distance_m, distances_m, distances_m_list

AZIMUTHS = np.arange(720) * 0.5
LATLON = Geodesic.LATITUDE | Geodesic.LONGITUDE


def random_pairs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    world = np.column_stack(
        [rng.uniform(-90, 90, n), rng.uniform(-180, 180, n)]
        + [rng.uniform(-90, 90, n), rng.uniform(-180, 180, n)]
    )
    # Half of them short hops in the Yangtze River Delta, where the app lives.
    local = np.column_stack(
        [rng.uniform(27, 35, n), rng.uniform(115, 123, n)]
        + [rng.uniform(27, 35, n), rng.uniform(115, 123, n)]
    )
    local[:, 2:] = local[:, :2] + rng.normal(0, 0.05, (n, 2))
    return np.concatenate([world, local])


def circle_points(lat: float, lon: float, radius_m: float) -> list[tuple[float, float]]:
    points = []
    for azi in AZIMUTHS:
        d = Geodesic.WGS84.Direct(lat, lon, float(azi), radius_m, LATLON)
        points.append((d["lat2"], d["lon2"]))
    return points


def test_distance_m__matches_geopy() -> None:
    for lat1, lon1, lat2, lon2 in random_pairs(150, seed=1):
        expected = geodesic((lat1, lon1), (lat2, lon2)).meters
        assert distance_m(lat1, lon1, lat2, lon2) == pytest.approx(expected, abs=1e-6, rel=0)


def test_distances_m__matches_geopy() -> None:
    pairs = random_pairs(150, seed=2)
    for lat, lon in [(31.2304, 121.4737), (-45.0, -170.0), (89.5, 10.0)]:
        got = distances_m(lat, lon, pairs[:, 0], pairs[:, 1])
        for k, (plat, plon) in enumerate(pairs[:, :2]):
            expected = geodesic((lat, lon), (plat, plon)).meters
            assert got[k] == pytest.approx(expected, abs=1e-6, rel=0), (plat, plon)


def test_distances_m_list__the_same_bits_as_distances_m() -> None:
    # The SQLite store ranks with the lists: its distances and order must not change.
    pairs = random_pairs(300, seed=3)
    for lat, lon in [(31.2304, 121.4737), (-45.0, -170.0)]:
        expected = distances_m(lat, lon, pairs[:, 0], pairs[:, 1]).tolist()
        got = distances_m_list(lat, lon, pairs[:, 0].tolist(), pairs[:, 1].tolist())
        assert type(got) is list and got == expected
    assert distances_m_list(31.0, 121.0, [], []) == []


def test_distances_m__keeps_shape_and_handles_empty() -> None:
    lats = np.array([[31.0, 31.1], [31.2, 31.3]])
    lons = np.full((2, 2), 121.0)
    got = distances_m(31.0, 121.0, lats, lons)
    assert got.shape == (2, 2)
    assert got[0, 0] == 0.0
    assert got[1, 1] == pytest.approx(distance_m(31.0, 121.0, 31.3, 121.0), abs=1e-6)
    assert distances_m(31.0, 121.0, np.array([]), np.array([])).shape == (0,)


def bbox_cases() -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(7)
    cases = []
    for k in range(150):
        if k % 3 == 0:
            lat = rng.uniform(-89.9, 89.9)
        elif k % 3 == 1:  # high latitudes, where longitude spans explode
            lat = math.copysign(rng.uniform(80.0, 89.9), rng.uniform(-1, 1))
        else:  # the YRD
            lat = rng.uniform(27.0, 35.0)
        lon = (
            rng.uniform(179.5, 180.0) * (1 if k % 2 else -1)
            if k % 5 == 0
            else rng.uniform(-180, 180)
        )
        radius = 10 ** rng.uniform(0.0, math.log10(50_000.0))  # 1 m .. 50 km
        cases.append((lat, lon, radius))
    for _ in range(25):
        cases.append((rng.uniform(-89.9, 89.9), rng.uniform(-180, 180), rng.uniform(1e6, 2e7)))
    cases += [
        (0.0, 180.0, 5_000.0),
        (0.0, -180.0, 5_000.0),
        (-12.0, 179.999, 50_000.0),
        (89.9, 0.0, 1.0),
        (89.9, 120.0, 50_000.0),
        (-89.9, -60.0, 11_000.0),
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 50_000.0),
        (31.0, 121.0, 20_000_000.0),
    ]
    return cases


def test_bbox_around__contains_geodesic_circle() -> None:
    for lat, lon, radius in bbox_cases():
        box = bbox_around(lat, lon, radius)
        assert box.contains(lat, lon)
        for plat, plon in circle_points(lat, lon, radius):
            assert box.contains(plat, plon), (lat, lon, radius, plat, plon, box)


def test_bbox_around__contains_circle_many_centres_pyproj_oracle() -> None:
    # A wider, vectorized sweep with PROJ's implementation of the same Direct problem.
    geod = Geod(ellps="WGS84")
    rng = np.random.default_rng(11)
    n = 1500
    lats = np.concatenate([rng.uniform(-89.9, 89.9, n), rng.uniform(27, 35, n)])
    lons = rng.uniform(-180, 180, 2 * n)
    radii = 10 ** rng.uniform(0.0, math.log10(50_000.0), 2 * n)
    azi = np.tile(AZIMUTHS, 2 * n)
    c_lat = np.repeat(lats, AZIMUTHS.size)
    c_lon = np.repeat(lons, AZIMUTHS.size)
    p_lon, p_lat, _ = geod.fwd(c_lon, c_lat, azi, np.repeat(radii, AZIMUTHS.size))
    p_lat = p_lat.reshape(2 * n, AZIMUTHS.size)
    p_lon = p_lon.reshape(2 * n, AZIMUTHS.size)
    for k in range(2 * n):
        box = bbox_around(lats[k], lons[k], radii[k])
        lat_ok = (p_lat[k] >= box.south) & (p_lat[k] <= box.north)
        if box.crosses_antimeridian:
            lon_ok = (p_lon[k] >= box.west) | (p_lon[k] <= box.east)
        else:
            lon_ok = (p_lon[k] >= box.west) & (p_lon[k] <= box.east)
        assert (lat_ok & lon_ok).all(), (lats[k], lons[k], radii[k], box)


@pytest.mark.parametrize("lat", [27.0, 31.0, 35.0])
@pytest.mark.parametrize("radius", [100.0, 3_000.0, 50_000.0])
def test_bbox_around__is_tight_in_the_yrd(lat: float, radius: float) -> None:
    box = bbox_around(lat, 121.0, radius)
    points = circle_points(lat, 121.0, radius)
    true_height = max(p[0] for p in points) - min(p[0] for p in points)
    true_width = max(p[1] for p in points) - min(p[1] for p in points)
    assert true_height <= box.north - box.south <= 1.01 * true_height
    assert true_width <= box.east - box.west <= 1.01 * true_width


def test_bbox_around__full_longitude_when_pole_or_half_globe_is_reached() -> None:
    polar = bbox_around(89.9, 10.0, 20_000.0)
    m_min = 6378137.0 * (1 - 0.0066943799901413165)  # meridional radius at the equator
    assert polar.south == pytest.approx(89.9 - math.degrees(20_000.0 / m_min), abs=1e-8)
    assert (polar.west, polar.north, polar.east) == (-180.0, 90.0, 180.0)
    assert bbox_around(31.0, 121.0, 20_000_000.0) == BBox(-90.0, -180.0, 90.0, 180.0)
    assert bbox_around(31.0, 121.0, math.inf) == BBox(-90.0, -180.0, 90.0, 180.0)
    # Not reaching the pole, but more than half the globe around at 80 degrees.
    wide = bbox_around(80.0, 0.0, 1_000_000.0)
    assert (wide.west, wide.east) == (-180.0, 180.0) and wide.north < 90.0


def test_bbox_around__antimeridian_box_wraps() -> None:
    box = bbox_around(0.0, 179.99, 10_000.0)
    assert box.crosses_antimeridian
    assert box.contains(0.0, 179.999) and box.contains(0.0, -179.99)
    assert not box.contains(0.0, 0.0) and not box.contains(0.0, 179.5)
    east_part, west_part = box.parts()
    assert (east_part.west, east_part.east) == (box.west, 180.0)
    assert (west_part.west, west_part.east) == (-180.0, box.east)
    assert bbox_around(31.0, 121.0, 1_000.0).parts() == (bbox_around(31.0, 121.0, 1_000.0),)


def test_bbox_around__zero_radius_is_a_point_box() -> None:
    box = bbox_around(31.0, 121.0, 0.0)
    assert box.contains(31.0, 121.0)
    assert box.north - box.south < 1e-8 and box.east - box.west < 1e-8


@pytest.mark.parametrize(
    ("lat", "lon", "radius"),
    [
        (31.0, 121.0, -1.0),
        (31.0, 121.0, math.nan),
        (91.0, 121.0, 1.0),
        (31.0, 180.5, 1.0),
        (math.nan, 121.0, 1.0),
        (31.0, math.nan, 1.0),
    ],
)
def test_bbox_around__bad_input_raises(lat: float, lon: float, radius: float) -> None:
    with pytest.raises(ValueError):
        bbox_around(lat, lon, radius)


def test_bbox__rejects_inverted_or_out_of_range_edges() -> None:
    with pytest.raises(ValueError):
        BBox(32.0, 120.0, 31.0, 121.0)
    with pytest.raises(ValueError):
        BBox(31.0, 120.0, 91.0, 121.0)
    with pytest.raises(ValueError):
        BBox(31.0, -181.0, 32.0, 121.0)


def test_bbox__contains_includes_edges() -> None:
    box = BBox(30.0, 120.0, 31.0, 121.0)
    assert box.contains(30.0, 120.0) and box.contains(31.0, 121.0) and box.contains(30.5, 120.5)
    assert not box.contains(31.000001, 120.5) and not box.contains(30.5, 119.999999)
