"""places(near, text) — text first and space first (backend/places/text_near.py) — against a
brute-force scan, on both stores, through HTTP + GraphQL: every place whose search tokens hold
the text's terms, exact geodesic distance, (distance, id) order, paged by cursors; and the two
strategies' answers equal for the filters and checks the oracle does not model."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, text

from backend.db import session_scope
from backend.places import text_near
from backend.places.importing import import_places
from backend.places.models import Place
from backend.places.records import PlaceKind, PlaceRecord
from backend.places.text import parse_text_query
from geodata.cn_regions import load_china_regions
from geodata.crs import CRS, from_wgs84, to_wgs84
from geodata.regions import RegionIndex
from tests.helpers import gql_data, operation, uow_of
from tests.places.test_nearby_oracle import brute_force

CLUSTERS = [(31.23, 121.47), (30.27, 120.15), (32.06, 118.79)]
KINDS = [kind.value for kind in PlaceKind]
# Name parts: "医保" in about one place of twenty (selective), "服务" in nearly all (common).
RARE = ["医保服务站", "医保结算窗口"]
COMMON = ["便民服务中心", "社区卫生服务站", "养老服务中心", "政务服务大厅"]
TEXTS = ["医保", "yibao", "服务", "fuwu", "医保服务", "社区"]
FORCED = {"text": 1e12, "space": 0.0}  # TEXT_FIRST_FACTOR that forces each strategy


@pytest.fixture
def strategies(monkeypatch) -> list[str]:
    """The strategy of every text + geo search of the test, in order."""
    chosen: list[str] = []
    decide = text_near.TextNearest._decide

    def spy(self, limit):  # noqa: ANN001, ANN202
        ranked = decide(self, limit)
        chosen.append("space" if ranked is False else "text")
        return ranked

    monkeypatch.setattr(text_near.TextNearest, "_decide", spy)
    return chosen


def seed(app, rng: random.Random, count: int) -> list[dict]:
    records = []
    for n in range(count):
        c_lat, c_lon = rng.choice(CLUSTERS)
        if n % 40 == 39:  # the same point as an earlier place: ties broken by id
            twin = records[rng.randrange(len(records))]
            lat, lon = twin.lat, twin.lon
        else:
            lat, lon = c_lat + rng.gauss(0, 0.1), c_lon + rng.gauss(0, 0.1)
        part = rng.choice(RARE) if rng.random() < 0.06 else rng.choice(COMMON)
        records.append(PlaceRecord(kind=PlaceKind(rng.choice(KINDS)), name=f"第{n}{part}",
                                   lat=lat, lon=lon, source="test", external_id=f"tg-{n}"))
    index = RegionIndex(load_china_regions())
    factory = app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        import_places(uow_of(session), records)
    analyze(app)
    with session_scope(factory) as session:
        stored = [{"id": p.id, "lat": p.lat, "lon": p.lon, "kind": p.kind,
                   "tokens": (p.search_text or "").split(),
                   "regions": {r.code for r in index.at(p.lat, p.lon)}}
                  for p in session.scalars(select(Place))]
    text_near.forget_statistics()
    assert all(place["tokens"] for place in stored)
    return stored


def analyze(app) -> None:
    """On PostgreSQL, the statistics the estimate reads (autovacuum makes them later)."""
    factory = app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        if session.get_bind().dialect.name != "sqlite":
            session.execute(text("ANALYZE place"))
    text_near.forget_statistics()


def matches(tokens: list[str], query: str) -> bool:
    """The text condition of both stores, by the same tokenizer: every term a token (a prefix
    of one for prefix terms)."""
    return all(any(t.startswith(term) for t in tokens) if prefix else term in tokens
               for term, prefix in parse_text_query(query).terms)


def walk(client, variables: dict, max_pages: int | None = None) -> list[dict]:
    edges, after, pages = [], None, 0
    while True:
        connection = gql_data(client, operation("FindPlaces"),
                              {**variables, "after": after})["places"]
        edges += connection["edges"]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"] or (max_pages and pages >= max_pages):
            return edges
        after = connection["pageInfo"]["endCursor"]


@pytest.mark.parametrize("strategy", ["text", "space", "estimated"])
def test_text_near__random_queries__equal_brute_force(scratch_app, monkeypatch, strategies,
                                                      strategy):
    # given: 480 places in three cities, about one in twenty a 医保 place
    rng = random.Random(20261207)
    stored = seed(scratch_app, rng, 480)
    if strategy in FORCED:
        monkeypatch.setattr(text_near, "TEXT_FIRST_FACTOR", FORCED[strategy])
    client = scratch_app.test_client()

    for case in range(36):
        # when: a random centre in a random datum, text, radius, page size and filters
        c_lat, c_lon = rng.choice(CLUSTERS)
        crs = rng.choice(list(CRS))
        in_lat, in_lon = from_wgs84(c_lat + rng.gauss(0, 0.15), c_lon + rng.gauss(0, 0.15), crs)
        query = TEXTS[case % len(TEXTS)]
        radius = None if case % 3 == 0 else rng.choice([2_000.0, 8_000.0, 20_000.0])
        variables: dict = {"near": {"lat": in_lat, "lon": in_lon, "crs": crs.value},
                           "text": query, "radiusMeters": radius, "first": rng.choice([3, 7, 20])}
        candidates = [p for p in stored if matches(p["tokens"], query)]
        if rng.random() < 0.3:
            kinds = rng.sample(KINDS, rng.randint(1, 2))
            variables["kinds"] = kinds
            candidates = [p for p in candidates if p["kind"] in kinds]
        if rng.random() < 0.25:
            code = rng.choice(["310000", "330100", "320100"])
            variables["regionCode"] = code
            candidates = [p for p in candidates if code in p["regions"]]
        if rng.random() < 0.2:
            box_crs = rng.choice(list(CRS))
            box = {"south": in_lat - 0.08, "north": in_lat + 0.1, "west": in_lon - 0.12,
                   "east": in_lon + 0.09, "crs": box_crs.value}
            variables["bbox"] = box

            def inside(place: dict, box: dict = box, box_crs: CRS = box_crs) -> bool:
                lat, lon = from_wgs84(place["lat"], place["lon"], box_crs)
                return box["south"] <= lat <= box["north"] and box["west"] <= lon <= box["east"]

            candidates = [p for p in candidates if inside(p)]
        expected = brute_force(candidates, *to_wgs84(in_lat, in_lon, crs), radius)
        edges = walk(client, variables, max_pages=None if radius is not None else 3)

        # then: the same places in the same order at the same distances, each once
        got = [(edge["distanceMeters"], int(edge["node"]["id"])) for edge in edges]
        if radius is not None:
            assert len(got) == len(expected), variables
        else:
            assert len(got) == min(len(expected), 3 * variables["first"]), variables
        assert [i for _, i in got] == [i for _, i in expected[:len(got)]], variables
        for (distance, _), (oracle_distance, _) in zip(got, expected, strict=False):
            assert distance == pytest.approx(oracle_distance, abs=0.1)

    # and the strategy asked for ran (a request that asks nothing decides nothing)
    if strategy in FORCED:
        assert set(strategies) == {strategy}
    else:
        assert set(strategies) == {"text", "space"}


def test_text_near__threshold__rare_text_first_common_space_first(scratch_app, strategies):
    # given: 480 places, ~30 of them 医保 places, nearly all 服务 places
    stored = seed(scratch_app, random.Random(7), 480)
    rare = sum(matches(p["tokens"], "医保") for p in stored)
    common = sum(matches(p["tokens"], "服务") for p in stored)
    client = scratch_app.test_client()
    near = {"lat": 31.23, "lon": 121.47}

    # when: a page of 20 (21 asked) of each
    for query in ("医保", "服务"):
        gql_data(client, operation("FindPlaces"), {"near": near, "text": query, "first": 20})

    # then: each on its side of matches² <= factor × 21 × places
    assert text_near.text_first_wins(rare, 21, len(stored))
    assert not text_near.text_first_wins(common, 21, len(stored))
    assert strategies == ["text", "space"]


# The filters and checks the oracle above leaves out (clinic / elderly-care filters, opening
# hours checked in Python, an item's places) on the demo data: both strategies, same answers.
SEARCHES = [
    {"text": "社保", "openAt": "2025-03-05T10:00:00+08:00"},
    {"text": "卫生", "clinic": {"crossProvinceSettlement": True}},
    {"text": "养老", "elderlyCare": {"minAvailableBeds": 5, "acceptsNonLocal": True},
     "radiusMeters": 40_000.0},
    {"text": "服务", "serviceItemId": "1", "openAt": "2025-03-05T10:00:00+08:00"},
    {"text": "wsy", "kinds": ["CLINIC"], "openAt": "2025-03-05T10:00:00+08:00",
     "bbox": {"south": 29.9, "west": 119.8, "north": 30.5, "east": 120.6, "crs": "GCJ02"}},
]


@pytest.mark.parametrize("search", SEARCHES, ids=lambda s: s["text"])
def test_text_near__filters_and_checks__both_strategies_same_pages(demo_app, monkeypatch,
                                                                    strategies, search):
    analyze(demo_app)
    demo_client = demo_app.test_client()
    variables = {"near": {"lat": 30.2741, "lon": 120.1551}, "first": 4, **search}
    pages = {}
    for strategy, factor in FORCED.items():
        monkeypatch.setattr(text_near, "TEXT_FIRST_FACTOR", factor)
        text_near.forget_statistics()
        pages[strategy] = walk(demo_client, variables, max_pages=4)
    assert pages["text"] == pages["space"]
    assert pages["text"], search
    assert "text" in strategies and "space" in strategies
