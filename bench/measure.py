"""One scale x store: the data, our API (nearby, then text + geo, place detail and map
clusters), the raw SQL of each, the peer and booking under contention; or only the API's
profile."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np

from booking import measure_booking
from clients import answers, first_pages, single_client, wrk_load
from databases import database_url, prepare_database
from documents import (
    cluster_bodies,
    detail_bodies,
    introspect_features,
    nearby_bodies,
    text_bodies,
)
from machine import loadavg
from peer import PEER_QUERIES, measure_peer
from plans import Plan
from profiling import profile
from raw import (
    Detail,
    candidate_counts,
    raw_answers,
    raw_load_pgbench,
    raw_load_sqlite,
    raw_single,
    region_codes,
    same_answers,
    same_details,
)
from servers import API_PORT, GUNICORN_ARGS, Server, api_server, app_env
from shell import log
from workload import FIRST, TEXT, ZOOMS


def api_answers(port: int, bodies: list[bytes]) -> list[list[tuple[float, int]]]:
    return [[(e["distanceMeters"], int(e["node"]["id"])) for e in edges]
            for edges in first_pages(port, bodies, "places")]


def api_details(port: int, bodies: list[bytes]) -> list[Detail]:
    """PlaceDetail answers as raw.detail_of makes the raw SQL's."""
    return [(int(place["id"]), region_codes(place["region"], "parent"),
             tuple(sorted(int(item["id"]) for item in place["serviceItems"])))
            for place in (data["place"] for data in answers(port, bodies))]


def measure_extra(server: Server, wrk: str, features: dict, points, plan: Plan,
                  expected: dict[str, list], detail_ids) -> dict:
    """Text + geo (FindPlaces), PlaceDetail and map clusters through our API; `expected`: the
    raw SQL's answers ("text" for the checked centres, "detail" for `detail_ids`)."""
    port = server.port
    out: dict = {}
    if features["text"]:
        bodies = text_bodies(points)
        correctness = same_answers(api_answers(port, bodies[:plan.checked_centres]),
                                   expected["text"])
        single_client(port, "/graphql", bodies, plan.warmup)
        single = single_client(port, "/graphql", bodies, plan.extra_requests)
        load = wrk_load(wrk, port, "/graphql", bodies, plan, plan.extra_seconds, "text", server)
        out["text_geo"] = {"query": f'places(near, text: "{TEXT}", first: {FIRST})',
                           "correctness": correctness, "single": single, "load": load}
    else:
        out["text_geo"] = {"status": "not available: Query.places has no `text` argument"}
    bodies = detail_bodies(detail_ids)
    correctness = same_details(api_details(port, bodies), expected["detail"])
    single_client(port, "/graphql", bodies, plan.warmup)
    single = single_client(port, "/graphql", bodies, plan.single_requests)
    load = wrk_load(wrk, port, "/graphql", bodies, plan, plan.load_seconds, "detail", server)
    out["detail"] = {"query": "place(id) (PlaceDetail)", "correctness": correctness,
                     "single": single, "load": load}
    out.update(measure_clusters(server, wrk, features, points, plan))
    return out


def measure_raw(store: str, scale: int, inputs, plan: Plan, query: str, n: int,
                seconds: float) -> dict:
    """The raw SQL of `query` (raw.RAW_QUERIES): single client, then throughput."""
    out = {"query": query, "single": raw_single(store, scale, inputs, n, query)}
    if store == "sqlite":
        out["load"] = raw_load_sqlite(scale, inputs, seconds, os.cpu_count() or 2, query)
    else:
        out["load"] = raw_load_pgbench(scale, inputs, plan, seconds, query)
    return out


def measure_clusters(server: Server, wrk: str, features: dict, points, plan: Plan,
                     warmup: int = 0) -> dict:
    """mapClusters at each of ZOOMS: single client, then wrk (`warmup` requests first)."""
    port = server.port
    out: dict = {}
    clusters = features["map_clusters"]
    for zoom in ZOOMS:
        key = f"clusters_z{zoom}"
        if clusters is None:
            out[key] = {"status": "not available: Query has no `mapClusters` field"}
            continue
        bodies, document = cluster_bodies(port, clusters, points, zoom)
        if bodies is None:
            out[key] = {"status": f"not measured: {document}"}
            continue
        if warmup:
            single_client(port, "/graphql", bodies, warmup)
        single = single_client(port, "/graphql", bodies, plan.extra_requests)
        load = wrk_load(wrk, port, "/graphql", bodies, plan, plan.extra_seconds, key, server)
        out[key] = {"query": f"mapClusters(bbox: <phone screen>, zoom: {zoom})",
                    "single": single, "load": load}
    return out


def measure(store: str, scale: int, plan: Plan, wrk: str, points, do_profile: bool,
            peer_binary: Path | None, fresh: bool) -> dict:
    result: dict = {"scale": scale, "store": store, "plan": plan.name,
                    "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "loadavg_before": loadavg()}
    result["data"] = prepare_database(store, scale, fresh)
    url = database_url(store, scale)
    api_bodies = nearby_bodies(points)
    nearest = raw_answers(store, scale, points)
    expected = nearest[:plan.checked_centres]
    # PlaceDetail asks for the nearest place of each centre (the one a resident taps first;
    # none where no place lies within the radius).
    detail_ids = [(page[0][1],) for page in nearest if page]
    expected_more = {"nearby": expected,
                     "text": raw_answers(store, scale, points[:plan.checked_centres], "text"),
                     "detail": raw_answers(store, scale, detail_ids, "detail")}
    result["data"]["candidates_per_query"] = {
        "mean_results": round(float(np.mean([len(e) for e in expected])), 1),
        "full_pages": sum(len(e) > FIRST for e in expected),
        "prefilter_rows": candidate_counts(store, scale, points),
    }

    # -- our API
    log(f"{store} {scale}: api")
    server = api_server(f"api-{store}-{scale}", app_env(url))
    try:
        api: dict = {"server": "gunicorn wsgi:app " + " ".join(GUNICORN_ARGS)}
        api["cold_start_s"] = round(server.wait_first_answer("/graphql", api_bodies[0]), 3)
        features = introspect_features(API_PORT)
        api["correctness"] = same_answers(
            api_answers(API_PORT, api_bodies[:plan.checked_centres]), expected)
        single_client(API_PORT, "/graphql", api_bodies, plan.warmup)  # both workers warm
        api["single"] = single_client(API_PORT, "/graphql", api_bodies, plan.single_requests)
        api["load"] = wrk_load(wrk, API_PORT, "/graphql", api_bodies, plan, plan.load_seconds,
                               f"api-{store}", server)
        api["rss_after_nearby"] = server.rss_mb()
        result.update(measure_extra(server, wrk, features, points, plan, expected_more,
                                    detail_ids))
        api["rss"] = server.rss_mb()
        result["features"] = {k: v for k, v in features.items() if k != "map_clusters"}
        if do_profile:
            log(f"{store} {scale}: profile")
            result["profile"] = profile(server, wrk, api_bodies, plan, 12.0)
    finally:
        server.stop()
    result["api"] = api

    # -- the store's raw SQL
    log(f"{store} {scale}: raw SQL")
    result["raw"] = measure_raw(store, scale, points, plan, "nearby", plan.single_requests,
                                plan.load_seconds)
    log(f"{store} {scale}: raw SQL, text + geo and detail")
    result["raw_text"] = measure_raw(store, scale, points, plan, "text", plan.extra_requests,
                                     plan.extra_seconds)
    result["raw_text_all"] = measure_raw(store, scale, points, plan, "text_all",
                                         plan.extra_requests, plan.extra_seconds)
    result["raw_text_all"]["correctness"] = same_answers(  # its first page, as the API's
        [page[:FIRST] for page in raw_answers(store, scale, points[:plan.checked_centres],
                                              "text_all")],
        expected_more["text"])
    result["raw_detail"] = measure_raw(store, scale, detail_ids, plan, "detail",
                                       plan.single_requests, plan.load_seconds)

    # -- the peer
    if store == "postgis" and peer_binary is not None:
        result.update(measure_peer(scale, plan, wrk, points, peer_binary, expected_more,
                                   detail_ids))
    else:
        status = ("not measured (--no-peer)" if store == "postgis"
                  else "PostGraphile serves PostgreSQL only")
        for q in PEER_QUERIES:
            result[q.key] = {"status": status}

    # -- booking under contention: last, its writes cannot disturb the reads measured above
    try:
        result["booking"] = measure_booking(store, scale, plan, features)
    except Exception as error:  # noqa: BLE001 - recorded: the other measurements still run
        log(f"{store} {scale}: booking failed: {error!r}")
        result["booking"] = {"status": f"error: {error!r}"[:300]}
    result["loadavg_after"] = loadavg()
    return result


def profile_only(store: str, scale: int, plan: Plan, wrk: str, points) -> dict:
    """Only the py-spy profile of the API at one scale and store (the data must be seeded)."""
    url = database_url(store, scale)
    bodies = nearby_bodies(points)
    server = api_server(f"profile-{store}-{scale}", app_env(url))
    try:
        server.wait_first_answer("/graphql", bodies[0])
        single_client(API_PORT, "/graphql", bodies, plan.warmup)
        result = {"scale": scale, "store": store, "loadavg_before": loadavg(),
                  "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                  "profile": profile(server, wrk, bodies, plan, 12.0)}
    finally:
        server.stop()
    return result


def clusters_only(store: str, scale: int, plan: Plan, wrk: str, points, fresh: bool) -> dict:
    """Only mapClusters at one scale and store through the API, as in `measure` (the bench
    database seeded or reused the same way), after `plan.warmup` requests per zoom."""
    result: dict = {"scale": scale, "store": store, "plan": plan.name,
                    "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "loadavg_before": loadavg()}
    result["data"] = prepare_database(store, scale, fresh)
    server = api_server(f"clusters-{store}-{scale}", app_env(database_url(store, scale)))
    try:
        server.wait_first_answer("/graphql", nearby_bodies(points)[0])
        features = introspect_features(server.port)
        result.update(measure_clusters(server, wrk, features, points, plan, plan.warmup))
    finally:
        server.stop()
    result["loadavg_after"] = loadavg()
    return result


def booking_only(store: str, scale: int, plan: Plan, fresh: bool) -> dict:
    """Only the booking rush at one scale and store (the bench database seeded or reused as
    usual), with its raw booking transaction: `measure_booking` as the full run makes it."""
    result: dict = {"scale": scale, "store": store, "plan": plan.name,
                    "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "loadavg_before": loadavg()}
    result["data"] = prepare_database(store, scale, fresh)
    result["booking"] = measure_booking(store, scale, plan, {"booking": ["bookAppointment"]})
    result["loadavg_after"] = loadavg()
    return result
