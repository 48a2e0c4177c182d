"""Bad input at /graphql: a stable code and a Chinese message, never partial data, never a 500.

Every case runs against both stores (the demo data set, read-only).
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.helpers import error_codes, gql, gql_data, operation

CJK = re.compile(r"[\u4e00-\u9fff]")

NEARBY = operation("NearbyPlaces")
BROWSE = operation("BrowsePlaces")
WHERE_AM_I = operation("WhereAmI")
REGIONS = operation("Regions")
RADIUS_WITHOUT_NEAR = "query($r: Float) { places(radiusMeters: $r) { edges { cursor } } }"

SHANGHAI = {"lat": 31.2304, "lon": 121.4737}
BOX = {"south": 31.1, "west": 121.3, "north": 31.4, "east": 121.6}
ALL_KINDS = ["SERVICE_HALL", "CLINIC", "ELDERLY_CARE"]


def b64(text: str) -> str:
    """A cursor-shaped string: URL-safe base64 without padding, as the API hands them out."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def assert_bad_user_input(body: dict) -> None:
    assert body["data"] is None, body
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert CJK.search(body["errors"][0]["message"]), f"message is not Chinese: {body}"


def post_raw(client, body: str | bytes, content_type: str = "application/json"):
    return client.post("/graphql", data=body, content_type=content_type)


def assert_graphql_refusal(response, code: str) -> dict:  # noqa: ANN001
    """A refusal in GraphQL-over-HTTP form: JSON, one error, a Chinese message, the code."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)
    body = response.get_json()
    assert [error["extensions"]["code"] for error in body["errors"]] == [code], body
    assert re.search(r"[\u4e00-\u9fff]", body["errors"][0]["message"]), body
    return body


# (query, variables): each is one request that must be answered with BAD_USER_INPUT.
BAD_INPUT = {
    # coordinates out of range
    "near_lat_above_90": (NEARBY, {"near": {"lat": 90.5, "lon": 121.0}}),
    "near_lat_below_minus_90": (NEARBY, {"near": {"lat": -91.0, "lon": 121.0}}),
    "near_lon_above_180": (NEARBY, {"near": {"lat": 31.0, "lon": 180.01}}),
    "near_lon_below_minus_180": (NEARBY, {"near": {"lat": 31.0, "lon": -200.0}}),
    "near_lat_out_of_range_in_gcj02": (NEARBY, {"near": {"lat": 95.0, "lon": 121.0,
                                                         "crs": "GCJ02"}}),
    "near_lon_out_of_range_in_bd09": (NEARBY, {"near": {"lat": 31.0, "lon": 181.0,
                                                        "crs": "BD09"}}),
    "region_at_lat_above_90": (WHERE_AM_I, {"point": {"lat": 100.0, "lon": 121.0}}),
    "region_at_lon_below_minus_180": (WHERE_AM_I, {"point": {"lat": 31.0, "lon": -181.0}}),
    "region_at_out_of_range_in_gcj02": (WHERE_AM_I, {"point": {"lat": -90.5, "lon": 121.0,
                                                              "crs": "GCJ02"}}),
    "bbox_north_above_90": (BROWSE, {"bbox": {**BOX, "north": 90.1}}),
    "bbox_east_above_180": (BROWSE, {"bbox": {**BOX, "east": 180.5}}),
    "bbox_west_below_minus_180_in_bd09": (BROWSE, {"bbox": {**BOX, "west": -181.0,
                                                            "crs": "BD09"}}),
    "bbox_south_below_minus_90_with_near": (NEARBY, {"near": SHANGHAI,
                                                     "bbox": {**BOX, "south": -95.0}}),
    # a literal in the document that overflows to infinity
    "region_at_literal_1e400": ("{ regionAt(point: {lat: 1e400, lon: 121}) { code } }", None),
    "near_literal_minus_1e400": (
        "{ places(near: {lat: 31, lon: -1e400}) { edges { cursor } } }", None),
    # radius
    "radius_zero": (NEARBY, {"near": SHANGHAI, "radiusMeters": 0}),
    "radius_negative": (NEARBY, {"near": SHANGHAI, "radiusMeters": -100.0}),
    "radius_just_above_50km": (NEARBY, {"near": SHANGHAI, "radiusMeters": 50_000.001}),
    "radius_1e9": (NEARBY, {"near": SHANGHAI, "radiusMeters": 1e9}),
    "radius_without_near": (RADIUS_WITHOUT_NEAR, {"r": 1000.0}),
    # page size
    "first_zero": (BROWSE, {"first": 0}),
    "first_negative": (BROWSE, {"first": -1}),
    "first_101": (BROWSE, {"first": 101}),
    "first_zero_with_near": (NEARBY, {"near": SHANGHAI, "first": 0}),
    "first_101_with_near": (NEARBY, {"near": SHANGHAI, "first": 101}),
    "first_beyond_32_bit": (BROWSE, {"first": 2**31}),
    # variables that do not fit their declared types
    "near_missing": (NEARBY, {}),
    "near_lat_as_string": (NEARBY, {"near": {"lat": "31.2", "lon": 121.47}}),
    "near_crs_unknown": (NEARBY, {"near": {**SHANGHAI, "crs": "CGCS2000"}}),
    # inverted bbox
    "bbox_south_above_north": (BROWSE, {"bbox": {**BOX, "south": 31.5}}),
    "bbox_west_above_east": (BROWSE, {"bbox": {**BOX, "west": 121.7}}),
    "bbox_inverted_in_gcj02": (BROWSE, {"bbox": {**BOX, "south": 31.5, "crs": "GCJ02"}}),
    "bbox_inverted_with_near": (NEARBY, {"near": SHANGHAI, "bbox": {**BOX, "west": 121.7}}),
    # unknown region codes
    "region_code_unknown": (BROWSE, {"regionCode": "999999"}),
    "region_code_not_a_code": (BROWSE, {"regionCode": "上海"}),
    "region_code_empty": (BROWSE, {"regionCode": ""}),
    "region_code_not_in_china": (BROWSE, {"regionCode": "990000"}),
    "region_code_unknown_with_near": (NEARBY, {"near": SHANGHAI, "regionCode": "310199"}),
    "region_code_unknown_with_other_filters": (
        BROWSE, {"regionCode": "999999", "kinds": ALL_KINDS, "bbox": BOX}),
    "regions_parent_code_unknown": (REGIONS, {"parentCode": "999999"}),
    "regions_parent_code_unknown_with_level": (REGIONS, {"parentCode": "110199",
                                                         "level": "CITY"}),
    # malformed cursors
    "cursor_garbage": (BROWSE, {"after": "not a cursor!"}),
    "cursor_garbage_with_near": (NEARBY, {"near": SHANGHAI, "after": "%%%"}),
    "cursor_empty": (BROWSE, {"after": ""}),
    "cursor_not_ascii": (BROWSE, {"after": "游标"}),
    "cursor_base64_of_non_json": (BROWSE, {"after": b64("hello, world")}),
    "cursor_base64_of_non_json_with_near": (NEARBY, {"near": SHANGHAI,
                                                     "after": b64("\x00\x01\x02")}),
    "cursor_base64_of_json_list": (BROWSE, {"after": b64("[1, 2]")}),
    "cursor_without_id": (BROWSE, {"after": b64('{"o":"i"}')}),
    "cursor_with_fractional_id": (BROWSE, {"after": b64('{"o":"i","i":1.5}')}),
    "cursor_with_string_id": (BROWSE, {"after": b64('{"o":"i","i":"7"}')}),
    "cursor_negative_distance": (NEARBY, {"near": SHANGHAI,
                                          "after": b64('{"o":"d","d":-1,"i":1}')}),
    "cursor_nan_distance": (NEARBY, {"near": SHANGHAI,
                                     "after": b64('{"o":"d","d":NaN,"i":1}')}),
    "cursor_infinite_distance": (NEARBY, {"near": SHANGHAI,
                                          "after": b64('{"o":"d","d":1e400,"i":1}')}),
    "cursor_distance_as_string": (NEARBY, {"near": SHANGHAI,
                                           "after": b64('{"o":"d","d":"5","i":1}')}),
    # An id no place can have (beyond the id column's range) is not a cursor this API made.
    "cursor_id_beyond_32_bit": (BROWSE, {"after": b64(f'{{"o":"i","i":{2**31}}}')}),
    "cursor_id_beyond_64_bit": (BROWSE, {"after": b64(f'{{"o":"i","i":{10**30}}}')}),
    "cursor_id_beyond_64_bit_with_near": (
        NEARBY, {"near": SHANGHAI, "after": b64(f'{{"o":"d","d":1.0,"i":{10**30}}}')}),
}


@pytest.mark.parametrize(("query", "variables"), list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_graphql__bad_input__bad_user_input_in_chinese_without_data(demo_client, query, variables):
    body = gql(demo_client, query, variables)

    assert_bad_user_input(body)


# Variables as raw JSON text: NaN, Infinity and 1e400 are what a careless client serializer sends.
RAW_VARIABLES = {
    "near_lat_nan": (NEARBY, '{"near": {"lat": NaN, "lon": 121.47}}'),
    "near_lon_infinity": (NEARBY, '{"near": {"lat": 31.23, "lon": Infinity}}'),
    "near_lat_minus_infinity": (NEARBY, '{"near": {"lat": -Infinity, "lon": 121.47}}'),
    "near_lat_1e400": (NEARBY, '{"near": {"lat": 1e400, "lon": 121.47}}'),
    "near_lon_nan_in_gcj02": (NEARBY, '{"near": {"lat": 31.23, "lon": NaN, "crs": "GCJ02"}}'),
    "region_at_lat_nan": (WHERE_AM_I, '{"point": {"lat": NaN, "lon": 121.47}}'),
    "region_at_lon_1e400": (WHERE_AM_I, '{"point": {"lat": 31.23, "lon": 1e400}}'),
    "bbox_south_nan": (
        BROWSE, '{"bbox": {"south": NaN, "west": 121.3, "north": 31.4, "east": 121.6}}'),
    "bbox_east_infinity": (
        BROWSE, '{"bbox": {"south": 31.1, "west": 121.3, "north": 31.4, "east": Infinity}}'),
    "radius_nan": (NEARBY, '{"near": {"lat": 31.23, "lon": 121.47}, "radiusMeters": NaN}'),
    "radius_infinity": (
        NEARBY, '{"near": {"lat": 31.23, "lon": 121.47}, "radiusMeters": Infinity}'),
    "radius_1e400": (NEARBY, '{"near": {"lat": 31.23, "lon": 121.47}, "radiusMeters": 1e400}'),
}


@pytest.mark.parametrize(("query", "variables_json"), list(RAW_VARIABLES.values()),
                         ids=list(RAW_VARIABLES))
def test_graphql__non_finite_number_in_variables__bad_user_input_in_chinese(
    demo_client, query, variables_json
):
    # given: a body Python's json module accepts, with a non-finite number in the variables
    body_text = f'{{"query": {json.dumps(query)}, "variables": {variables_json}}}'

    # when
    response = post_raw(demo_client, body_text)

    # then
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_bad_user_input(response.get_json())


def test_graphql__cursor_of_id_order_used_with_near__bad_user_input(demo_client):
    # given: a real cursor of the listing by id
    page = gql_data(demo_client, BROWSE, {"regionCode": "310101", "first": 3})["places"]
    cursor = page["pageInfo"]["endCursor"]
    assert cursor

    # when: it is sent with `near`
    body = gql(demo_client, NEARBY, {"near": SHANGHAI, "after": cursor})

    # then
    assert_bad_user_input(body)


def test_graphql__cursor_of_near_order_used_without_near__bad_user_input(demo_client):
    # given: a real cursor of the nearest-first listing
    page = gql_data(demo_client, NEARBY, {"near": SHANGHAI, "first": 3})["places"]
    cursor = page["pageInfo"]["endCursor"]
    assert cursor

    # when: it is sent without `near`
    body = gql(demo_client, BROWSE, {"after": cursor})

    # then
    assert_bad_user_input(body)


def test_graphql__bad_input_next_to_a_good_field__no_partial_data(demo_client):
    # given: one good root field and one bad one in the same document
    query = """{
      regions(level: PROVINCE) { code }
      places(regionCode: "999999") { edges { cursor } }
    }"""

    # when
    body = gql(demo_client, query)

    # then: the whole answer is withheld, not only the bad field
    assert_bad_user_input(body)


NOT_A_GRAPHQL_REQUEST = {
    "not_json": ("this is not json", "application/json"),
    "empty_body": ("", "application/json"),
    "truncated_json": ('{"query": "{ regions { code } }"', "application/json"),
    "json_array": ("[1]", "application/json"),
    "json_list_of_requests": ('[{"query": "{ regions { code } }"}]', "application/json"),
    "json_string": ('"{ regions { code } }"', "application/json"),
    "json_number": ("42", "application/json"),
    "json_null": ("null", "application/json"),
    "non_utf8_bytes": (b'{"query": "\xff\xfe{ regions { code } }"}', "application/json"),
    "gbk_encoded_json": ('{"query": "{ regions(parentCode: \\"上海\\") { code } }"}'.encode("gbk"),
                         "application/json"),
    "missing_query": ('{"variables": {}}', "application/json"),
    "query_null": ('{"query": null}', "application/json"),
    "query_not_a_string": ('{"query": 5}', "application/json"),
    "query_blank": ('{"query": "   "}', "application/json"),
    "variables_not_an_object": ('{"query": "{ regions { code } }", "variables": [1]}',
                                "application/json"),
    "content_type_text_plain": ('{"query": "{ regions { code } }"}', "text/plain"),
    "content_type_xml": ('{"query": "{ regions { code } }"}', "application/xml"),
    "content_type_missing": ('{"query": "{ regions { code } }"}', ""),
}


@pytest.mark.parametrize(("body", "content_type"), list(NOT_A_GRAPHQL_REQUEST.values()),
                         ids=list(NOT_A_GRAPHQL_REQUEST))
def test_graphql__not_a_graphql_request__400(demo_client, body, content_type):
    response = post_raw(demo_client, body, content_type)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert_graphql_refusal(response, "BAD_REQUEST")


SYNTAX_ERRORS = {
    "unclosed_selection": "{ places { edges { cursor }",
    "unclosed_brace_only": "{",
    "stray_closing_brace": "}",
    "not_graphql_at_all": "SELECT * FROM place",
    "bad_argument_syntax": "{ places(first: ) { edges { cursor } } }",
}


@pytest.mark.parametrize("query", list(SYNTAX_ERRORS.values()), ids=list(SYNTAX_ERRORS))
def test_graphql__syntax_error__graphql_parse_failed(demo_client, query):
    body = gql(demo_client, query)

    assert body.get("data") is None
    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"], body


INVALID_DOCUMENTS = {
    "unknown_root_field": "{ nope }",
    "unknown_nested_field": "{ places { edges { node { secret } } } }",
    "unknown_argument": "{ places(color: RED) { edges { cursor } } }",
    "unknown_enum_value": "{ places(kinds: [SHOP]) { edges { cursor } } }",
    "argument_of_wrong_type": '{ places(first: "many") { edges { cursor } } }',
    "missing_required_argument": "{ place { id } }",
    "object_without_selection": "{ places }",
}


@pytest.mark.parametrize("query", list(INVALID_DOCUMENTS.values()), ids=list(INVALID_DOCUMENTS))
def test_graphql__invalid_document__graphql_validation_failed(demo_client, query):
    body = gql(demo_client, query)

    assert body.get("data") is None
    assert error_codes(body)
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}, body
