"""geodata.crs against published vectors and round trips measured in metres by geopy."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from geopy.distance import geodesic

from geodata import crs
from geodata.crs import CRS

CONVERTERS: dict[tuple[CRS, CRS], Callable] = {
    (CRS.WGS84, CRS.GCJ02): crs.wgs84_to_gcj02,
    (CRS.GCJ02, CRS.WGS84): crs.gcj02_to_wgs84,
    (CRS.GCJ02, CRS.BD09): crs.gcj02_to_bd09,
    (CRS.BD09, CRS.GCJ02): crs.bd09_to_gcj02,
    (CRS.WGS84, CRS.BD09): crs.wgs84_to_bd09,
    (CRS.BD09, CRS.WGS84): crs.bd09_to_wgs84,
}
# Closed-form directions: their published output is exact, so the inverse must recover the input
# to 1 cm. The other directions' published outputs come from one-step approximations.
CLOSED_FORM = {(CRS.WGS84, CRS.GCJ02), (CRS.GCJ02, CRS.BD09), (CRS.WGS84, CRS.BD09)}

ONE_CM = 0.01


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geodesic(a, b).meters


def china_grid() -> tuple[np.ndarray, np.ndarray]:
    """A 1-degree grid over China plus seeded random points."""
    lat, lon = np.meshgrid(np.arange(18.0, 53.01, 1.0), np.arange(74.0, 135.01, 1.0))
    rng = np.random.default_rng(20240531)
    rand_lat = rng.uniform(18.0, 53.0, 300)
    rand_lon = rng.uniform(74.0, 135.0, 300)
    return np.concatenate([lat.ravel(), rand_lat]), np.concatenate([lon.ravel(), rand_lon])


def test_crs__published_vectors(crs_vectors: list[dict[str, str]]) -> None:
    for row in crs_vectors:
        pair = (CRS(row["from"]), CRS(row["to"]))
        forward, inverse = CONVERTERS[pair], CONVERTERS[pair[::-1]]
        src = (float(row["in_lat"]), float(row["in_lon"]))
        expected = (float(row["out_lat"]), float(row["out_lon"]))
        tol = float(row["tolerance_deg"])
        label = f"{row['source']} {row['from']}->{row['to']} {src}"

        got = forward(*src)
        assert got == pytest.approx(expected, abs=tol, rel=0), label
        assert inverse(*expected) == pytest.approx(src, abs=tol, rel=0), label
        assert metres(inverse(*got), src) < ONE_CM, label
        if pair in CLOSED_FORM:
            assert metres(inverse(*expected), src) < ONE_CM, label


@pytest.mark.parametrize("other", [CRS.GCJ02, CRS.BD09])
def test_crs__round_trips_over_china_under_one_cm(other: CRS) -> None:
    lat, lon = china_grid()

    # WGS-84 -> other -> WGS-84
    o_lat, o_lon = crs.from_wgs84(lat, lon, other)
    w_lat, w_lon = crs.to_wgs84(o_lat, o_lon, other)
    # other -> WGS-84 -> other (the grid read as `other` coordinates)
    i_lat, i_lon = crs.to_wgs84(lat, lon, other)
    b_lat, b_lon = crs.from_wgs84(i_lat, i_lon, other)

    for k in range(lat.size):
        p = (lat[k], lon[k])
        shift = metres(p, (o_lat[k], o_lon[k]))
        assert 1.0 < shift < 2_000.0, f"{p}: implausible {other} shift {shift} m"
        assert metres(p, (w_lat[k], w_lon[k])) < ONE_CM, p
        assert metres(p, (b_lat[k], b_lon[k])) < ONE_CM, p


def test_crs__gcj_inverse_is_iterated_to_1e9_degrees() -> None:
    lat, lon = china_grid()
    w_lat, w_lon = crs.gcj02_to_wgs84(lat, lon)
    g_lat, g_lon = crs.wgs84_to_gcj02(w_lat, w_lon)
    assert np.abs(g_lat - lat).max() < 1e-9
    assert np.abs(g_lon - lon).max() < 1e-9


def test_crs__bd_inverse_is_iterated_to_1e9_degrees() -> None:
    lat, lon = china_grid()
    g_lat, g_lon = crs.bd09_to_gcj02(lat, lon)
    b_lat, b_lon = crs.gcj02_to_bd09(g_lat, g_lon)
    assert np.abs(b_lat - lat).max() < 1e-9
    assert np.abs(b_lon - lon).max() < 1e-9


@pytest.mark.parametrize("func", list(CONVERTERS.values()), ids=lambda f: f.__name__)
def test_crs__scalar_and_array_paths_agree_exactly(func: Callable) -> None:
    lat, lon = china_grid()
    lat, lon = lat[::7], lon[::7]
    a_lat, a_lon = func(lat, lon)
    assert isinstance(a_lat, np.ndarray) and a_lat.shape == lat.shape
    for k in range(lat.size):
        s_lat, s_lon = func(float(lat[k]), float(lon[k]))
        assert type(s_lat) is float and type(s_lon) is float
        assert (s_lat, s_lon) == (a_lat[k], a_lon[k]), (lat[k], lon[k])


def test_crs__array_shape_is_kept() -> None:
    lat = np.full((3, 4), 31.2)
    lon = np.full((3, 4), 121.5)
    for func in CONVERTERS.values():
        out_lat, out_lon = func(lat, lon)
        assert out_lat.shape == (3, 4) and out_lon.shape == (3, 4)


OUTSIDE = [(48.8566, 2.3522), (-33.8688, 151.2093), (0.0, 0.0), (40.7128, -74.006), (35.68, 139.77)]


@pytest.mark.parametrize("point", OUTSIDE)
def test_crs__points_outside_china_are_unchanged(point: tuple[float, float]) -> None:
    assert crs.out_of_china(*point)
    for func in CONVERTERS.values():
        assert func(*point) == point, func.__name__
    for target in CRS:
        assert crs.to_wgs84(*point, target) == point
        assert crs.from_wgs84(*point, target) == point


def test_crs__mixed_array_shifts_only_points_in_china() -> None:
    lat = np.array([48.8566, 31.2304, 0.0, 30.2741])
    lon = np.array([2.3522, 121.4737, 0.0, 120.1551])
    for func in CONVERTERS.values():
        out_lat, out_lon = func(lat, lon)
        moved = (out_lat != lat) | (out_lon != lon)
        assert moved.tolist() == [False, True, False, True], func.__name__


def test_crs__out_of_china_box() -> None:
    assert not crs.out_of_china(31.23, 121.47)
    assert crs.out_of_china(31.23, 72.0)
    assert crs.out_of_china(31.23, 137.84)
    assert crs.out_of_china(0.8, 121.47)
    assert crs.out_of_china(55.83, 121.47)
    mask = crs.out_of_china(np.array([31.23, 31.23]), np.array([121.47, 140.0]))
    assert mask.tolist() == [False, True]


def test_crs__to_and_from_wgs84_dispatch_on_crs() -> None:
    p = (30.2741, 120.1551)
    assert crs.to_wgs84(*p, CRS.WGS84) == p
    assert crs.from_wgs84(*p, CRS.WGS84) == p
    assert crs.to_wgs84(*p, CRS.GCJ02) == crs.gcj02_to_wgs84(*p)
    assert crs.to_wgs84(*p, CRS.BD09) == crs.bd09_to_wgs84(*p)
    assert crs.from_wgs84(*p, CRS.GCJ02) == crs.wgs84_to_gcj02(*p)
    assert crs.from_wgs84(*p, "BD09") == crs.wgs84_to_bd09(*p)
    with pytest.raises(ValueError):
        crs.to_wgs84(*p, "EPSG:4326")


def test_crs__nan_propagates_without_hanging() -> None:
    for func in CONVERTERS.values():
        out = func(math.nan, 121.0)
        assert math.isnan(out[0]), func.__name__
