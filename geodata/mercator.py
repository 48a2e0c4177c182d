"""Web Mercator grid arithmetic (the slippy-map tiling): a point's position in a grid of n
cells per axis, and back. Pure math; the SQL twin of `position` lives with the map grid."""

from __future__ import annotations

import math

# The Mercator limit is atan(sinh(π)) = 85.05112877980…°; clamping to a value rounded *up*
# (85.05112878) puts polar places in row -1 at high zooms, so clamp a hair (< 1 cm) inside.
MERCATOR_MAX_LAT = 85.0511287


def position(lat: float, lon: float, n: int) -> tuple[float, float]:
    """(x, y) of a WGS-84 point in cells of a grid of n per axis, before flooring."""
    x = (lon + 180.0) / 360.0 * float(n)
    phi = math.radians(max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat)))
    y = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * float(n)
    return x, y


def cell(lat: float, lon: float, n: int) -> tuple[int, int]:
    """The (ix, iy) cell of a point; lon = 180 stays in the last column."""
    x, y = position(lat, lon, n)
    return (n - 1 if x >= n else math.floor(x)), math.floor(y)


def lat_of_row_edge(y: float, n: int) -> float:
    """The latitude of the northern edge of row y."""
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))


def lon_of_column_edge(x: float, n: int) -> float:
    return x / n * 360.0 - 180.0
