"""`serviceItems { places }` searches every item of the page in one batch: the pages are the
ones each item's own search (`places(serviceItemId:)`) gives, whatever the criteria."""

from __future__ import annotations

import random

import pytest

from tests.helpers import gql_data

PAGE = """
query($first: Int, $near: GeoPointInput, $radius: Float, $text: String,
      $openAt: DateTime, $after: String) {
  serviceItems(first: 100) {
    edges { node { id places(first: $first, near: $near, radiusMeters: $radius, text: $text,
                             openAt: $openAt, after: $after) {
      edges { cursor distanceMeters node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }
  }
}
"""
ONE = """
query($item: ID, $first: Int, $near: GeoPointInput, $radius: Float, $text: String,
      $openAt: DateTime, $after: String) {
  places(serviceItemId: $item, first: $first, near: $near, radiusMeters: $radius, text: $text,
         openAt: $openAt, after: $after) {
    edges { cursor distanceMeters node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
CENTRES = [(30.2741, 120.1551), (31.2304, 121.4737), (32.0603, 118.7969), (31.8206, 117.2272),
           (29.8683, 121.5440), (30.5, 119.0)]


def _cases(seed: int):
    rng = random.Random(seed)
    for _ in range(6):
        lat, lon = rng.choice(CENTRES)
        variables = {"first": rng.choice([1, 3, 10, 40])}
        shape = rng.choice(["near", "near-radius", "id", "open", "text"])
        if shape.startswith("near") or shape == "open":
            variables["near"] = {"lat": lat + rng.uniform(-0.05, 0.05),
                                 "lon": lon + rng.uniform(-0.05, 0.05)}
        if shape == "near-radius":
            variables["radius"] = rng.choice([500.0, 5000.0, 40000.0])
        if shape == "open":
            variables["openAt"] = "2026-12-07T10:00:00+08:00"
        if shape == "text":
            variables["text"] = rng.choice(["中心", "zx", "服务"])
        yield shape, variables


@pytest.mark.parametrize("seed", range(4))
def test_item_places__batched_pages__equal_each_items_own_search(demo_client, seed):
    for shape, variables in _cases(seed):
        # when: every item's places in one document
        batched = gql_data(demo_client, PAGE, variables)["serviceItems"]["edges"]

        # then: each equals the item's own search with the same criteria
        for edge in batched:
            own = gql_data(demo_client, ONE, {**variables, "item": edge["node"]["id"]})
            assert edge["node"]["places"] == own["places"], (shape, variables)


def test_item_places__second_page_by_cursor__equals_own_second_page(demo_client):
    variables = {"first": 2, "near": {"lat": 30.2741, "lon": 120.1551}}
    first_page = gql_data(demo_client, PAGE, variables)["serviceItems"]["edges"]
    item = next(edge for edge in first_page
                if edge["node"]["places"]["pageInfo"]["hasNextPage"])
    after = item["node"]["places"]["pageInfo"]["endCursor"]
    batched = gql_data(demo_client, PAGE, {**variables, "after": after})["serviceItems"]["edges"]
    own = gql_data(demo_client, ONE, {**variables, "after": after, "item": item["node"]["id"]})
    found = next(edge for edge in batched if edge["node"]["id"] == item["node"]["id"])
    assert found["node"]["places"] == own["places"]
    assert own["places"]["pageInfo"]["hasPreviousPage"] is True


def test_item_places__bad_page_size__refused_in_chinese(demo_client):
    from tests.helpers import gql

    body = gql(demo_client, PAGE, {"first": 0})
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_USER_INPUT"}
    assert all("first" in error["message"] for error in body["errors"])
