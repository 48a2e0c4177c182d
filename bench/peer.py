"""The peer: PostGraphile 4 (2 cluster workers) over the same PostGIS database, through the SQL
functions of bench/peer.sql (the radius search as its users write it, and KNN first, the fastest
they could write), queried on the same centres by the same clients."""

from __future__ import annotations

import json
import os
from pathlib import Path

from clients import first_pages, single_client, wrk_load
from databases import PG_HOST, PG_PORT, PG_USER, pg_database
from install import POSTGRAPHILE_VERSION
from paths import BENCH
from plans import Plan
from raw import same_answers
from servers import PEER_PORT, Server
from shell import log, run
from workload import RADIUS_M

PEER_QUERY = """query NearbyPlaces($lat: Float!, $lon: Float!, $radius: Float!) {
  nearbyPlaces(lat: $lat, lon: $lon, radius: $radius, first: 20) {
    edges { cursor node { id kind name address phone lat lon regionCode regionName
                          distanceMeters } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# The same page through nearby_places_knn: its page_size is the `first` (20).
PEER_KNN_QUERY = """query NearbyPlaces($lat: Float!, $lon: Float!, $radius: Float!) {
  nearbyPlacesKnn(lat: $lat, lon: $lon, radius: $radius, pageSize: 20, first: 20) {
    edges { cursor node { id kind name address phone lat lon regionCode regionName
                          distanceMeters } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# result key -> (GraphQL query, its root field)
PEER_FUNCTIONS = {"peer": (PEER_QUERY, "nearbyPlaces"),
                  "peer_knn": (PEER_KNN_QUERY, "nearbyPlacesKnn")}


def peer_bodies(points, query: str = PEER_QUERY) -> list[bytes]:
    return [json.dumps({"query": query, "operationName": "NearbyPlaces",
                        "variables": {"lat": lat, "lon": lon, "radius": RADIUS_M}}).encode()
            for lat, lon in points]


def peer_answers(port: int, bodies: list[bytes], field: str = "nearbyPlaces"
                 ) -> list[list[tuple[float, int]]]:
    return [[(e["node"]["distanceMeters"], int(e["node"]["id"])) for e in edges]
            for edges in first_pages(port, bodies, field)]


def measure_peer(scale: int, plan: Plan, wrk: str, points, peer_binary: Path,
                 expected: list[list[tuple[float, int]]]) -> dict[str, dict]:
    """Both functions through one PostGraphile server, one after the other: {"peer": …,
    "peer_knn": …}."""
    log(f"postgis {scale}: postgraphile")
    run(["psql", "-h", PG_HOST, "-U", PG_USER, "-d", pg_database(scale), "-q",
         "-v", "ON_ERROR_STOP=1", "-f", str(BENCH / "peer.sql")])
    bodies = peer_bodies(points)
    peer_server = Server(
        f"postgraphile-{scale}",
        ["node", str(peer_binary), "--connection",
         f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{pg_database(scale)}", "--schema", "public",
         "--host", "127.0.0.1", "--port", str(PEER_PORT), "--cluster-workers", "2",
         "--disable-query-log", "--disable-default-mutations"],
        {**os.environ, "NODE_ENV": "production"}, PEER_PORT)
    results: dict[str, dict] = {}
    try:
        cold_start_s = round(peer_server.wait_first_answer("/graphql", bodies[0]), 3)
        for key, (query, field) in PEER_FUNCTIONS.items():
            log(f"postgis {scale}: postgraphile, {field}")
            bodies = peer_bodies(points, query)
            peer: dict = {"server": f"postgraphile@{POSTGRAPHILE_VERSION} --cluster-workers 2",
                          "query": field, "cold_start_s": cold_start_s}
            peer["correctness"] = same_answers(
                peer_answers(PEER_PORT, bodies[:plan.checked_centres], field), expected)
            single_client(PEER_PORT, "/graphql", bodies, plan.warmup)
            peer["single"] = single_client(PEER_PORT, "/graphql", bodies, plan.single_requests)
            peer["load"] = wrk_load(wrk, PEER_PORT, "/graphql", bodies, plan,
                                    plan.load_seconds, key, peer_server)
            peer["rss"] = peer_server.rss_mb()
            results[key] = peer
    finally:
        peer_server.stop()
    return results
