"""Geodesic distances on the WGS-84 ellipsoid and a bounding box guaranteed to hold a circle."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geographiclib.geodesic import Geodesic

if TYPE_CHECKING:
    import numpy as np
    from pyproj import Geod

__all__ = ["BBox", "bbox_around", "distance_m", "distances_m", "distances_m_list", "wgs84_geod"]

_A = Geodesic.WGS84.a
_E2 = Geodesic.WGS84.f * (2.0 - Geodesic.WGS84.f)
_M_MIN = _A * (1.0 - _E2)  # meridional radius of curvature at the equator, its minimum
_MARGIN_DEG = 1e-9


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box in degrees, edges included.

    west > east means the box crosses the antimeridian (as in GeoJSON); `parts()` splits it.
    """

    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.south <= self.north <= 90.0:
            raise ValueError(f"bad latitude range: south={self.south}, north={self.north}")
        if not (-180.0 <= self.west <= 180.0 and -180.0 <= self.east <= 180.0):
            raise ValueError(f"bad longitude range: west={self.west}, east={self.east}")

    @property
    def crosses_antimeridian(self) -> bool:
        return self.west > self.east

    def parts(self) -> tuple[BBox, ...]:
        """One box, or two that do not cross the antimeridian (for plain range queries)."""
        if not self.crosses_antimeridian:
            return (self,)
        return (
            BBox(self.south, self.west, self.north, 180.0),
            BBox(self.south, -180.0, self.north, self.east),
        )

    def contains(self, lat: float, lon: float) -> bool:
        if not self.south <= lat <= self.north:
            return False
        if self.crosses_antimeridian:
            return lon >= self.west or lon <= self.east
        return self.west <= lon <= self.east


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in metres on WGS-84."""
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"]


def distances_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Geodesic distances in metres from one point to many, vectorized."""
    import numpy as np  # loaded with SqliteStore; PostGIS measures in SQL

    lats_a, lons_a = np.broadcast_arrays(
        np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    )
    if lats_a.size == 0:
        return np.zeros(lats_a.shape)
    # Geod.inv does not broadcast, so the origin is repeated to the same shape.
    lat0 = np.full(lats_a.shape, float(lat))
    lon0 = np.full(lats_a.shape, float(lon))
    _, _, dist = wgs84_geod().inv(lon0, lat0, lons_a, lats_a)
    return np.asarray(dist, dtype=float)


def distances_m_list(lat: float, lon: float, lats: Sequence[float],
                     lons: Sequence[float]) -> list[float]:
    """`distances_m` of lists, without numpy: the same values (pyproj's same C function)."""
    count = len(lats)
    if not count:
        return []
    _, _, dist = wgs84_geod().inv([float(lon)] * count, [float(lat)] * count, lons, lats)
    return dist


@functools.cache
def wgs84_geod() -> Geod:
    """pyproj's ellipsoid, imported on first use: pyproj and PROJ's library (~13 MB) serve only
    the distances of many points, which a caller that measures elsewhere (PostGIS) never
    needs."""
    from pyproj import Geod

    return Geod(ellps="WGS84")


def bbox_around(lat: float, lon: float, radius_m: float) -> BBox:
    """A box holding every point within `radius_m` geodesic metres of (lat, lon).

    Any radius >= 0 is accepted (inf too); the box grows to the whole globe when needed.
    """
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"bad coordinates: lat={lat}, lon={lon}")
    if not radius_m >= 0.0:  # also rejects NaN
        raise ValueError(f"radius must be >= 0, got {radius_m}")

    # Along any curve ds >= M(phi)|dphi| >= M_min|dphi|, so no point within the radius is more
    # than radius/M_min radians of latitude away. Inside that band ds >= N(phi)cos(phi)|dlambda|,
    # and N*cos (the parallel's radius) is smallest at the band edge farthest from the equator,
    # which bounds the longitude change. The margin absorbs float rounding.
    dlat = math.degrees(radius_m / _M_MIN) + _MARGIN_DEG
    south = max(-90.0, lat - dlat)
    north = min(90.0, lat + dlat)
    far_lat = abs(lat) + dlat
    if far_lat >= 90.0:
        return BBox(south, -180.0, north, 180.0)
    sin_far = math.sin(math.radians(far_lat))
    parallel_radius = _A * math.cos(math.radians(far_lat)) / math.sqrt(1.0 - _E2 * sin_far**2)
    dlon = math.degrees(radius_m / parallel_radius) + _MARGIN_DEG
    if dlon >= 180.0:
        return BBox(south, -180.0, north, 180.0)

    west = lon - dlon
    east = lon + dlon
    if west < -180.0:
        west += 360.0
    if east > 180.0:
        east -= 360.0
    return BBox(south, west, north, east)
