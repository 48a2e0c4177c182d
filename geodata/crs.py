"""Conversions between WGS-84, GCJ-02 (Amap/Tencent) and BD-09 (Baidu).

Every function takes floats (and returns floats) or numpy arrays of one shape (and returns
arrays); the array path is vectorized. Points outside the rough China box are never shifted.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

# numpy is imported by the functions that use it: the serving process of PostgreSQL names a
# CRS (search arguments) but converts only when a client sends a GCJ-02 or BD-09 box.
if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


class CRS(StrEnum):
    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


Coord = TypeVar("Coord", float, "np.ndarray")

# Parameters of the published GCJ-02 algorithm (Krasovsky 1940 ellipsoid).
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# Inverses are iterated until the forward image is this close to the input (1e-11 deg ~ 1 um);
# the contract is < 1e-9 deg, the margin absorbs float noise.
_INVERSE_TOL_DEG = 1e-11
_MAX_ITERATIONS = 30


def _as_arrays(lat: Coord, lon: Coord) -> tuple[np.ndarray, np.ndarray, bool]:
    import numpy as np

    lat_a, lon_a = np.broadcast_arrays(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))
    return lat_a, lon_a, lat_a.ndim == 0


def _result(lat: np.ndarray, lon: np.ndarray, scalar: bool) -> tuple:
    if scalar:
        return float(lat), float(lon)
    return lat, lon


def _out_of_china(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def out_of_china(lat: Coord, lon: Coord) -> bool | np.ndarray:
    """True where the point lies outside the rough box in which GCJ-02 shifts anything."""
    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    outside = _out_of_china(lat_a, lon_a)
    return bool(outside) if scalar else outside


def _gcj_delta(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlat, dlon) in degrees at a WGS-84 point, ignoring the China box."""
    import numpy as np

    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlat, dlon


def _wgs_to_gcj(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat, dlon = _gcj_delta(lat, lon)
    return lat + dlat, lon + dlon


def _gcj_to_bd(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.sin(theta) + 0.006, z * np.cos(theta) + 0.0065


def _bd_to_gcj_one_step(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.sin(theta), z * np.cos(theta)


def _iterate_inverse(forward, lat, lon, guess_lat, guess_lon) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point refinement of an inverse; converges fast as the shifts vary slowly."""
    import numpy as np

    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(guess_lat, guess_lon)
        err_lat = f_lat - lat
        err_lon = f_lon - lon
        # Converged points stay frozen, so a point's result does not depend on its neighbours
        # in the array. NaN compares False, so NaN inputs do not keep the loop going.
        active = (np.abs(err_lat) > _INVERSE_TOL_DEG) | (np.abs(err_lon) > _INVERSE_TOL_DEG)
        if not active.any():
            break
        guess_lat = np.where(active, guess_lat - err_lat, guess_lat)
        guess_lon = np.where(active, guess_lon - err_lon, guess_lon)
    return guess_lat, guess_lon


def wgs84_to_gcj02(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    import numpy as np

    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    g_lat, g_lon = _wgs_to_gcj(lat_a, lon_a)
    outside = _out_of_china(lat_a, lon_a)
    return _result(np.where(outside, lat_a, g_lat), np.where(outside, lon_a, g_lon), scalar)


def gcj02_to_wgs84(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    """Iterated inverse: the one-step approximation is off by up to ~5 m."""
    import numpy as np

    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    dlat, dlon = _gcj_delta(lat_a, lon_a)
    w_lat, w_lon = _iterate_inverse(_wgs_to_gcj, lat_a, lon_a, lat_a - dlat, lon_a - dlon)
    outside = _out_of_china(lat_a, lon_a)
    return _result(np.where(outside, lat_a, w_lat), np.where(outside, lon_a, w_lon), scalar)


def gcj02_to_bd09(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    import numpy as np

    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    b_lat, b_lon = _gcj_to_bd(lat_a, lon_a)
    outside = _out_of_china(lat_a, lon_a)
    return _result(np.where(outside, lat_a, b_lat), np.where(outside, lon_a, b_lon), scalar)


def bd09_to_gcj02(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    """The published one-step formula, refined by iteration: alone it is off by up to ~0.2 m."""
    import numpy as np

    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    guess_lat, guess_lon = _bd_to_gcj_one_step(lat_a, lon_a)
    g_lat, g_lon = _iterate_inverse(_gcj_to_bd, lat_a, lon_a, guess_lat, guess_lon)
    outside = _out_of_china(lat_a, lon_a)
    return _result(np.where(outside, lat_a, g_lat), np.where(outside, lon_a, g_lon), scalar)


def wgs84_to_bd09(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(lat: Coord, lon: Coord, crs: CRS | str) -> tuple[Coord, Coord]:
    """Convert a point given in `crs` to WGS-84."""
    crs = CRS(crs)
    if crs is CRS.GCJ02:
        return gcj02_to_wgs84(lat, lon)
    if crs is CRS.BD09:
        return bd09_to_wgs84(lat, lon)
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)  # as below, without numpy (every WGS-84 search point)
    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    return _result(lat_a.copy(), lon_a.copy(), scalar)


def from_wgs84(lat: Coord, lon: Coord, crs: CRS | str) -> tuple[Coord, Coord]:
    """Convert a WGS-84 point to `crs`."""
    crs = CRS(crs)
    if crs is CRS.GCJ02:
        return wgs84_to_gcj02(lat, lon)
    if crs is CRS.BD09:
        return wgs84_to_bd09(lat, lon)
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)
    lat_a, lon_a, scalar = _as_arrays(lat, lon)
    return _result(lat_a.copy(), lon_a.copy(), scalar)
