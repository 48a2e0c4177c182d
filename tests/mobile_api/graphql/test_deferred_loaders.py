"""Lazy values of DataLoaders, completed in batches by LeanExecutionContext: the same answers
and errors as graphql-core's own executor with loaders that answer each key at once, and one
batch per level of the page."""

from __future__ import annotations

import json

import graphene
import pytest

from backend.schema.core.dataloaders import DataLoader, Loaders, loaders, then
from graphql import execute, parse
from mobile_api.graphql.execution import LeanExecutionContext

BATCHES: list[tuple[str, list]] = []


class Parents(DataLoader):
    """Key n -> a node n // 2 (None for 0; key 13 has a broken parent)."""

    def batch_load(self, keys):
        BATCHES.append(("parents", list(keys)))
        return [None if key == 0 else {"n": key // 2, "broken": key == 13} for key in keys]


class Failing(DataLoader):
    def batch_load(self, keys):
        BATCHES.append(("failing", list(keys)))
        raise ValueError("batch failed")


class Node(graphene.ObjectType):
    n = graphene.Int(required=True)
    parent = graphene.Field(lambda: Node)
    strict_parent = graphene.Field(lambda: Node, required=True)
    grandparent_name = graphene.String()
    label = graphene.String(required=True)
    failing = graphene.String()
    strict_failing = graphene.String(required=True)

    @staticmethod
    def resolve_parent(node, info):
        return loaders(info)[Parents].load(node["n"])

    @staticmethod
    def resolve_strict_parent(node, info):
        return loaders(info)[Parents].load(node["n"])

    @staticmethod
    def resolve_grandparent_name(node, info):
        return then(loaders(info)[Parents].load(node["n"]),
                    lambda parent: None if parent is None else then(
                        loaders(info)[Parents].load(parent["n"]),
                        lambda grand: None if grand is None else f"g{grand['n']}"))

    @staticmethod
    def resolve_label(node, info):
        if node.get("broken"):
            return None  # null in a non-null field
        return f"#{node['n']}"

    @staticmethod
    def resolve_failing(node, info):
        return loaders(info)[Failing].load(node["n"])

    @staticmethod
    def resolve_strict_failing(node, info):
        return loaders(info)[Failing].load(node["n"])


class Query(graphene.ObjectType):
    nodes = graphene.List(graphene.NonNull(Node), required=True)
    loose_nodes = graphene.List(Node)
    one = graphene.Field(Node, n=graphene.Int(required=True))
    strict_one = graphene.Field(Node, n=graphene.Int(required=True), required=True)

    @staticmethod
    def resolve_nodes(root, info):
        return [{"n": n} for n in (26, 7, 1, 27, 0)]

    @staticmethod
    def resolve_loose_nodes(root, info):
        return [{"n": n} for n in (26, 7, 1, 27, 0)]

    @staticmethod
    def resolve_one(root, info, n):
        return loaders(info)[Parents].load(n)

    @staticmethod
    def resolve_strict_one(root, info, n):
        return loaders(info)[Parents].load(n)


SCHEMA = graphene.Schema(query=Query).graphql_schema

DOCUMENTS = [
    "{ nodes { n parent { n label parent { n label } } grandparentName } }",
    "{ looseNodes { n parent { n parent { label } } } }",  # 26 -> 13 -> broken: nulls it
    "{ looseNodes { n strictParent { n } } }",  # 0: a null strictParent nulls the item
    "{ nodes { n strictParent { n } } }",  # ... and through [Node!]! the whole answer
    "{ nodes { n failing } }",
    "{ looseNodes { n strictFailing } }",
    "{ one(n: 26) { n parent { label } } strictOne(n: 0) { n } }",
    "{ a: one(n: 9) { n } b: one(n: 0) { n } c: strictOne(n: 5) { parent { n } } }",
]


class Context:
    def __init__(self, eager: bool) -> None:
        self.loaders = Loaders(self, eager=eager)


def _formatted(result) -> str:
    return json.dumps(result.formatted, ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_deferred__lazy_fields__same_answer_and_errors_as_graphql_core(document):
    # when: batched lazies in our executor, and graphql-core's executor with eager loaders
    lean = execute(SCHEMA, parse(document), context_value=Context(eager=False),
                   execution_context_class=LeanExecutionContext)
    plain = execute(SCHEMA, parse(document), context_value=Context(eager=True))

    # then
    assert _formatted(lean) == _formatted(plain)


def test_deferred__fixture_reaches_every_kind_of_null():
    answers = [execute(SCHEMA, parse(d), context_value=Context(eager=True)) for d in DOCUMENTS]
    assert {error.path[-1] for error in answers[0].errors} == {"label"}  # the broken node
    assert answers[1].data["looseNodes"][0]["parent"]["parent"] is None  # at the nullable field
    assert answers[2].data["looseNodes"][4] is None  # nulled at the nullable list item
    assert answers[3].data is None  # nothing nullable up to the root
    assert answers[4].data["nodes"][0]["failing"] is None
    assert answers[6].data is None


def test_deferred__one_batch_per_level_of_the_page():
    BATCHES.clear()
    result = execute(SCHEMA, parse(DOCUMENTS[0]), context_value=Context(eager=False),
                     execution_context_class=LeanExecutionContext)
    assert result.data["nodes"][0]["parent"]["n"] == 13
    # the parents of the 5 nodes (their grandparent lookups share the keys) in one batch,
    # then the parents of those parents in a second
    assert BATCHES == [("parents", [26, 7, 1, 27, 0]), ("parents", [13, 3])]  # 0 was loaded already
