"""mapClusters over HTTP against a brute-force clustering in Python, on both stores.

The oracle takes every stored place, decides the bbox in the box's own datum, puts each place in
its grid cell by the formula of the contract (64-px cells on 256-px Web Mercator tiles,
4·2^zoom per axis) and averages in Python; the grid itself is checked against the inverse
Mercator projection.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

import pytest
from sqlalchemy import event, select

from backend.db import session_scope
from backend.places.clusters import Snapped, grid_boxes, grid_levels
from backend.places.grid import rebuild_place_grid, register_math_functions
from backend.places.importing import upsert_places
from backend.places.models import Place, PlaceGridState
from backend.places.records import PlaceKind, PlaceRecord
from geodata.crs import CRS, from_wgs84, to_wgs84
from tests.helpers import error_codes, gql, gql_data, operation, uow_of

CLUSTERS_QUERY = operation("MapClusters")
KINDS = [kind.value for kind in PlaceKind]
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_CELLS = 10_000
MERCATOR_LIMIT = 85.0511287  # a hair inside atan(sinh(π)), so every place has a row
YRD_CENTRES = [(31.23, 121.47), (30.27, 120.15), (32.06, 118.79), (31.82, 117.23), (30.0, 118.2)]
PEOPLES_SQUARE = (31.2304, 121.4737)


@dataclass(frozen=True)
class Stored:
    id: int
    kind: str
    lat: float
    lon: float


# ---------------------------------------------------------------------------------------------
# the oracle


def cells_per_axis(zoom: int) -> int:
    return 4 * 2**zoom


def oracle_cell(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """(ix, iy) as the contract defines them; lon = 180 stays in the last column."""
    n = cells_per_axis(zoom)
    phi = math.radians(max(-MERCATOR_LIMIT, min(MERCATOR_LIMIT, lat)))
    ix = math.floor((lon + 180.0) / 360.0 * n)
    iy = math.floor((1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n)
    return min(ix, n - 1), iy


def cell_bounds(ix: int, iy: int, zoom: int) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a cell by the inverse projection, independent of the
    forward formula above."""
    n = cells_per_axis(zoom)

    def lat_at(y: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))

    return lat_at(iy + 1), ix / n * 360.0 - 180.0, lat_at(iy), (ix + 1) / n * 360.0 - 180.0


def in_box(place: Stored, box: dict) -> bool:
    lat, lon = from_wgs84(place.lat, place.lon, CRS(box["crs"]))
    return box["south"] <= lat <= box["north"] and box["west"] <= lon <= box["east"]


def view_cells(box: dict, zoom: int) -> int:
    """How many grid cells the WGS-84 envelope of the box's corners spans."""
    corners = [to_wgs84(lat, lon, CRS(box["crs"])) for lat in (box["south"], box["north"])
               for lon in (box["west"], box["east"])]
    lats, lons = [c[0] for c in corners], [c[1] for c in corners]
    west, north = oracle_cell(max(lats), min(lons), zoom)
    east, south = oracle_cell(min(lats), max(lons), zoom)
    return (east - west + 1) * (south - north + 1)


def in_crs(lat: float, lon: float, crs: str) -> dict:
    lat, lon = from_wgs84(lat, lon, CRS(crs))
    return {"lat": lat, "lon": lon}


def box_in_crs(south: float, west: float, north: float, east: float, crs: str) -> dict:
    corners = [from_wgs84(lat, lon, CRS(crs)) for lat in (south, north) for lon in (west, east)]
    lats, lons = [c[0] for c in corners], [c[1] for c in corners]
    return {"south": min(lats), "west": min(lons), "north": max(lats), "east": max(lons)}


def brute_force(places: list[Stored], box: dict, zoom: int, kinds: list[str] | None,
                crs: str) -> list[dict]:
    """The expected answer, ordered by (iy, ix)."""
    members: dict[tuple[int, int], list[Stored]] = defaultdict(list)
    for place in places:
        if in_box(place, box) and (kinds is None or place.kind in kinds):
            members[oracle_cell(place.lat, place.lon, zoom)].append(place)
    expected = []
    for key in sorted(members, key=lambda key: (key[1], key[0])):
        group = members[key]
        lats, lons = [p.lat for p in group], [p.lon for p in group]
        expected.append({
            "cell": key,
            "count": len(group),
            "center": in_crs(sum(lats) / len(group), sum(lons) / len(group), crs),
            "bbox": box_in_crs(min(lats), min(lons), max(lats), max(lons), crs),
            "placeId": str(group[0].id) if len(group) == 1 else None,
        })
    return expected


def assert_same_clusters(got: list[dict], expected: list[dict], context) -> None:
    assert [c["count"] for c in got] == [c["count"] for c in expected], context
    for cluster, want in zip(got, expected, strict=True):
        assert cluster["placeId"] == want["placeId"], context
        assert cluster["center"] == pytest.approx(want["center"], abs=1e-9), context
        assert cluster["bbox"] == pytest.approx(want["bbox"], abs=1e-9), context


def clusters(client, box: dict, zoom: int, kinds: list[str] | None = None,
             crs: str = "WGS84") -> list[dict]:
    variables = {"bbox": box, "zoom": zoom, "kinds": kinds, "crs": crs}
    return gql_data(client, CLUSTERS_QUERY, variables)["mapClusters"]


# ---------------------------------------------------------------------------------------------
# data


def record(n: int, lat: float, lon: float, kind: str = "CLINIC") -> PlaceRecord:
    return PlaceRecord(kind=PlaceKind(kind), name=f"聚合测试{n}", lat=lat, lon=lon,
                       source="test", external_id=f"cluster-{n}")


def random_places(rng: random.Random) -> list[PlaceRecord]:
    points: list[tuple[float, float]] = []
    for _ in range(900):  # five YRD cities, about 15 km around each centre
        c_lat, c_lon = rng.choice(YRD_CENTRES)
        points.append((c_lat + rng.gauss(0, 0.15), c_lon + rng.gauss(0, 0.15)))
    for _ in range(200):  # a dense square (about 50 m), so high zooms have something to show
        points.append((PEOPLES_SQUARE[0] + rng.gauss(0, 0.0005),
                       PEOPLES_SQUARE[1] + rng.gauss(0, 0.0005)))
    points += [rng.choice(points) for _ in range(40)]  # twins: the same point twice
    for _ in range(40):  # anywhere on Earth
        points.append((rng.uniform(-89.0, 89.0), rng.uniform(-180.0, 180.0)))
    # the world's edges: the antimeridian on both sides, beyond the Mercator limit
    points += [(10.0, 180.0), (-10.0, -180.0), (89.9, 45.0), (-89.5, -120.0), (85.06, 0.0)]
    return [record(n, lat, lon, rng.choice(KINDS)) for n, (lat, lon) in enumerate(points)]


@pytest.fixture(params=["grid", "stale_grid"])
def scratch_app(scratch_app, request):
    """Every test of this module twice: with the cluster grid rebuilt after the places are
    stored, and with it stale (the scan answers)."""
    scratch_app.config["TEST_BUILD_GRID"] = request.param == "grid"
    return scratch_app


def store_places(app, records: list[PlaceRecord]) -> list[Stored]:
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        upsert_places(uow_of(session), records)
        if app.config.get("TEST_BUILD_GRID"):
            rebuild_place_grid(session)
        stored = [Stored(p.id, p.kind, p.lat, p.lon)
                  for p in session.scalars(select(Place).order_by(Place.id))]
    assert grid_is_fresh(app) == bool(app.config.get("TEST_BUILD_GRID"))
    return stored


def grid_is_fresh(app) -> bool:
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        state = session.get(PlaceGridState, 1)
        return state.version == state.built_version


def random_box(rng: random.Random, places: list[Stored], zoom: int) -> dict:
    """A window around a random place, a few to a hundred cells wide, in a random datum."""
    anchor = rng.choice(places)
    crs = rng.choice(["WGS84", "WGS84", "GCJ02", "BD09"])
    lat, lon = from_wgs84(anchor.lat, anchor.lon, CRS(crs))
    cell_deg = 360.0 / cells_per_axis(zoom)
    width = rng.choice([1, 3, 10, 40, 100]) * cell_deg
    height = rng.choice([1, 3, 10, 40, 100]) * cell_deg * max(math.cos(math.radians(lat)), 0.05)
    west = lon - rng.uniform(0.0, width)
    south = lat - rng.uniform(0.0, height)
    return {"south": max(-90.0, south), "west": max(-180.0, west),
            "north": min(90.0, south + height), "east": min(180.0, west + width), "crs": crs}


# ---------------------------------------------------------------------------------------------
# the oracle test


def test_map_clusters__random_windows__equal_brute_force(scratch_app):
    # given: about 1,200 places in five cities, a dense square, twins and the world's edges
    rng = random.Random(20260315)
    places = store_places(scratch_app, random_places(rng))
    client = scratch_app.test_client()
    seen = defaultdict(int)

    for case in range(160):
        # when: a random window, zoom, kinds and datum of the answer
        zoom = case % 21 if case < 105 else rng.randint(0, 20)
        box = random_box(rng, places, zoom)
        kinds = rng.sample(KINDS, rng.randint(1, 2)) if rng.random() < 0.3 else None
        crs = rng.choice(["WGS84", "GCJ02", "BD09"])
        context = (case, zoom, box, kinds, crs)
        if view_cells(box, zoom) > MAX_CELLS:
            body = gql(client, CLUSTERS_QUERY, {"bbox": box, "zoom": zoom, "kinds": kinds})
            assert_bad_user_input(body, "bbox")
            seen["refused"] += 1
            continue
        got = clusters(client, box, zoom, kinds, crs)

        # then: the same cells with the same members
        expected = brute_force(places, box, zoom, kinds, crs)
        assert_same_clusters(got, expected, context)
        in_window = [p for p in places if in_box(p, box) and (kinds is None or p.kind in kinds)]
        assert sum(c["count"] for c in got) == len(in_window), context
        # and the members of a cell lie in that cell, by the inverse projection
        within_mercator = box["south"] >= -MERCATOR_LIMIT and box["north"] <= MERCATOR_LIMIT
        for want in expected:
            if want["count"] > 1 and crs == "WGS84" and within_mercator:
                south, west, north, east = cell_bounds(*want["cell"], zoom)
                box_got = want["bbox"]
                assert south - 1e-9 <= box_got["south"] and box_got["north"] <= north + 1e-9
                assert west - 1e-9 <= box_got["west"] and box_got["east"] <= east + 1e-9
        seen["answered"] += 1
        seen["datum_box"] += box["crs"] != "WGS84"
        seen["singletons"] += sum(c["count"] == 1 for c in got)
        seen["multi"] += sum(c["count"] > 1 for c in got)
        seen["high_zoom_with_places"] += zoom >= 17 and bool(got)
        seen["several_cells"] += len(got) >= 3

    # the cases covered what they should
    assert seen["answered"] >= 120, seen
    assert seen["datum_box"] >= 30 and seen["several_cells"] >= 20, seen
    assert seen["singletons"] >= 50 and seen["multi"] >= 50, seen
    assert seen["high_zoom_with_places"] >= 5, seen


def test_map_clusters__whole_world_at_zoom_0__every_place_once(scratch_app):
    rng = random.Random(7)
    places = store_places(scratch_app, random_places(rng))
    world = {"south": -90.0, "west": -180.0, "north": 90.0, "east": 180.0, "crs": "WGS84"}

    got = clusters(scratch_app.test_client(), world, 0)

    assert sum(c["count"] for c in got) == len(places)
    assert len(got) <= 16
    assert_same_clusters(got, brute_force(places, world, 0, None, "WGS84"), "world")


# ---------------------------------------------------------------------------------------------
# edges of the grid and of the window


@pytest.mark.parametrize("zoom", [0, 5, 13, 20])
def test_map_clusters__point_on_cell_corner__in_exactly_one_cell(scratch_app, zoom):
    # given: a place exactly on (0, 0), a corner of four cells at every zoom, and one place
    # just inside each of the four cells around it
    eps = 1e-7
    places = store_places(scratch_app, [
        record(0, 0.0, 0.0),
        record(1, eps, -eps), record(2, eps, eps), record(3, -eps, -eps), record(4, -eps, eps),
    ])
    corner = places[0]
    box = {"south": -0.001, "west": -0.001, "north": 0.001, "east": 0.001, "crs": "WGS84"}

    # when
    got = clusters(scratch_app.test_client(), box, zoom)

    # then: four cells, NW, NE, SW, SE; the corner place in the south-east one only
    assert [c["count"] for c in got] == [1, 1, 1, 2]
    assert str(corner.id) not in {c["placeId"] for c in got}
    south_east = got[3]
    assert south_east["bbox"] == {"south": -eps, "west": 0.0, "north": 0.0, "east": eps}


def test_map_clusters__point_on_meridian_edge__in_the_cell_to_its_east(scratch_app):
    # given: 123.75° E is a column edge from zoom 3 on (27/32 of the way round); one place on
    # it, one a nanodegree west
    places = store_places(scratch_app, [record(0, 31.0, 123.75), record(1, 31.0, 123.75 - 1e-9)])
    on_edge, west_of_it = places
    box = {"south": 30.99, "west": 123.7, "north": 31.01, "east": 123.8, "crs": "WGS84"}

    for zoom in (3, 8, 16):
        got = clusters(scratch_app.test_client(), box, zoom)

        # then: two singletons, the edge place in the eastern cell (listed second)
        assert [c["placeId"] for c in got] == [str(west_of_it.id), str(on_edge.id)], zoom


def test_map_clusters__place_on_window_edge__included(scratch_app):
    place, = store_places(scratch_app, [record(0, 31.0, 121.0)])
    box = {"south": 31.0, "west": 121.0, "north": 31.1, "east": 121.1, "crs": "WGS84"}

    got = clusters(scratch_app.test_client(), box, 12)

    assert [(c["count"], c["placeId"]) for c in got] == [(1, str(place.id))]


@pytest.mark.parametrize("crs", ["GCJ02", "BD09"])
def test_map_clusters__datum_box__decided_exactly_at_its_edges(scratch_app, crs):
    # given: a box in GCJ-02/BD-09 over Shanghai, and places whose coordinates in that datum
    # lie 1e-6° (about 10 cm) inside or outside each edge, plus some well inside
    box = {"south": 31.10, "west": 121.30, "north": 31.35, "east": 121.65, "crs": crs}
    mid_lat, mid_lon = 31.2, 121.5
    targets = []
    for d in (-1e-6, 1e-6):
        targets += [(box["south"] + d, mid_lon), (box["north"] - d, mid_lon),
                    (mid_lat, box["west"] + d), (mid_lat, box["east"] - d)]
    targets += [(31.2 + 0.01 * i, 121.4 + 0.01 * i) for i in range(5)]
    records = []
    for n, (lat, lon) in enumerate(targets):
        w_lat, w_lon = to_wgs84(lat, lon, CRS(crs))
        records.append(record(n, w_lat, w_lon))
    places = store_places(scratch_app, records)
    inside = [p for p in places if in_box(p, box)]
    assert len(inside) == 4 + 5  # the case can tell: half of the edge places are out

    # when: at a zoom with one cell per place, and at one with a few big cells
    for zoom in (13, 9):
        got = clusters(scratch_app.test_client(), box, zoom, crs=crs)

        # then
        assert sum(c["count"] for c in got) == len(inside), zoom
        assert_same_clusters(got, brute_force(places, box, zoom, None, crs), zoom)


def test_map_clusters__kinds__only_those_kinds(scratch_app):
    records = [record(n, 31.2 + 0.001 * n, 121.4, KINDS[n % 3]) for n in range(30)]
    places = store_places(scratch_app, records)
    box = {"south": 31.0, "west": 121.0, "north": 31.5, "east": 121.5, "crs": "WGS84"}

    for kinds in (["CLINIC"], ["SERVICE_HALL", "ELDERLY_CARE"], KINDS):
        got = clusters(scratch_app.test_client(), box, 12, kinds)

        assert sum(c["count"] for c in got) == 10 * len(kinds)
        assert_same_clusters(got, brute_force(places, box, 12, kinds, "WGS84"), kinds)


# ---------------------------------------------------------------------------------------------
# the grid: its edges, and when it is stale


CORNER = (31.0, 121.5)  # near the corner of four cells of zoom 5 and finer


@pytest.mark.parametrize("zoom", [0, 3, 9, 12, 13])
def test_map_clusters__windows_across_cell_and_sub_cell_edges__equal_brute_force(
    scratch_app, zoom
):
    # given: places dense at a corner of cells (and of their 8 × 8 finer cells), some exactly
    # on edges of the finer cells, and some scattered farther away
    rng = random.Random(zoom)
    n_sub = cells_per_axis(zoom + 3)
    edge_x = round((CORNER[1] + 180.0) / 360.0 * n_sub)
    edge_lon = edge_x / n_sub * 360.0 - 180.0
    edge_lat = cell_bounds(0, oracle_cell(*CORNER, zoom + 3)[1], zoom + 3)[2]
    cell_deg = 360.0 / cells_per_axis(zoom)
    points = [(edge_lat + rng.gauss(0, cell_deg), edge_lon + rng.gauss(0, cell_deg))
              for _ in range(300)]
    points += [(edge_lat, edge_lon + rng.uniform(-2, 2) * cell_deg) for _ in range(20)]
    points += [(edge_lat + rng.uniform(-2, 2) * cell_deg, edge_lon) for _ in range(20)]
    points = [(max(-89.0, min(89.0, lat)), max(-180.0, min(180.0, lon))) for lat, lon in points]
    places = store_places(scratch_app, [record(n, lat, lon, rng.choice(KINDS))
                                        for n, (lat, lon) in enumerate(points)])
    client = scratch_app.test_client()

    # when: windows from a fraction of a finer cell to 40 cells wide, edges on or beside the
    # grid's edges, in each datum
    for case in range(40):
        width = rng.choice([0.05, 0.2, 1, 3, 12, 40]) * cell_deg
        height = width * rng.uniform(0.5, 1.5)
        west = edge_lon - rng.choice([0.0, 0.5, rng.random()]) * width
        south = edge_lat - rng.choice([0.0, 0.5, rng.random()]) * height
        crs = rng.choice(["WGS84", "GCJ02", "BD09"])
        box = {"south": max(-90.0, south), "west": max(-180.0, west),
               "north": min(90.0, south + height), "east": min(180.0, west + width), "crs": crs}
        if crs != "WGS84":
            box["south"], box["west"] = from_wgs84(box["south"], box["west"], CRS(crs))
            box["north"], box["east"] = from_wgs84(box["north"], box["east"], CRS(crs))
        kinds = rng.sample(KINDS, 2) if case % 4 == 0 else None
        if view_cells(box, zoom) > MAX_CELLS:
            continue
        got = clusters(client, box, zoom, kinds)

        # then
        assert_same_clusters(got, brute_force(places, box, zoom, kinds, "WGS84"),
                             (case, zoom, box, kinds))


def test_grid_boxes__snapped_region_tiled_by_the_coarsest_cells_that_fit():
    # given: snapped regions (in cells of the finest level) of every shape, from one finest
    # cell to several whole cells of the window's zoom, aligned and not, for each ladder
    rng = random.Random(11)
    for case in range(600):
        zoom = rng.choice([0, 5, 8, 9, 10, 11, 12])
        levels = grid_levels(zoom)
        finest = levels[-1]
        scale = 2 ** (finest - zoom)
        x0, y0 = rng.randrange(0, 4 * scale), rng.randrange(0, 4 * scale)
        sizes = [1, 2, 7, 8, 9, scale - 1, scale, scale + 1, 2 * scale + 3]
        width = rng.choice([*sizes, rng.randrange(1, 5 * scale)])
        height = rng.choice([*sizes, rng.randrange(1, 5 * scale)])
        snapped = Snapped(x0, x0 + max(width, 1) - 1, y0, y0 + max(height, 1) - 1)

        # when
        boxes = grid_boxes(snapped, levels)

        # then: the boxes, seen at the finest level, lie in the region, do not overlap and
        # cover its area: each finest cell is read once, by exactly one box
        spans = [(bx0 * 2 ** (finest - level), (bx1 + 1) * 2 ** (finest - level) - 1,
                  by0 * 2 ** (finest - level), (by1 + 1) * 2 ** (finest - level) - 1)
                 for level, bx0, bx1, by0, by1 in boxes]
        for fx0, fx1, fy0, fy1 in spans:
            assert snapped.x0 <= fx0 <= fx1 <= snapped.x1, (case, snapped, boxes)
            assert snapped.y0 <= fy0 <= fy1 <= snapped.y1, (case, snapped, boxes)
        for i, p in enumerate(spans):
            for q in spans[i + 1:]:
                assert p[1] < q[0] or q[1] < p[0] or p[3] < q[2] or q[3] < p[2], (case, boxes)
        area = sum((fx1 - fx0 + 1) * (fy1 - fy0 + 1) for fx0, fx1, fy0, fy1 in spans)
        assert area == (snapped.x1 - snapped.x0 + 1) * (snapped.y1 - snapped.y0 + 1), case

        # and no cell is read at a finer level when a coarser cell holding it fits whole
        for level, bx0, bx1, by0, by1 in boxes:
            for coarser in (lv for lv in levels if lv < level):
                k = 2 ** (level - coarser)
                for px in range(bx0 // k, bx1 // k + 1):
                    for py in range(by0 // k, by1 // k + 1):
                        f = 2 ** (finest - coarser)
                        fits = (snapped.x0 <= px * f and (px + 1) * f - 1 <= snapped.x1
                                and snapped.y0 <= py * f and (py + 1) * f - 1 <= snapped.y1)
                        assert not fits, (case, snapped, level, coarser, px, py)


@pytest.mark.parametrize("zoom", [8, 10, 12])
def test_map_clusters__window_edges_on_and_beside_the_finest_cells__equal_brute_force(
    scratch_app, zoom
):
    # given: places on the column edges of the finest grid level (and of the coarser ones,
    # which are edges of it too), beside its row edges and corners, and scattered between,
    # around a corner of cells of the window's zoom
    rng = random.Random(100 + zoom)
    finest = grid_levels(zoom)[-1]
    n = cells_per_axis(finest)
    scale = 2 ** (finest - zoom)
    x_edge, y_edge = (v // scale * scale for v in oracle_cell(*CORNER, finest))

    def lon_at(x: float) -> float:
        return x / n * 360.0 - 180.0

    def lat_at(y: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))

    def beside_row(y: int) -> float:
        # A hair (1e-9°) north or south of a row edge: exactly on one, the last bit of the
        # store's ln/tan/cos may differ from Python's and put the place in the other row (the
        # grid and the scan share the store's arithmetic; the oracle cannot). Column edges
        # are exact arithmetic everywhere.
        return lat_at(y) + rng.choice([-1e-9, 1e-9])

    span = 4 * scale  # four cells of the window's zoom each way
    points = []
    for _ in range(300):  # on a column edge
        points.append((lat_at(y_edge + rng.uniform(-span, span)),
                       lon_at(x_edge + rng.randint(-span, span))))
    for _ in range(300):  # beside a row edge
        points.append((beside_row(y_edge + rng.randint(-span, span)),
                       lon_at(x_edge + rng.uniform(-span, span))))
    for _ in range(100):  # on a column edge, beside a corner
        points.append((beside_row(y_edge + rng.randint(-span, span)),
                       lon_at(x_edge + rng.randint(-span, span))))
    for _ in range(300):  # anywhere around
        points.append((lat_at(y_edge + rng.uniform(-span, span)),
                       lon_at(x_edge + rng.uniform(-span, span))))
    places = store_places(scratch_app, [record(n_, lat, lon, rng.choice(KINDS))
                                        for n_, (lat, lon) in enumerate(points)])
    client = scratch_app.test_client()

    def offset() -> float:
        # on a finest edge, a hair beside it either way, or anywhere in the cell
        return rng.choice([0.0, 0.0, 1e-9, -1e-9, rng.random()])

    # when: windows whose edges are on, or beside, edges of the finest cells, from a few finest
    # cells to several cells of the window's zoom wide
    answered = with_places = 0
    for case in range(30):
        x0 = x_edge + rng.randint(-span, span // 2)
        y0 = y_edge + rng.randint(-span, span // 2)
        width = rng.choice([1, 3, scale - 1, scale + 1, 2 * scale, rng.randint(1, 3 * scale)])
        height = rng.choice([1, 5, scale, 2 * scale + 1, rng.randint(1, 3 * scale)])
        west, east = lon_at(x0 + offset()), lon_at(x0 + width + offset())
        north, south = lat_at(y0 + offset()), lat_at(y0 + height + offset())
        if west >= east or south >= north:
            continue
        box = {"south": south, "west": west, "north": north, "east": east, "crs": "WGS84"}
        if case % 5 == 0:  # exactly on edges: no hair, the window's edges are the grid's
            box = {"south": lat_at(y0 + height), "west": lon_at(x0), "north": lat_at(y0),
                   "east": lon_at(x0 + width), "crs": "WGS84"}
        kinds = rng.sample(KINDS, 2) if case % 3 == 0 else None
        got = clusters(client, box, zoom, kinds)

        # then
        expected = brute_force(places, box, zoom, kinds, "WGS84")
        assert_same_clusters(got, expected, (case, zoom, box, kinds))
        answered += 1
        with_places += bool(got)

    # the cases covered what they should
    assert answered >= 25 and with_places >= 12, (answered, with_places)


def test_map_clusters__place_written_after_rebuild__grid_stale_until_rebuilt(scratch_app):
    # given: places and a fresh grid
    factory = scratch_app.extensions["servicemap"].session_factory
    records = [record(n, 31.2 + 0.003 * n, 121.4 + 0.002 * n) for n in range(50)]
    with session_scope(factory) as session:
        upsert_places(uow_of(session), records)
        rebuild_place_grid(session)
    assert grid_is_fresh(scratch_app)
    box = {"south": 31.0, "west": 121.0, "north": 31.5, "east": 121.6, "crs": "WGS84"}
    client = scratch_app.test_client()
    assert sum(c["count"] for c in clusters(client, box, 9)) == 50

    # when: one more place, then one moved out of the window
    with session_scope(factory) as session:
        upsert_places(uow_of(session), [record(50, 31.3, 121.5)])
    # then: the grid is stale and the answer still exact
    assert not grid_is_fresh(scratch_app)
    places = stored_places(scratch_app)
    assert_same_clusters(clusters(client, box, 9), brute_force(places, box, 9, None, "WGS84"),
                         "added")

    with session_scope(factory) as session:
        rebuild_place_grid(session)
    assert grid_is_fresh(scratch_app)
    with session_scope(factory) as session:
        session.get(Place, places[0].id).lat = 35.0
    assert not grid_is_fresh(scratch_app)
    places = stored_places(scratch_app)
    got = clusters(client, box, 9)
    assert sum(c["count"] for c in got) == 50
    assert_same_clusters(got, brute_force(places, box, 9, None, "WGS84"), "moved")

    # and a rebuild (the CLI's) makes it fresh again, with the same answer
    result = scratch_app.test_cli_runner().invoke(args=["places", "rebuild-grid"])
    assert result.exit_code == 0, result.output
    assert "map grid:" in result.output
    assert grid_is_fresh(scratch_app)
    assert_same_clusters(clusters(client, box, 9), brute_force(places, box, 9, None, "WGS84"),
                         "rebuilt")


def test_map_clusters__other_columns_written__grid_stays_fresh(scratch_app):
    factory = scratch_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        upsert_places(uow_of(session), [record(0, 31.2, 121.4)])
        rebuild_place_grid(session)
    with session_scope(factory) as session:
        session.scalars(select(Place)).one().phone = "021-12345678"

    assert grid_is_fresh(scratch_app)


def stored_places(app) -> list[Stored]:
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        return [Stored(p.id, p.kind, p.lat, p.lon)
                for p in session.scalars(select(Place).order_by(Place.id))]


# ---------------------------------------------------------------------------------------------
# the demo data set


YRD_BOX = {"south": 27.0, "west": 114.8, "north": 35.2, "east": 122.95, "crs": "WGS84"}


def test_map_clusters__demo_data__every_place_in_the_window_counted_once(demo_app, demo_client):
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        places = [Stored(p.id, p.kind, p.lat, p.lon) for p in session.scalars(select(Place))]
    in_window = [p for p in places if in_box(p, YRD_BOX)]
    assert len(in_window) > 4000

    got = clusters(demo_client, YRD_BOX, 6)

    assert sum(c["count"] for c in got) == len(in_window)
    assert_same_clusters(got, brute_force(places, YRD_BOX, 6, None, "WGS84"), "demo")


def test_map_clusters__demo_data__one_statement_whatever_the_number_of_places(
    demo_app, demo_client
):
    # given: a window over all demo places, so a per-place query would show
    engine = demo_app.extensions["servicemap"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    # when
    event.listen(engine, "before_cursor_execute", count)
    try:
        got = clusters(demo_client, YRD_BOX, 8)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    # then: the database did the counting, in one statement
    assert sum(c["count"] for c in got) > 4000 and len(got) > 100
    assert len([s for s in statements if "place" in s.lower()]) == 1, statements


# ---------------------------------------------------------------------------------------------
# bad input


def assert_bad_user_input(body: dict, field: str | None = None) -> None:
    assert body["data"] is None, body
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert CJK.search(body["errors"][0]["message"]), f"message is not Chinese: {body}"
    if field is not None:
        assert body["errors"][0]["extensions"].get("field") == field, body


SHANGHAI_BOX = {"south": 31.1, "west": 121.3, "north": 31.4, "east": 121.6}

BAD_INPUT = {
    "zoom_minus_1": ({"bbox": SHANGHAI_BOX, "zoom": -1}, "zoom"),
    "zoom_21": ({"bbox": SHANGHAI_BOX, "zoom": 21}, "zoom"),
    "zoom_beyond_32_bit": ({"bbox": SHANGHAI_BOX, "zoom": 2**31}, None),
    "zoom_fractional": ({"bbox": SHANGHAI_BOX, "zoom": 2.5}, None),  # refused by Int itself
    "zoom_missing": ({"bbox": SHANGHAI_BOX}, None),
    "whole_yrd_at_zoom_11": ({"bbox": YRD_BOX, "zoom": 11}, "bbox"),
    "whole_world_at_zoom_6": (
        {"bbox": {"south": -85.0, "west": -180.0, "north": 85.0, "east": 180.0}, "zoom": 6},
        "bbox"),
    "a_city_at_zoom_20": ({"bbox": SHANGHAI_BOX, "zoom": 20}, "bbox"),
    "too_large_in_gcj02": ({"bbox": {**SHANGHAI_BOX, "crs": "GCJ02"}, "zoom": 16}, "bbox"),
    "south_above_north": ({"bbox": {**SHANGHAI_BOX, "south": 31.5}, "zoom": 10}, "bbox"),
    "west_above_east": ({"bbox": {**SHANGHAI_BOX, "west": 121.7}, "zoom": 10}, "bbox"),
    "inverted_in_bd09": ({"bbox": {**SHANGHAI_BOX, "south": 31.5, "crs": "BD09"}, "zoom": 10},
                         "bbox"),
    "north_above_90": ({"bbox": {**SHANGHAI_BOX, "north": 90.5}, "zoom": 3}, "bbox"),
    "unknown_kind": ({"bbox": SHANGHAI_BOX, "zoom": 10, "kinds": ["SHOP"]}, None),
}


@pytest.mark.parametrize(("variables", "field"), list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_map_clusters__bad_input__bad_user_input_in_chinese_without_data(
    demo_client, variables, field
):
    body = gql(demo_client, CLUSTERS_QUERY, variables)

    assert_bad_user_input(body, field)


def test_map_clusters__too_large__says_to_zoom_in(demo_client):
    body = gql(demo_client, CLUSTERS_QUERY, {"bbox": YRD_BOX, "zoom": 12})

    assert body["errors"][0]["message"] == "地图范围过大：请放大地图或缩小范围"


def test_map_clusters__largest_window_allowed__answered(demo_client):
    # given: exactly 100 × 100 cells at zoom 10 (4096 per axis), edges on cell edges
    cell = 360.0 / cells_per_axis(10)
    west = 120.0 // cell * cell
    north_row = oracle_cell(32.0, west, 10)[1]
    north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (north_row + 0.5) / 4096))))
    south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (north_row + 99.5) / 4096))))
    box = {"south": south, "west": west, "north": north, "east": west + 99.5 * cell,
           "crs": "WGS84"}
    assert view_cells(box, 10) == MAX_CELLS

    # when / then: allowed; one cell more is not
    assert gql_data(demo_client, CLUSTERS_QUERY, {"bbox": box, "zoom": 10})["mapClusters"]
    wider = {**box, "east": west + 100.5 * cell}
    assert_bad_user_input(gql(demo_client, CLUSTERS_QUERY, {"bbox": wider, "zoom": 10}), "bbox")


# ---------------------------------------------------------------------------------------------
# SQLite without its math functions


def test_sqlite_math_fallback__same_values_as_sqlite_builtins():
    # given: the Python fallbacks registered on one connection, SQLite's own on another
    fallback = sqlite3.connect(":memory:")
    register_math_functions(fallback)
    builtin = sqlite3.connect(":memory:")
    query = "SELECT ln(?), tan(?), cos(?), radians(?), floor(?)"
    try:
        builtin.execute(query, (1, 1, 1, 1, 1))
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no math functions to compare with")

    for value in (0.5, 1.0, 2.5, -2.5, 85.0511287, 1e-12, 3.0e8):
        args = (value,) * 5
        assert fallback.execute(query, args).fetchone() == builtin.execute(query, args).fetchone()
    # outside the domain both answer NULL, not an error
    for value in (0.0, -1.0):
        assert fallback.execute("SELECT ln(?)", (value,)).fetchone() == (None,)
        assert builtin.execute("SELECT ln(?)", (value,)).fetchone() == (None,)
