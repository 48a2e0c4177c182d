"""LeanExecutionContext against graphql-core's own executor: the same answers, errors included."""

from __future__ import annotations

import json

import graphene
import pytest

from backend.schema.schema import schema as service_schema
from graphql import execute, parse
from mobile_api.graphql import request_context
from mobile_api.graphql.execution import LeanExecutionContext, plain_field
from tests.helpers import operation


class Broken:
    @property
    def name(self):
        raise RuntimeError("property failed")


class Item(graphene.ObjectType):
    name = graphene.String()
    title = graphene.String(required=True)
    count = graphene.Int()
    ratio = graphene.Float(required=True)
    flag = graphene.Boolean()
    shouted = graphene.String()

    @staticmethod
    def resolve_shouted(item, info):
        return str(getattr(item, "name", item.get("name") if isinstance(item, dict) else ""))


class Query(graphene.ObjectType):
    items = graphene.List(Item)
    strict = graphene.Field(Item)

    @staticmethod
    def resolve_items(root, info):
        class Obj:
            name, title, count, ratio, flag = "对象", "t", 3, 0.5, True

        return [
            Obj(),
            {"name": "字典", "title": "d", "count": 7, "ratio": 2.0, "flag": False},
            {"name": None, "title": "n", "count": None, "ratio": 1},  # nulls where allowed
            {"title": "x", "count": "not a number", "ratio": 1.0},  # Int refuses the value
            {"title": None, "ratio": 1.0},  # null in a non-null field: the item becomes null
            Broken(),  # a resolver-side exception
            {"title": "f", "ratio": float("nan")},  # Float refuses NaN
        ]

    @staticmethod
    def resolve_strict(root, info):
        return {"title": None, "ratio": 1.0}


SMALL = graphene.Schema(query=Query).graphql_schema

DOCUMENTS = [
    "{ items { name title count ratio flag shouted } }",
    "{ items { __typename alias: name name count } }",
    "{ items { name ...F } } fragment F on Item { title ratio }",
    "{ items { count } strict { title } }",
    "{ strict { name title } }",
]


def _both(schema, document: str, **kwargs):
    node = parse(document)
    lean = execute(schema, node, execution_context_class=LeanExecutionContext, **kwargs)
    plain = execute(schema, node, **kwargs)
    return lean, plain


def _formatted(result) -> str:
    return json.dumps(result.formatted, ensure_ascii=False, sort_keys=True, default=str)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_lean_execution__same_data_and_errors_as_graphql_core(document):
    # when: the same document by both executors
    lean, plain = _both(SMALL, document)

    # then: identical answers, including each error's message, path and location
    assert _formatted(lean) == _formatted(plain)


def test_lean_execution__errors_really_exercised():
    # when
    lean, _ = _both(SMALL, DOCUMENTS[0])

    # then: the fixture does reach the refusals (the comparison above is not vacuous)
    messages = [error.message for error in lean.errors]
    assert any("Int cannot represent" in m for m in messages)
    assert any("Float cannot represent" in m for m in messages)
    assert any("property failed" in m for m in messages)
    assert any("non-nullable field Item.title" in m for m in messages)
    assert lean.data["items"][0]["name"] == "对象"
    assert lean.data["items"][4] is None


def test_plain_field__only_default_resolvers_without_arguments_of_leaf_types():
    item = SMALL.type_map["Item"]
    query = SMALL.type_map["Query"]
    place = service_schema.graphql_schema.type_map["Place"]

    assert plain_field(item, "name") is not None
    assert plain_field(item, "shouted") is None  # its own resolver
    assert plain_field(query, "items") is None  # a list of objects
    assert plain_field(place, "location") is None  # takes an argument (crs)
    assert plain_field(place, "name").attname == "name"


@pytest.mark.parametrize("crs", ["WGS84", "GCJ02", "BD09"])
def test_lean_execution__nearby_page_equals_graphql_core(demo_app, crs):
    # given: the resident app's nearby document on the demo data
    document = operation("NearbyPlaces")
    variables = {"near": {"lat": 30.2741, "lon": 120.1551}, "radiusMeters": 20000.0,
                 "first": 30, "crs": crs}
    services = demo_app.extensions["servicemap"]

    # when: both executors, each with a fresh request context (graphql-core's own cannot
    # complete lazy values: its loaders answer each key at once)
    results = []
    for context_class in (LeanExecutionContext, None):
        context = request_context(services)
        context.loaders.eager = context_class is None
        try:
            results.append(execute(service_schema.graphql_schema, parse(document),
                                   context_value=context, variable_values=variables,
                                   execution_context_class=context_class))
        finally:
            context.close()

    # then
    lean, plain = results
    assert lean.errors is None
    assert len(lean.data["places"]["edges"]) == 30
    assert _formatted(lean) == _formatted(plain)
