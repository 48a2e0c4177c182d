"""Region outlines read from WKB without shapely: their box, and whether they hold a point.

The SQLite serving process tests a region's outline for `regionAt` and reads every outline's
box for its region index. shapely would load numpy and GEOS into every server process (~20 MB
of each, bench/RESULTS.md "Server memory"); these few (multi)polygons need only their rings.
The point test answers as GEOS's does (`shapely.intersects_xy`: the boundary holds the point):
the same ray crossing count, with an exact orientation sign (a float filter, else fractions).
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from fractions import Fraction

__all__ = ["Outline", "wkb_bounds"]

_POINT, _POLYGON, _MULTIPOLYGON, _COLLECTION = 1, 3, 6, 7
_NO_BOUNDS = (math.nan, math.nan, math.nan, math.nan)  # what shapely gives an empty outline
# GEOS's float filter of the orientation sign (CGAlgorithmsDD::orientationIndexFilter).
_SAFE_EPSILON = 1e-15


def _polygons(wkb: bytes) -> list[list[array]]:
    """The polygons of a 2D (Multi)Polygon or collection of them: each a list of rings, each
    ring an array of x, y, x, y, ... (the shell first)."""
    polygons: list[list[array]] = []
    end = _read(memoryview(wkb), 0, polygons)
    if end != len(wkb):
        raise ValueError(f"WKB has {len(wkb) - end} bytes after its geometry")
    return polygons


def _read(wkb: memoryview, at: int, polygons: list[list[array]]) -> int:
    """Reads the geometry at offset `at` into `polygons`; returns the offset after it."""
    order = "<" if wkb[at] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", wkb, at + 1)
    at += 5
    if kind == _POLYGON:
        (rings,) = struct.unpack_from(order + "I", wkb, at)
        at += 4
        polygon = []
        for _ in range(rings):
            (points,) = struct.unpack_from(order + "I", wkb, at)
            at += 4
            coords = array("d")
            coords.frombytes(wkb[at:at + 16 * points])
            if (order == "<") != (sys.byteorder == "little"):
                coords.byteswap()
            polygon.append(coords)
            at += 16 * points
        if polygon:
            polygons.append(polygon)
        return at
    if kind in (_MULTIPOLYGON, _COLLECTION):
        (parts,) = struct.unpack_from(order + "I", wkb, at)
        at += 4
        for _ in range(parts):
            at = _read(wkb, at, polygons)
        return at
    # Z/M variants and other geometry types: a region's outline is a 2D polygon, always
    # (geodata.regions makes them valid polygons, `store_regions` writes them 2D).
    raise ValueError(f"not a 2D polygonal WKB geometry (type {kind})")


def wkb_bounds(wkb: bytes) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a polygonal WKB outline, as `shapely.bounds` gives them
    (NaN for an empty one)."""
    rings = [ring for polygon in _polygons(wkb) for ring in polygon if ring]
    if not rings:
        return _NO_BOUNDS
    return (min(min(ring[0::2]) for ring in rings), min(min(ring[1::2]) for ring in rings),
            max(max(ring[0::2]) for ring in rings), max(max(ring[1::2]) for ring in rings))


class Outline:
    """A parsed polygonal outline (lon/lat axis order, as stored)."""

    __slots__ = ("_polygons",)

    def __init__(self, wkb: bytes) -> None:
        self._polygons = [[_Ring(ring) for ring in polygon] for polygon in _polygons(wkb)]

    def holds(self, x: float, y: float) -> bool:
        """Whether the point lies inside or on the boundary: `shapely.intersects_xy`."""
        for shell, *holes in self._polygons:
            where = _ring_location(shell, x, y)
            if where != _INSIDE:
                if where == _ON:
                    return True
                continue
            for hole in holes:
                in_hole = _ring_location(hole, x, y)
                if in_hole == _ON:
                    return True
                if in_hole == _INSIDE:
                    break
            else:
                return True
        return False


_OUTSIDE, _INSIDE, _ON = 0, 1, 2


class _Ring:
    """A ring's coordinates and, per run of _RUN edges, the run's box: a point test scans only
    the runs whose box meets the ray (a county's ring has hundreds of edges, a province's
    thousands; one to three runs meet it)."""

    __slots__ = ("coords", "south", "north", "east")

    def __init__(self, coords: array) -> None:
        self.coords = coords
        self.south, self.north, self.east = array("d"), array("d"), array("d")
        for first in range(0, len(coords) // 2 - 1, _RUN):
            run = coords[2 * first:2 * (first + _RUN) + 2]  # the run's edges' vertices
            self.south.append(min(run[1::2]))
            self.north.append(max(run[1::2]))
            self.east.append(max(run[0::2]))


_RUN = 32


def _ring_location(ring: _Ring, px: float, py: float) -> int:
    """GEOS's RayCrossingCounter: the crossings of a ray from the point towards +x, each
    vertex and edge through the point reported as the boundary. A run of edges wholly above,
    below or left of the point neither crosses the ray nor holds the point."""
    crossings = 0
    coords = ring.coords
    for k, (south, north, east) in enumerate(zip(ring.south, ring.north, ring.east,
                                                 strict=True)):
        if py < south or py > north or east < px:
            continue
        run = iter(coords[2 * _RUN * k:2 * _RUN * (k + 1) + 2])
        x1 = next(run)
        y1 = next(run)
        for x2, y2 in zip(run, run, strict=True):
            if (y1 > py) != (y2 > py):  # the edge crosses the ray's line
                if x1 >= px or x2 >= px:  # and is not wholly left of the point
                    sign = _orientation(x1, y1, x2, y2, px, py)
                    if sign == 0:
                        return _ON
                    # An upward edge crosses the ray when the point is on its left, downward
                    # right.
                    if (sign > 0) == (y2 > y1):
                        crossings += 1
            elif y2 == py and (x2 == px or (y1 == py and min(x1, x2) <= px <= max(x1, x2))):
                # The point is the vertex (every vertex ends an edge of a closed ring), or on
                # a horizontal edge; an edge that only touches the line elsewhere does not
                # count.
                return _ON
            x1, y1 = x2, y2
    return _INSIDE if crossings % 2 else _OUTSIDE


def _orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """The exact sign of the turn a → b → c: 1 left, -1 right, 0 collinear."""
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    if left > 0.0:
        if right <= 0.0:
            return (det > 0.0) - (det < 0.0)
        total = left + right
    elif left < 0.0:
        if right >= 0.0:
            return (det > 0.0) - (det < 0.0)
        total = -left - right
    else:
        return (det > 0.0) - (det < 0.0)
    bound = _SAFE_EPSILON * total
    if det >= bound or -det >= bound:
        return (det > 0.0) - (det < 0.0)
    # Too close to call in floats: the same determinant in exact fractions of the floats.
    exact = ((Fraction(ax) - Fraction(cx)) * (Fraction(by) - Fraction(cy))
             - (Fraction(ay) - Fraction(cy)) * (Fraction(bx) - Fraction(cx)))
    return (exact > 0) - (exact < 0)
