"""The GraphQL documents the bench sends to our API: the operations of graphql/operations/
(with fallbacks), their request bodies for the centres, and what the running server's schema
offers (introspected)."""

from __future__ import annotations

import json

import numpy as np

from clients import Client
from paths import ROOT
from workload import FIRST, KINDS, RADIUS_M, TEXT


def operation(name: str) -> str | None:
    path = ROOT / "graphql" / "operations" / f"{name}.graphql"
    return path.read_text(encoding="utf-8") if path.exists() else None


NEARBY_FALLBACK = """query NearbyPlaces($near: GeoPointInput!, $radiusMeters: Float,
  $kinds: [PlaceKind!], $first: Int = 20) {
  places(near: $near, radiusMeters: $radiusMeters, kinds: $kinds, first: $first) {
    edges { cursor distanceMeters
      node { id name kind address phone location { lat lon } region { code name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def nearby_bodies(points) -> list[bytes]:
    document = operation("NearbyPlaces") or NEARBY_FALLBACK
    return [json.dumps({
        "query": document,
        "operationName": "NearbyPlaces",
        "variables": {"near": {"lat": lat, "lon": lon}, "radiusMeters": RADIUS_M,
                      "kinds": KINDS, "first": FIRST},
    }, ensure_ascii=False).encode() for lat, lon in points]


TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"


def gql(port: int, query: str, variables: dict | None = None) -> dict:
    client = Client(port, "/graphql")
    try:
        status, data = client.post(json.dumps({"query": query,
                                               "variables": variables or {}}).encode())
    finally:
        client.close()
    return json.loads(data)


def type_string(ref: dict) -> str:
    if ref["kind"] == "NON_NULL":
        return type_string(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_string(ref["ofType"]) + "]"
    return ref["name"]


def named(ref: dict) -> dict:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref


def selection(port: int, type_name: str, depth: int = 2) -> str:
    """Every field without required arguments, objects down to `depth` levels."""
    info = gql(port, f'{{ __type(name: "{type_name}") {{ fields {{ name '
                     f'args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }}')
    parts = []
    for f in (info["data"]["__type"] or {}).get("fields") or []:
        if any(a["type"]["kind"] == "NON_NULL" for a in f["args"]):
            continue
        target = named(f["type"])
        if target["kind"] in ("SCALAR", "ENUM"):
            parts.append(f["name"])
        elif target["kind"] == "OBJECT" and depth > 1:
            inner = selection(port, target["name"], depth - 1)
            if inner:
                parts.append(f"{f['name']} {{ {inner} }}")
    return " ".join(parts)


def introspect_features(port: int) -> dict:
    """What the running server offers beyond nearby search: text on places, mapClusters."""
    info = gql(port, f'{{ __type(name: "Query") {{ fields {{ name '
                     f'args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }}')
    fields = {f["name"]: f for f in info["data"]["__type"]["fields"]}
    places_args = {a["name"] for a in fields.get("places", {}).get("args", [])}
    mutation = gql(port, '{ __type(name: "Mutation") { fields { name } } }')
    mutation_fields = [f["name"] for f in ((mutation.get("data") or {}).get("__type") or {})
                       .get("fields") or []]
    return {
        "query_fields": sorted(fields),
        "places_args": sorted(places_args),
        "text": "text" in places_args,
        "map_clusters": fields.get("mapClusters"),
        "booking": [name for name in mutation_fields if "book" in name.lower()
                    or "appointment" in name.lower()],
    }


def text_bodies(points) -> list[bytes]:
    document = operation("FindPlaces")
    name = "FindPlaces"
    if document is None or "$text" not in document or "$near" not in document:
        name = "TextNear"
        document = """query TextNear($near: GeoPointInput!, $text: String!, $first: Int) {
  places(near: $near, text: $text, first: $first) {
    edges { cursor distanceMeters node { id name kind address phone location { lat lon } } }
    pageInfo { hasNextPage endCursor } } }"""
    return [json.dumps({"query": document, "operationName": name,
                        "variables": {"near": {"lat": lat, "lon": lon}, "text": TEXT,
                                      "first": FIRST}}, ensure_ascii=False).encode()
            for lat, lon in points]


def detail_bodies(ids) -> list[bytes]:
    """PlaceDetail (graphql/operations/) of each place id ((id,) tuples), WGS-84."""
    document = operation("PlaceDetail")
    if document is None:
        raise RuntimeError("graphql/operations/PlaceDetail.graphql is missing")
    return [json.dumps({"query": document, "operationName": "PlaceDetail",
                        "variables": {"id": str(place_id)}}).encode() for (place_id,) in ids]


def cluster_bodies(port: int, clusters: dict, points, zoom: int
                   ) -> tuple[list[bytes] | None, str]:
    args = {a["name"]: a for a in clusters["args"]}
    if "bbox" not in args or "zoom" not in args:
        return None, f"mapClusters has arguments {sorted(args)}: no bbox/zoom to drive"
    inner = selection(port, named(clusters["type"])["name"])
    document = (f"query MapClusters($bbox: {type_string(args['bbox']['type'])}, "
                f"$zoom: {type_string(args['zoom']['type'])}) "
                f"{{ mapClusters(bbox: $bbox, zoom: $zoom) {{ {inner} }} }}")
    bodies = []
    for lat, lon in points:
        # A phone screen of 400 x 800 CSS px of 256-px tiles at this zoom.
        width = 360.0 * 400 / (256 * 2 ** zoom)
        height = width * 2 * np.cos(np.radians(lat))
        bbox = {"south": lat - height / 2, "north": lat + height / 2,
                "west": lon - width / 2, "east": lon + width / 2}
        bodies.append(json.dumps({"query": document, "operationName": "MapClusters",
                                  "variables": {"bbox": bbox, "zoom": zoom}}).encode())
    return bodies, document


def booking_document() -> str:
    document = operation("BookAppointment")
    if document is None:
        raise RuntimeError("graphql/operations/BookAppointment.graphql is missing")
    return document
