"""Many residents searching at once: real threads, one app, each request its own session."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import gql_data, operation

CENTRES = [(31.2304, 121.4737), (30.2741, 120.1551), (32.0603, 118.7969), (31.8206, 117.2272),
           (31.2989, 120.5853), (29.8683, 121.5440), (30.9400, 118.7580), (32.3942, 119.4129)]


def nearby(client, lat: float, lon: float, kinds: list[str] | None) -> list[tuple]:  # noqa: ANN001
    data = gql_data(client, operation("NearbyPlaces"), {
        "near": {"lat": lat, "lon": lon, "crs": "GCJ02"}, "radiusMeters": 5_000,
        "kinds": kinds, "first": 20,
    })
    return [(e["node"]["id"], e["distanceMeters"], e["node"]["region"]["code"])
            for e in data["places"]["edges"]]


def test_nearby__sixteen_threads_at_once__same_answers_as_one_at_a_time(demo_app):
    # given: 128 queries and their answers asked one at a time
    rng = random.Random(7)
    queries = [(lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.02, 0.02),
                rng.choice([None, ["CLINIC"], ["SERVICE_HALL", "ELDERLY_CARE"]]))
               for lat, lon in CENTRES for _ in range(16)]
    client = demo_app.test_client()
    expected = [nearby(client, *query) for query in queries]
    assert all(expected), "every centre has places within 5 km"

    # when: the same queries from 16 threads at once
    def ask(query: tuple) -> list[tuple]:
        return nearby(demo_app.test_client(), *query)

    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(ask, queries))

    # then
    assert got == expected
