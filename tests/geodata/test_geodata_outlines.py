"""geodata.outlines (the SQLite server's outline test without shapely) against shapely."""

from __future__ import annotations

import math
import random

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geodata.outlines import Outline, wkb_bounds
from geodata.regions import RegionRecord


def answers(geometry, points: list[tuple[float, float]]) -> tuple[list[bool], list[bool]]:
    outline = Outline(shapely.to_wkb(geometry))
    return ([outline.holds(x, y) for x, y in points],
            [bool(shapely.intersects_xy(geometry, x, y)) for x, y in points])


def probes(geometry, rng: random.Random, inside: int, edges: int) -> list[tuple[float, float]]:
    """Random points in the box, every kind of point on the boundary (vertices, edge
    midpoints, points a rounding off an edge) and the box's corners."""
    minx, miny, maxx, maxy = shapely.bounds(geometry).tolist()
    points = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(inside)]
    points += [(minx, miny), (maxx, maxy), (minx - 1e-9, miny), (maxx, maxy + 1e-9)]
    coords = shapely.get_coordinates(geometry).tolist()
    for _ in range(edges):
        k = rng.randrange(len(coords) - 1)
        (x1, y1), (x2, y2) = coords[k], coords[k + 1]
        t = rng.random()
        points += [(x1, y1), ((x1 + x2) / 2, (y1 + y2) / 2),
                   (x1 + t * (x2 - x1), y1 + t * (y2 - y1)), (x1, y2), (x2, y1),
                   (math.nextafter(x1, math.inf), y1)]
    return points


def test_holds__every_yrd_region__as_shapely(yrd_regions: list[RegionRecord]) -> None:
    rng = random.Random(20261207)
    for record in yrd_regions:
        mine, geos = answers(record.geometry, probes(record.geometry, rng, 40, 15))
        assert mine == geos, record.code


def test_holds__holes_parts_and_horizontal_edges() -> None:
    # A square with a square hole, and a second part touching it at a corner.
    holed = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    shape = MultiPolygon([holed, Polygon([(4, 4), (6, 4), (6, 6), (4, 6)])])
    points = [(x / 2, y / 2) for x in range(-1, 14) for y in range(-1, 14)]
    points += [(2, 2), (1, 2), (3.5, 0), (0.5, 4), (4, 4), (5, 4), (4, 5), (6.0000001, 5)]
    mine, geos = answers(shape, points)
    assert mine == geos
    assert Outline(shapely.to_wkb(shape)).holds(2, 2) is False  # in the hole
    assert Outline(shapely.to_wkb(shape)).holds(1, 2) is True  # on the hole's edge


def test_holds__points_a_rounding_off_slanted_edges() -> None:
    # Edges whose points are not representable: the float filter cannot decide, fractions do.
    triangle = Polygon([(0.1, 0.1), (120.7, 30.3), (0.3, 60.9)])
    rng = random.Random(7)
    points = []
    for _ in range(300):
        t = rng.random()
        x, y = 0.1 + t * 120.6, 0.1 + t * 30.2
        points += [(x, y), (math.nextafter(x, 0), y), (x, math.nextafter(y, 0)),
                   (math.nextafter(x, 200), y)]
    mine, geos = answers(triangle, points)
    assert mine == geos


def test_wkb_bounds__as_shapely_and_big_endian() -> None:
    shape = MultiPolygon([box(120.1, 30.2, 121.3, 31.4), box(118.0, 32.5, 118.5, 33.0)])
    assert wkb_bounds(shapely.to_wkb(shape)) == tuple(shapely.bounds(shape).tolist())
    big = shapely.to_wkb(shape, byte_order=0)
    assert wkb_bounds(big) == tuple(shapely.bounds(shape).tolist())
    assert Outline(big).holds(120.5, 30.5) and not Outline(big).holds(119.0, 30.5)
    empty = wkb_bounds(shapely.to_wkb(Polygon()))
    assert all(math.isnan(value) for value in empty)
    assert not Outline(shapely.to_wkb(Polygon())).holds(0.0, 0.0)


def test_outline__refuses_what_is_not_a_2d_polygon() -> None:
    with pytest.raises(ValueError, match="type"):
        Outline(shapely.to_wkb(shapely.Point(1, 2)))
    with pytest.raises(ValueError, match="type"):
        Outline(shapely.to_wkb(Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)])))
