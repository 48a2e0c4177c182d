"""Execution plans (mobile_api/graphql/plans.py) against graphql-core: every query document of
graphql/operations/, as the user who sends it (the statement contract's cases), with its
variables and with random variations of them (nulls, wrong types, values out of range, ids
nobody has), on both stores: the answer's bytes are the same from both executors, errors
included; the ordinary request really is answered by its plan."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from backend.booking import appointments
from backend.schema.schema import schema
from graphql import OperationDefinitionNode, OperationType, execute, parse
from mobile_api.graphql import plans, request_context, view
from mobile_api.graphql.execution import LeanExecutionContext
from mobile_api.graphql.plans import PlanAbandoned, build_plans, run_plan
from tests.booking.conftest import RESIDENT
from tests.helpers import OPERATIONS_DIR, operation, post_graphql
from tests.schema.test_operation_contract import CASES, demo  # noqa: F401

VARIATIONS = 8


def _queries() -> list[str]:
    names = []
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        operations = [d for d in parse(path.read_text(encoding="utf-8")).definitions
                      if isinstance(d, OperationDefinitionNode)]
        if operations[0].operation == OperationType.QUERY:
            names.append(path.stem)
    return names


QUERIES = _queries()


def _vary(value, rng: random.Random):  # noqa: ANN001, ANN202
    """A variation of one variable's value: what a buggy or hostile client might send."""
    choice = rng.randrange(8)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice(["", "不存在", "x" * 300, "sha256:00", "-1", "9" * 30])
    if choice == 2:
        return rng.choice([0, -1, 101, 2**31, 2**40, 1.5, -0.0])
    if choice == 3:
        return rng.choice([True, [], {}, [None], {"lat": 91, "lon": 0}])
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        return {**value, key: _vary(value[key], rng)}
    if isinstance(value, list) and value:
        return [_vary(value[0], rng), *value[1:]]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * rng.choice([-1, 10, 1000, 0.5])
    if isinstance(value, str) and value.isdigit():
        return str(int(value) + rng.choice([1, 10**6]))
    return value


def _spy_on_plans(monkeypatch) -> list[str]:  # noqa: ANN001
    """How each run of a plan ends from now on ("ran" / "abandoned"), in order."""
    outcomes: list[str] = []

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            data = run_plan(*args, **kwargs)
        except PlanAbandoned:
            outcomes.append("abandoned")
            raise
        outcomes.append("ran")
        return data

    monkeypatch.setattr(view, "run_plan", spy)
    return outcomes


def _answers(ctx, document: str, uid: str | None, variables: dict,  # noqa: ANN001
             monkeypatch) -> tuple[bytes, bytes, list[str]]:
    """The answer's bytes with plans on and off, and how the plan ended ("ran"/"abandoned")."""
    graphql_view = ctx.app.extensions["graphql_view"]
    outcomes = _spy_on_plans(monkeypatch)
    headers = ctx.headers(uid) if uid is not None else {}
    answers = []
    for enabled in (True, False):
        graphql_view.plans_enabled = enabled
        try:
            response = post_graphql(ctx.app.test_client(), document, variables, headers)
        finally:
            graphql_view.plans_enabled = True
        answers.append(response.status_code.to_bytes(2, "big") + response.get_data())
    return answers[0], answers[1], outcomes


def test_plans__every_query_document__has_a_plan():
    for name in QUERIES:
        plans = build_plans(schema.graphql_schema, parse(operation(name)))
        assert name in plans and None in plans, f"{name}: no execution plan"


def test_plans__not_for_other_mutations_directives_or_introspection():
    for document in (operation("CancelAppointment"),
                     # a planned mutation with a second root field: no plan either
                     "mutation($s: ID!, $i: ID!) { a: bookAppointment(slotId: $s, "
                     "serviceItemId: $i, idempotencyKey: \"a\") { errors { code } } "
                     "b: bookAppointment(slotId: $s, serviceItemId: $i, "
                     "idempotencyKey: \"b\") { errors { code } } }",
                     "query($x: Boolean!) { clusters @include(if: $x) { code } }",
                     "{ __typename clusters { code } }",
                     "{ __schema { queryType { name } } }"):
        assert build_plans(schema.graphql_schema, parse(document)) == {}, document


@pytest.mark.parametrize("name", QUERIES)
def test_plans__query_document__same_bytes_as_graphql_core(request, monkeypatch, store_name,
                                                          name):
    case = CASES[name]
    ctx = request.getfixturevalue(case.fixture)
    uid, variables = case.prepare(ctx, case.sizes[0] if case.sizes else None)
    document = operation(name)

    # when: the document as the app sends it
    planned, core, outcomes = _answers(ctx, document, uid, variables, monkeypatch)

    # then: answered by the plan, with graphql-core's bytes
    assert outcomes == ["ran"], f"{name}: the plan did not answer ({outcomes})"
    assert b'"errors"' not in planned, planned[:500]
    assert planned == core

    # and: so are its variations, errors included
    rng = random.Random(f"{name}-{request.node.callspec.id}")
    abandoned = 0
    for _ in range(VARIATIONS):
        varied = dict(variables)
        if varied:
            key = rng.choice(sorted(varied))
            varied[key] = _vary(varied[key], rng)
        planned, core, outcomes = _answers(ctx, document, uid, varied, monkeypatch)
        assert planned == core, (f"{name} with {json.dumps(varied, ensure_ascii=False)}:\n"
                                 f"plan: {planned[:600]!r}\ncore: {core[:600]!r}")
        abandoned += outcomes == ["abandoned"]
    print(f"{name}: {abandoned} of {VARIATIONS} variations left to graphql-core")


AD_HOC = [
    # aliases, a field asked twice with different selections, fragments and inline fragments
    """query($near: GeoPointInput!) { a: places(near: $near, first: 3) { edges { node { id
         ...P region { code } } } } b: places(near: $near, first: 2, kinds: [CLINIC]) {
         pageInfo { hasNextPage } edges { cursor node { ... on Place { name } region { name }
         } } } }
       fragment P on Place { name kind region { level } location(crs: GCJ02) { lat } }""",
    """{ clusters { code ... on Cluster { name cities { code } } cities { name } } }""",
    """query { regions(level: PROVINCE) { code name parent { code } } }""",
]


@pytest.mark.parametrize("index", range(len(AD_HOC)))
def test_plans__fragments_aliases_merged_fields__same_data_as_graphql_core(demo, index):  # noqa: F811
    document = parse(AD_HOC[index])
    plan = build_plans(schema.graphql_schema, document)[None]
    variables = {"near": {"lat": 30.2741, "lon": 120.1551}}
    services = demo.app.extensions["servicemap"]
    with demo.app.test_request_context():
        planned_context = request_context(services)
        core_context = request_context(services)
        try:
            planned = run_plan(schema.graphql_schema, plan, planned_context, variables)
            core = execute(schema.graphql_schema, document, context_value=core_context,
                           variable_values=variables,
                           execution_context_class=LeanExecutionContext)
        finally:
            planned_context.close()
            core_context.close()
    assert core.errors is None
    assert json.dumps(planned, ensure_ascii=False) == json.dumps(core.data, ensure_ascii=False)
    assert any(value for value in planned.values())


# --- the planned mutation (bookAppointment): a mutation runs once, whichever executor answers

BOOK = operation("BookAppointment")
SPOUSE = [{"questionId": "spouse", "answer": True}, {"questionId": "parent", "answer": False}]


def _booking_requests(world) -> list[tuple[str | None, dict]]:  # noqa: ANN001
    """(uid, variables): a new booking, its retry, with guide answers, and the refusals."""
    full = world.add_slot(world.window_a1, world.day, "15:00", capacity=1)
    world.gql(BOOK, {"slotId": str(full), "serviceItemId": str(world.item),
                     "idempotencyKey": "fill"}, uid="resident-fill")
    slot = str(world.add_slot(world.window_a1, world.day, "15:30", capacity=5))
    item = str(world.item)
    new = {"slotId": slot, "serviceItemId": item, "idempotencyKey": "plan-1"}
    return [
        (RESIDENT, new),
        (RESIDENT, new),  # the retry: the earlier appointment, read again
        (RESIDENT, {**new, "idempotencyKey": "plan-1", "serviceItemId": str(world.other_item)}),
        ("resident-guided", {**new, "idempotencyKey": "plan-2", "answers": SPOUSE}),
        ("resident-guided", {**new, "idempotencyKey": "plan-3",
                             "answers": [{"questionId": "no-such-question", "answer": True}]}),
        ("resident-full", {**new, "slotId": str(full)}),
        ("resident-other", {**new, "slotId": "999999"}),
        ("resident-other", {**new, "serviceItemId": "999999"}),
        ("resident-other", {**new, "serviceItemId": str(world.unhandled_item)}),
        ("resident-other", {**new, "slotId": "not-an-id"}),
        ("resident-other", {**new, "idempotencyKey": " "}),
        ("resident-other", {**new, "idempotencyKey": "x" * 65}),
    ]


def test_plans__book_appointment__has_a_plan():
    plan = build_plans(schema.graphql_schema, parse(BOOK))
    assert plan["BookAppointment"].mutation and plan[None] is plan["BookAppointment"]


def test_plans__book_appointment__same_bytes_as_graphql_core_for_the_same_booking(world,
                                                                                  monkeypatch):
    """Each booking runs once, by its plan; graphql-core then completes the very same root
    value (what the resolver returned) on the same context: the same bytes."""
    world.gql(BOOK, {"slotId": "1", "serviceItemId": "1", "idempotencyKey": "warm"},
              uid="resident-warm")  # the document prepared: its plan built
    field = schema.graphql_schema.mutation_type.fields["bookAppointment"]
    resolve = field.resolve
    ran: list[tuple[object, bool, object]] = []

    def spy(root, info, **arguments):  # noqa: ANN001, ANN003, ANN202
        try:
            value = resolve(root, info, **arguments)
        except Exception as error:
            ran.append((info.context, False, error))
            raise
        ran.append((info.context, True, value))
        return value

    monkeypatch.setattr(field, "resolve", spy)
    outcomes = _spy_on_plans(monkeypatch)
    codes = []
    for uid, variables in _booking_requests(world):
        ran.clear()
        outcomes.clear()
        response = post_graphql(world.app.test_client(), BOOK, variables, world.headers(uid))
        assert response.status_code == 200 and outcomes == ["ran"] and len(ran) == 1, (
            variables, outcomes, response.get_data(as_text=True))
        context, ok, value = ran[0]
        assert ok
        plans._REPLAYS[context] = ("bookAppointment", True, value)
        try:
            core = execute(schema.graphql_schema, parse(BOOK), context_value=context,
                           variable_values=variables,
                           execution_context_class=LeanExecutionContext)
        finally:
            context.close()
        assert core.errors is None
        assert response.get_data() == orjson.dumps({"data": core.data}), variables
        codes.append([e["code"] for e in core.data["bookAppointment"]["errors"]])
    assert codes == [[], [], ["IDEMPOTENCY_KEY_REUSED"], [], ["INVALID_INPUT"], ["SLOT_FULL"],
                     ["NOT_FOUND"], ["NOT_FOUND"], ["ITEM_NOT_HANDLED"], ["NOT_FOUND"],
                     ["INVALID_INPUT"], ["INVALID_INPUT"]]
    assert len(world.appointments(uid=RESIDENT)) == 1
    assert len(world.appointments(uid="resident-guided")) == 1


@pytest.mark.parametrize("variables", [
    {"slotId": [], "serviceItemId": "1", "idempotencyKey": "k"},
    {"slotId": "1", "idempotencyKey": "k"},
    {"slotId": "1", "serviceItemId": "1", "idempotencyKey": "k", "answers": [{"answer": 1}]},
])
@pytest.mark.parametrize("uid", [None, RESIDENT])
def test_plans__book_appointment__refused_before_booking__graphql_core_answers(
        world, monkeypatch, variables, uid):
    """Variables graphql-core refuses, or no sign-in: no booking, the same bytes either way."""
    planned, core, outcomes = _answers(world, BOOK, uid, variables, monkeypatch)
    assert outcomes == ["abandoned"] and planned == core and b'"errors"' in planned
    assert world.appointments() == []


def test_plans__book_appointment__anonymous__the_resolver_runs_once(world, monkeypatch):
    calls = []
    original = appointments.book_described
    monkeypatch.setattr(appointments, "book_described",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    body = world.gql(BOOK, {"slotId": str(world.slots["a1-0900"]),
                            "serviceItemId": str(world.item), "idempotencyKey": "k"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["data"] is None and calls == [] and world.appointments() == []


def test_plans__book_appointment__plan_stops_after_booking__booked_once_same_answer(
        world, monkeypatch):
    """A plan that stops once the booking ran: graphql-core answers with the booking made, and
    the mutation does not run again (one appointment, one set of outbox rows)."""
    calls = []
    original = appointments.book_described

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(appointments, "book_described", counted)
    variables = {"slotId": str(world.slots["a1-0900"]), "serviceItemId": str(world.item),
                 "idempotencyKey": "once"}
    world.gql(BOOK, {**variables, "idempotencyKey": "warm"}, uid="resident-warm")
    calls.clear()

    def stop(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PlanAbandoned

    monkeypatch.setattr(plans._Run, "complete", stop)
    body = world.gql(BOOK, variables, uid=RESIDENT)
    payload = body["data"]["bookAppointment"]
    assert "errors" not in body and payload["errors"] == []
    (appointment,) = world.appointments(uid=RESIDENT)
    assert payload["appointment"]["id"] == str(appointment.id)
    assert payload["appointment"]["code"] == appointment.code
    assert calls == [1]
    assert len(world.notifications(appointment_id=appointment.id)) == len(
        world.notifications(appointment_id=world.appointments(uid="resident-warm")[0].id))


def test_plans__book_appointment__resolver_fails_after_booking_started__runs_once(
        world, monkeypatch):
    """An unexpected error in the mutation: graphql-core answers it (INTERNAL_SERVER_ERROR)
    from the first run's exception, without running the mutation again."""
    calls = []

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(appointments, "book_described", failing)
    body = world.gql(BOOK, {"slotId": str(world.slots["a1-0900"]),
                            "serviceItemId": str(world.item), "idempotencyKey": "k"},
                     uid=RESIDENT)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert body["data"] is None and calls == [1]
