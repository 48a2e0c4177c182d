"""What one document may ask: tokens, depth, aliases, root fields, cost, the deadline, and the
bounded lists the cost counts on — refused before anything runs, on both stores."""

from __future__ import annotations

import dataclasses
import time

import pytest
from graphql.language import Lexer, Source, TokenKind

from backend.app import create_app
from backend.config import Settings
from backend.core.paging import MAX_PAGE_SIZE
from backend.schema.schema import schema as service_schema
from graphql import get_introspection_query, get_named_type, is_list_type, is_non_null_type
from graphql import parse as parse_document
from mobile_api.graphql import limits
from tests.helpers import OPERATIONS_DIR, counting_statements, error_codes, gql, gql_data

SCHEMA = service_schema.graphql_schema
DEFAULTS = Settings(database_url="sqlite://")
DEFAULTS_LIMITS = limits.Limits()
# The 120-byte document: searches inside the items of searches (19,307 of them).
NESTED_SEARCHES = ("{place(id:1){serviceItems{places(first:20){edges{node{serviceItems{places("
                   "first:20){edges{node{id}}}}}}}}}}")


def alias_bomb(count: int, salt: str = "") -> str:
    """The issue's alias document: `count` aliased searches of 100 places each."""
    return "{" + " ".join(f"a{salt}{i}: places(first: 100) {{ edges {{ node {{ id }} }} }}"
                          for i in range(count)) + "}"


def tokens(text: str) -> int:
    lexer, count = Lexer(Source(text)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def refused(client, query: str, code: str, variables: dict | None = None) -> tuple[dict, float]:
    """Send a document that must be refused with `code`; the answer and the server's time."""
    started = time.perf_counter()
    body = gql(client, query, variables)
    elapsed = time.perf_counter() - started
    assert body["data"] is None, body
    assert error_codes(body) == [code], body
    return body, elapsed


# --- the documents the apps send ------------------------------------------------------------


def test_limits__every_operation_passes_with_room_to_spare() -> None:
    """Each document of graphql/operations/ at its worst (every `first` at the cap) costs at
    most half the limit, and stays well inside depth, aliases and tokens."""
    worst = {"first": MAX_PAGE_SIZE}
    print(f"\n{'document':26} {'cost@first=100':>14} {'cost':>7} depth aliases tokens")
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        document = parse_document(text)
        at_worst = limits.operation_cost(SCHEMA, document, worst)
        as_sent = limits.operation_cost(SCHEMA, document, {})
        print(f"{path.stem:26} {at_worst.cost:>14} {as_sent.cost:>7} {at_worst.depth:>5} "
              f"{at_worst.aliases:>7} {tokens(text):>6}")
        assert as_sent.cost <= at_worst.cost
        assert 2 * at_worst.cost <= DEFAULTS.graphql_max_cost, path.stem
        assert at_worst.depth + 3 <= DEFAULTS.graphql_max_depth, path.stem
        assert 2 * at_worst.aliases <= DEFAULTS.graphql_max_aliases, path.stem
        assert 2 * tokens(text) <= DEFAULTS.graphql_max_tokens, path.stem


def test_limits__every_list_field_has_a_bound() -> None:
    """A list field is a connection's page (its `first`) or has a stated maximum; and every
    stated maximum names a list field that exists."""
    unbounded = []
    for type_ in SCHEMA.type_map.values():
        if type_.name.startswith("__") or not hasattr(type_, "fields") or not hasattr(
                type_, "interfaces"):
            continue
        for name, field in type_.fields.items():
            field_type = field.type.of_type if is_non_null_type(field.type) else field.type
            if not is_list_type(field_type):
                continue
            sized_by_first = name == "edges" and type_.name.endswith("Connection")
            if not sized_by_first and limits.list_maximum(type_.name, name) is None:
                unbounded.append(f"{type_.name}.{name}")
    assert unbounded == []
    for parent, name in limits.LIST_MAXIMA:
        field = SCHEMA.type_map[parent].fields[name]
        field_type = field.type.of_type if is_non_null_type(field.type) else field.type
        assert is_list_type(field_type), (parent, name)
        assert get_named_type(field.type) is not None


def test_limits__variables_decide_the_page_size() -> None:
    document = parse_document("query($n: Int = 7) { places(first: $n) { edges { node { id } } } }")
    # 1 (places) + 1 (edges) + n × (node + id)
    assert limits.operation_cost(SCHEMA, document, {}).cost == 2 + 7 * 2
    assert limits.operation_cost(SCHEMA, document, {"n": 3}).cost == 2 + 3 * 2
    assert limits.operation_cost(SCHEMA, document, {"n": 10_000}).cost == 2 + 100 * 2
    assert limits.operation_cost(SCHEMA, document, {"n": "x"}).cost == 2 + 100 * 2


# --- refusals over HTTP, before anything runs ------------------------------------------------


@pytest.mark.parametrize(("document", "words"), [
    (NESTED_SEARCHES, "查询代价过高"),    # 120 bytes, 19,307 searches if it ran
    (alias_bomb(2000), "词法单元"),     # ~100 KB, 2,000 searches of 100 places
], ids=["nested-searches", "alias-bomb"])
def test_limits__attack_documents_refused_quickly_and_run_nothing(
        demo_app, demo_client, document: str, words: str) -> None:
    gql_data(demo_client, "{ __typename }")  # warm the worker
    times = []
    for _ in range(3):
        with counting_statements(demo_app) as statements:
            body, elapsed = refused(demo_client, document, "QUERY_TOO_COMPLEX")
        assert statements == []
        times.append(elapsed)
    assert words in body["errors"][0]["message"]
    print(f"\n{len(document)}-byte document refused in {min(times) * 1000:.2f} ms")
    assert min(times) < 0.050


@pytest.mark.parametrize(("query", "code", "words"), [
    ("{ place(id: 1) { region { parent { parent { parent { parent { parent { parent { parent {"
     " parent { parent { parent { parent { code } } } } } } } } } } } } } }",
     "QUERY_TOO_DEEP", "嵌套过深"),
    ("{ " + " ".join(f"c{i}: serviceItemCategories" for i in range(101)) + " }",
     "QUERY_TOO_COMPLEX", "别名过多"),
    # 100 aliases (allowed) and one more field: 101 at the root
    ("{ serviceItemCategories " + " ".join(f"c{i}: serviceItemCategories" for i in range(100))
     + " }", "QUERY_TOO_COMPLEX", "顶层字段过多"),
    # Fragments spread twice in a chain: 2^25 copies if walked naively, refused at once.
    ("{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}"
                             for i in range(25))
     + " fragment F25 on Query { places(first: 100) { edges { node { id } } } }",
     "QUERY_TOO_COMPLEX", "代价过高"),
    ("{ __schema { types { fields { type { fields { name } } } } } }",
     "QUERY_TOO_DEEP", "内省"),
])
def test_limits__refusals(demo_app, demo_client, query: str, code: str, words: str) -> None:
    with counting_statements(demo_app) as statements:
        body, _ = refused(demo_client, query, code)
    assert statements == []
    assert words in body["errors"][0]["message"]


def test_limits__page_size_from_variables(demo_client) -> None:
    document = ("query($n: Int) { places(first: $n) { edges { node { serviceItems {"
                " places(first: 3) { edges { node { id } } } } } } } }")
    data = gql_data(demo_client, document, {"n": 1})
    assert len(data["places"]["edges"]) == 1
    refused(demo_client, document, "QUERY_TOO_COMPLEX", {"n": 100})


def test_limits__remembered_checks__each_value_of_the_page_size_decided_again(demo_client
                                                                              ) -> None:
    # Allowed values are remembered per document; a refused value is refused every time,
    # before and after an allowed one, and an allowed one stays allowed.
    document = ("query($n: Int) { places(first: $n) { edges { node { serviceItems {"
                " places(first: 3) { edges { node { id } } } } } } } }")
    for _ in range(2):
        assert len(gql_data(demo_client, document, {"n": 1})["places"]["edges"]) == 1
        refused(demo_client, document, "QUERY_TOO_COMPLEX", {"n": 100})
        refused(demo_client, document, "QUERY_TOO_COMPLEX", {})  # no value: the largest page


def test_limits__check_remembered__only_what_it_allowed_and_a_bounded_number() -> None:
    document = parse_document("query($n: Int, $s: String) { places(first: $n, text: $s) {"
                              " edges { node { serviceItems { places(first: 3) {"
                              " edges { node { id } } } } } } } }")
    remembered: dict = {}
    outcomes = set()
    for n in range(1, 101):
        allowed = not limits.check_remembered(remembered, SCHEMA, document, None, {"n": n},
                                              DEFAULTS_LIMITS)
        assert allowed == (not limits.check(SCHEMA, document, None, {"n": n}, DEFAULTS_LIMITS))
        outcomes.add(allowed)
    assert outcomes == {True, False}
    assert remembered[None] == ("n",)  # the text does not change the cost
    assert all(value is True for key, value in remembered.items() if key is not None)
    assert len(remembered) <= limits.REMEMBERED_CHECKS
    # A remembered value answers from memory whatever the other variables say.
    assert limits.check_remembered(remembered, SCHEMA, document, None, {"n": 1, "s": "x"},
                                   DEFAULTS_LIMITS) == []
    assert limits.check_remembered(remembered, SCHEMA, document, None, {"n": 100},
                                   DEFAULTS_LIMITS)


def test_limits__graphiql_introspection_runs_in_development(demo_client) -> None:
    data = gql_data(demo_client, get_introspection_query())
    assert len(data["__schema"]["types"]) == len(SCHEMA.type_map)


def test_limits__undefined_and_cyclic_fragments_are_validation_errors(demo_client) -> None:
    for query in ("{ ...Missing }",
                  "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"):
        body = gql(demo_client, query)
        assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}, body


def test_limits__settings_change_the_limits(demo_app) -> None:
    settings = dataclasses.replace(demo_app.extensions["servicemap"].settings,
                                   graphql_max_depth=3)
    client = create_app(settings).test_client()
    gql_data(client, "{ place(id: 1) { region { code } } }")
    refused(client, "{ place(id: 1) { region { parent { code } } } }", "QUERY_TOO_DEEP")


def test_limits__a_query_past_its_deadline_stops(demo_app) -> None:
    settings = dataclasses.replace(demo_app.extensions["servicemap"].settings,
                                   graphql_timeout_ms=1)
    app = create_app(settings)
    client = app.test_client()
    query = (OPERATIONS_DIR / "FindPlaces.graphql").read_text(encoding="utf-8")
    body, _ = refused(client, query, "QUERY_TIMEOUT", {"first": 100})
    assert "查询超时" in body["errors"][0]["message"]
    # Mutations are not stopped halfway: the deadline is for queries.
    body = gql(client, "mutation { registerDevice(token: \"t\", platform: ANDROID) { errors "
                       "{ code } } }")
    assert error_codes(body) == ["UNAUTHENTICATED"], body


def test_limits__a_list_longer_than_its_maximum_is_cut(demo_app, demo_client, monkeypatch
                                                       ) -> None:
    query = "{ regionAt(point: {lat: 30.2741, lon: 120.1551}) { code } }"
    assert len(gql_data(demo_client, query)["regionAt"]) == 3
    monkeypatch.setitem(limits.LIST_MAXIMA, ("Query", "regionAt"), 2)
    from mobile_api.graphql import execution
    execution._list_maximum.cache_clear()
    try:
        assert len(gql_data(demo_client, query)["regionAt"]) == 2
    finally:
        monkeypatch.undo()
        execution._list_maximum.cache_clear()
