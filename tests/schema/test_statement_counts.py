"""The statements a page costs do not grow with the page: each document of
graphql/operations/ that takes a page size, run at two page sizes on the demo data, sends
the same number of SQL statements (loaders batch whatever the page asks for)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.helpers import gql_data, operation

HANGZHOU = {"lat": 30.2741, "lon": 120.1551}
# document -> its variables apart from `first`
PAGED_DOCUMENTS = {
    "NearbyPlaces": {"near": HANGZHOU, "radiusMeters": 30000.0},
    "FindPlaces": {"near": HANGZHOU, "radiusMeters": 30000.0},
    "BrowsePlaces": {"regionCode": "330100"},
    "SearchServiceItems": {},
    # by id: a nearest-first search may widen its circle once more for a longer page
    "ServiceItemPlaces": {"id": "1"},
}
# A relation the page shows, asked for through an ad hoc document (not the app's): every
# place's windows and their items, every item's places.
NESTED = {
    "item places": ("query($first: Int) { serviceItems(first: $first) { edges { node { id "
                    "places(first: 5, near: {lat: 30.27, lon: 120.15}) { edges { distanceMeters "
                    "node { id region { name } } } } } } } }"),
    "windows": ("query($first: Int) { places(regionCode: \"330100\", kinds: [SERVICE_HALL], "
                "first: $first) { edges { node { id windows { id serviceItems { id } "
                "place { id region { name parent { name } } } } } } } }"),
}
SMALL, LARGE = 3, 20
# Searches that may widen their circle, or double their batch, a few more times for a longer
# page: statements allowed beyond the small page's (a bound, not one per row: with one search
# per item, `item places` cost 3 statements per item).
ROUNDS_ALLOWED = {"item places": 3}


def _statements(app, client, document: str, variables: dict) -> tuple[int, dict]:
    engine = app.extensions["servicemap"].engine
    counted = []

    def count(*_args) -> None:
        counted.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        data = gql_data(client, document, variables)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted), data


def _edges(data: dict) -> int:
    node = data
    while "edges" not in node:
        node = next(value for value in node.values() if isinstance(value, dict))
    return len(node["edges"])


@pytest.mark.parametrize("name", sorted(PAGED_DOCUMENTS))
def test_statements__operation_at_two_page_sizes__same_count(demo_app, demo_client, name):
    # given: a warm-up run (lazy imports, the region index, cached statements)
    document, variables = operation(name), PAGED_DOCUMENTS[name]
    _statements(demo_app, demo_client, document, {**variables, "first": SMALL})

    # when
    small, small_data = _statements(demo_app, demo_client, document,
                                    {**variables, "first": SMALL})
    large, large_data = _statements(demo_app, demo_client, document,
                                    {**variables, "first": LARGE})

    # then: the large page really is larger, and costs what the small one does
    assert _edges(large_data) > _edges(small_data) == SMALL
    print(f"{name}: {small} statements at first={SMALL}, {large} at first={LARGE}")
    assert large == small


@pytest.mark.parametrize("name", sorted(NESTED))
def test_statements__nested_relations_at_two_page_sizes__same_count(demo_app, demo_client,
                                                                     name):
    document = NESTED[name]
    _statements(demo_app, demo_client, document, {"first": SMALL})
    small, small_data = _statements(demo_app, demo_client, document, {"first": SMALL})
    large, large_data = _statements(demo_app, demo_client, document, {"first": LARGE})
    assert _edges(large_data) > _edges(small_data)
    print(f"{name}: {small} statements at first={SMALL}, {large} at first={LARGE}")
    assert small <= large <= small + ROUNDS_ALLOWED.get(name, 0)
