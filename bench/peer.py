"""The peer: PostGraphile 4 (2 cluster workers) over the same PostGIS database, through the SQL
functions of bench/peer.sql (the radius search and the text + geo search as its users write
them, and KNN first, the fastest they could write) and its own row by id, queried on the same
centres and ids by the same clients."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from clients import answers, first_pages, single_client, wrk_load
from databases import PG_HOST, PG_PORT, PG_USER, pg_database
from install import POSTGRAPHILE_VERSION
from paths import BENCH
from plans import Plan
from raw import Detail, region_codes, same_answers, same_details, text_query
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

# FindPlaces (places(near, text)): what PostGraphile has of the operation's selection (not
# isOpen / openingStatus: the opening-hours rules are evaluated by our API in Python).
PEER_TEXT_SELECTION = """edges { cursor node { id name kind address phone lat lon openingHours
      distanceMeters(lat: $lat, lon: $lon)
      clinicLevel crossProvinceSettlement beds availableBeds acceptsNonLocal careLevels
      placeServiceItemsByPlaceId { nodes { serviceItemByServiceItemId { id name } } } } }
    pageInfo { hasNextPage endCursor }"""
PEER_TEXT_VARIABLES = "$lat: Float!, $lon: Float!, $textQuery: String!"
PEER_TEXT_QUERY = (
    f"query FindPlaces({PEER_TEXT_VARIABLES}) {{\n"
    f"  findPlaces(lat: $lat, lon: $lon, textQuery: $textQuery, first: 20) {{\n"
    f"    {PEER_TEXT_SELECTION}\n  }}\n}}")
PEER_TEXT_KNN_QUERY = (
    f"query FindPlaces({PEER_TEXT_VARIABLES}) {{\n"
    f"  findPlacesKnn(lat: $lat, lon: $lon, textQuery: $textQuery, pageSize: 20, first: 20) {{\n"
    f"    {PEER_TEXT_SELECTION}\n  }}\n}}")

# PlaceDetail: PostGraphile's own row by primary key, the region chain through the computed
# column and the region table's relation, the items through the link table.
PEER_DETAIL_QUERY = """query PlaceDetail($id: Int!) {
  placeById(id: $id) {
    id name kind address phone source externalId lat lon
    region { code name level regionByParentCode { code name level
                                                  regionByParentCode { code name level } } }
    clinicLevel crossProvinceSettlement beds availableBeds acceptsNonLocal careLevels
    openingHours
    placeServiceItemsByPlaceId { nodes { serviceItemByServiceItemId { id code name category } } }
  }
}"""


@dataclass(frozen=True)
class PeerQuery:
    """One peer measurement: its result key, document, root field, which of our queries it
    answers ("nearby", "text", "detail": its bodies, answers and oracle) and how long."""

    key: str
    query: str
    field: str
    kind: str
    long_series: bool = True  # the nearby series' lengths, else the text + clusters ones


PEER_QUERIES = (
    PeerQuery("peer", PEER_QUERY, "nearbyPlaces", "nearby"),
    PeerQuery("peer_knn", PEER_KNN_QUERY, "nearbyPlacesKnn", "nearby"),
    PeerQuery("peer_text", PEER_TEXT_QUERY, "findPlaces", "text", long_series=False),
    PeerQuery("peer_text_knn", PEER_TEXT_KNN_QUERY, "findPlacesKnn", "text", long_series=False),
    PeerQuery("peer_detail", PEER_DETAIL_QUERY, "placeById", "detail"),
)
# result key -> (GraphQL query, its root field), the nearby ones
PEER_FUNCTIONS = {q.key: (q.query, q.field) for q in PEER_QUERIES if q.kind == "nearby"}


def peer_bodies(points, query: str = PEER_QUERY) -> list[bytes]:
    return [json.dumps({"query": query, "operationName": "NearbyPlaces",
                        "variables": {"lat": lat, "lon": lon, "radius": RADIUS_M}}).encode()
            for lat, lon in points]


def peer_text_bodies(points, query: str = PEER_TEXT_QUERY) -> list[bytes]:
    tsquery = text_query()[1]
    return [json.dumps({"query": query, "operationName": "FindPlaces",
                        "variables": {"lat": lat, "lon": lon, "textQuery": tsquery}},
                       ensure_ascii=False).encode()
            for lat, lon in points]


def peer_detail_bodies(ids) -> list[bytes]:
    return [json.dumps({"query": PEER_DETAIL_QUERY, "operationName": "PlaceDetail",
                        "variables": {"id": place_id}}).encode() for (place_id,) in ids]


def peer_answers(port: int, bodies: list[bytes], field: str = "nearbyPlaces"
                 ) -> list[list[tuple[float, int]]]:
    return [[(e["node"]["distanceMeters"], int(e["node"]["id"])) for e in edges]
            for edges in first_pages(port, bodies, field)]


def peer_detail(place: dict) -> Detail:
    """A placeById answer as raw.detail_of makes the raw SQL's."""
    items = sorted(int(n["serviceItemByServiceItemId"]["id"])
                   for n in place["placeServiceItemsByPlaceId"]["nodes"])
    return (int(place["id"]), region_codes(place["region"], "regionByParentCode"),
            tuple(items))


def peer_details(port: int, bodies: list[bytes]) -> list[Detail]:
    return [peer_detail(data["placeById"]) for data in answers(port, bodies)]


def peer_measure_inputs(q: PeerQuery, points, detail_ids) -> tuple[list[bytes], object]:
    """The bodies of a peer query, and how its answers are checked:
    f(port, bodies, expected) -> {ids or centres, mismatches, first}."""
    if q.kind == "detail":
        return peer_detail_bodies(detail_ids), lambda port, bodies, want: same_details(
            peer_details(port, bodies), want)
    bodies = (peer_bodies(points, q.query) if q.kind == "nearby"
              else peer_text_bodies(points, q.query))
    return bodies, lambda port, bodies, want: same_answers(
        peer_answers(port, bodies, q.field), want)


def measure_peer(scale: int, plan: Plan, wrk: str, points, peer_binary: Path,
                 expected: dict[str, list], detail_ids) -> dict[str, dict]:
    """Every peer query through one PostGraphile server, one after the other: {"peer": …,
    "peer_knn": …, "peer_text": …, "peer_text_knn": …, "peer_detail": …}. `expected`: the raw
    SQL's answers by kind ("nearby", "text" for the checked centres, "detail" for the ids)."""
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
        for q in PEER_QUERIES:
            log(f"postgis {scale}: postgraphile, {q.field}")
            bodies, check = peer_measure_inputs(q, points, detail_ids)
            checked = bodies if q.kind == "detail" else bodies[:plan.checked_centres]
            n, seconds = ((plan.single_requests, plan.load_seconds) if q.long_series
                          else (plan.extra_requests, plan.extra_seconds))
            peer: dict = {"server": f"postgraphile@{POSTGRAPHILE_VERSION} --cluster-workers 2",
                          "query": q.field, "cold_start_s": cold_start_s}
            try:
                peer["correctness"] = check(PEER_PORT, checked, expected[q.kind])
            except (KeyError, TypeError) as error:  # an error answer: recorded, not measured
                peer["status"] = f"error: {error!r}"[:300]
                results[q.key] = peer
                continue
            single_client(PEER_PORT, "/graphql", bodies, plan.warmup)
            peer["single"] = single_client(PEER_PORT, "/graphql", bodies, n)
            peer["load"] = wrk_load(wrk, PEER_PORT, "/graphql", bodies, plan, seconds, q.key,
                                    peer_server)
            peer["rss"] = peer_server.rss_mb()
            results[q.key] = peer
    finally:
        peer_server.stop()
    return results
