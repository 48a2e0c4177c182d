"""Every non-200 answer of /graphql is a GraphQL JSON body with a Chinese message and a code;
nested JSON is a 400, never a server error."""

from __future__ import annotations

import json

import pytest

from mobile_api.graphql import MAX_REQUEST_BYTES
from mobile_api.graphql.http_errors import MAX_JSON_DEPTH
from tests.helpers import gql_data
from tests.mobile_api.graphql.test_bad_input import assert_graphql_refusal, post_raw

REGIONS = "query($v: [[String]]) { regions(level: PROVINCE) { code } }"


def nested(depth: int) -> str:
    """JSON text of `depth` lists in each other (json.dumps itself recurses)."""
    return "[" * depth + "1" + "]" * depth


def with_variable(depth: int) -> str:
    return '{"query": ' + json.dumps(REGIONS) + ', "variables": {"a": ' + nested(depth) + "}}"


@pytest.mark.parametrize("body", [
    with_variable(977),
    "[" * 5000,
    '{"query": "{ regions { code } }", "extensions": ' + "{\"a\": " * 200 + "1" + "}" * 201,
    with_variable(MAX_JSON_DEPTH),
], ids=["variables-977-levels", "5000-brackets", "extensions-200-levels", "just-too-deep"])
def test_http_errors__nested_json__400(demo_client, body: str) -> None:
    response = post_raw(demo_client, body)
    assert response.status_code == 400
    assert "嵌套过深" in assert_graphql_refusal(response, "BAD_REQUEST")["errors"][0]["message"]


def test_http_errors__nested_json_in_a_get__400(demo_client) -> None:
    response = demo_client.get("/graphql", query_string={
        "query": REGIONS, "variables": ('{"a": ' + nested(977) + "}")})
    assert response.status_code == 400
    assert_graphql_refusal(response, "BAD_REQUEST")


def test_http_errors__json_within_the_depth_runs(demo_client) -> None:
    query = "query($k: [PlaceKind!]) { places(kinds: $k, first: 1) { edges { node { kind } } } }"
    data = gql_data(demo_client, query, {"k": ["CLINIC"]})
    assert [edge["node"]["kind"] for edge in data["places"]["edges"]] == ["CLINIC"]


def test_http_errors__oversized_body__413_json(demo_client) -> None:
    body = json.dumps({"query": "{ regions { code } }" + " " * MAX_REQUEST_BYTES})
    response = post_raw(demo_client, body)
    assert response.status_code == 413
    assert_graphql_refusal(response, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_http_errors__other_methods__405_json(demo_client, method: str) -> None:
    response = demo_client.open("/graphql", method=method, data="{}",
                                content_type="application/json")
    assert response.status_code == 405
    assert_graphql_refusal(response, "METHOD_NOT_ALLOWED")
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_http_errors__mutation_by_get__405_json(demo_client) -> None:
    response = demo_client.get("/graphql", query_string={
        "query": 'mutation { unregisterDevice(token: "t") { errors { code } } }'})
    assert response.status_code == 405
    assert_graphql_refusal(response, "METHOD_NOT_ALLOWED")


def test_http_errors__strict_clients_get_the_graphql_response_type(demo_client) -> None:
    response = demo_client.post("/graphql", data="not json", content_type="application/json",
                                headers={"Accept": "application/graphql-response+json"})
    assert response.status_code == 400
    assert response.mimetype == "application/graphql-response+json"
    assert response.get_json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_http_errors__other_paths_keep_their_pages(demo_client) -> None:
    response = demo_client.put("/healthz")
    assert response.status_code == 405
    assert response.mimetype != "application/json" or "errors" not in response.get_json()
