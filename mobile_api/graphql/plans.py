"""Execution plans of trusted query documents.

A trusted document's selection is known before any request names it, so what graphql-core
works out again for every field of every row — which fields a selection collects, their
definitions and resolvers, their arguments, how each value is completed — is worked out once,
when the document is first validated. A request then runs the plan: one walk over its
resolvers and values, arguments computed once per field (not once per row), plain fields
read off their row, lazy values (DataLoaders) completed in batches as the executor of
execution.py does.

The plan serves only the ordinary case. Anything else — a variable value graphql-core would
refuse, a resolver that raises, null where the schema says non-null, a value a scalar refuses —
stops the plan (`PlanAbandoned`) and the view runs the same request through graphql-core,
which answers it exactly as always: queries only read, so running one again changes nothing.
Documents with directives, abstract types or introspection get no plan at all. The answers of
both executors are the same bytes (tests/mobile_api/graphql/test_plans.py compares them).

Mutations (those of PLANNED_MUTATIONS, one root field per document) have plans too, but a
mutation must never run twice: anything that stops the plan before the root field's resolver
ran is left to graphql-core as above; once it ran, its result (or its exception) is kept for
the request, and when graphql-core then runs the document the root field's resolver answers
with what the first run gave instead of running the mutation again (`_replaying`), so
graphql-core completes the very same value: its answer, errors included, as always."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Undefined

from backend.schema.core.dataloaders import Lazy
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    default_field_resolver,
    is_leaf_type,
)
from mobile_api.graphql.execution import DeadlinePassed, default_attribute
from mobile_api.graphql.limits import list_maximum


class PlanAbandoned(Exception):  # noqa: N818 - a signal to the view, not an error
    """The request is not the ordinary case: graphql-core runs it instead."""


class Unplannable(Exception):  # noqa: N818 - caught where plans are built
    """The document uses something plans do not cover."""


@dataclass(eq=False)
class FieldPlan:
    key: str  # the response key (alias or name)
    name: str
    definition: GraphQLField
    parent_type: GraphQLObjectType
    nodes: list[FieldNode]
    return_type: GraphQLOutputType
    # graphene's default resolver on a field without arguments: (attribute, default)
    attribute: tuple[str, Any] | None
    list_maximum: int | None
    selection: ObjectPlan | None  # for an object type (or a list of them)


@dataclass(eq=False)
class ObjectPlan:
    object_type: GraphQLObjectType
    fields: list[FieldPlan] = field(default_factory=list)


@dataclass(eq=False)
class Plan:
    operation: OperationDefinitionNode
    root: ObjectPlan
    mutation: bool = False


# Mutation root fields whose documents get plans: their answers are compared with
# graphql-core's (tests/schema/test_operation_plans.py). The booking rush's hot path.
PLANNED_MUTATIONS = frozenset({"bookAppointment"})

# A mutation's root result (ok, value or exception) by request context, kept when its plan
# stopped after the resolver ran: graphql-core's run of the same request takes it from here.
_REPLAYS: weakref.WeakKeyDictionary[Any, tuple[str, bool, Any]] = weakref.WeakKeyDictionary()


def _replaying(resolve):  # noqa: ANN001, ANN202
    """A mutation root field's resolver that answers a request's second execution (graphql-core
    after a stopped plan) with the first one's result instead of running the mutation again."""

    def resolve_once(root, info, **arguments):  # noqa: ANN001, ANN003, ANN202
        kept = _REPLAYS.get(info.context)
        if kept is not None and kept[0] == info.field_name:
            del _REPLAYS[info.context]
            _name, ok, value = kept
            if not ok:
                raise value
            return value
        return resolve(root, info, **arguments)

    resolve_once.replaying = True
    return resolve_once


def _mutation_root(schema: GraphQLSchema, document: DocumentNode,
                   operation: OperationDefinitionNode) -> ObjectPlan:
    root = _Compiler(schema, document).object_plan(schema.mutation_type,
                                                   [operation.selection_set])
    if len(root.fields) != 1 or root.fields[0].name not in PLANNED_MUTATIONS:
        raise Unplannable("not one planned mutation")
    definition = root.fields[0].definition
    if definition.resolve is None:
        raise Unplannable("a mutation without its own resolver")
    if not getattr(definition.resolve, "replaying", False):
        definition.resolve = _replaying(definition.resolve)
    return root


def _named_object(return_type: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type a field returns (through lists and non-null); None for a leaf."""
    named = return_type
    while isinstance(named, GraphQLNonNull | GraphQLList):
        named = named.of_type
    if is_leaf_type(named):
        return None
    if not isinstance(named, GraphQLObjectType):
        raise Unplannable(f"abstract type {named}")
    return named


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {definition.name.value: definition
                          for definition in document.definitions
                          if isinstance(definition, FragmentDefinitionNode)}

    def collect(self, object_type: GraphQLObjectType, selection_set: SelectionSetNode,
                fields: dict[str, list[FieldNode]], visited: set[str]) -> None:
        """graphql-core's collect_fields for one object type, without directives."""
        for selection in selection_set.selections:
            if selection.directives:
                raise Unplannable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, object_type):
                    self.collect(object_type, selection.selection_set, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if fragment.directives:
                    raise Unplannable("directives")
                if self._applies(fragment.type_condition, object_type):
                    self.collect(object_type, fragment.selection_set, fields, visited)

    def _applies(self, condition, object_type: GraphQLObjectType) -> bool:  # noqa: ANN001
        if condition is None or condition.name.value == object_type.name:
            return True
        if not isinstance(self.schema.get_type(condition.name.value), GraphQLObjectType):
            raise Unplannable("a fragment on an abstract type")
        return False

    def object_plan(self, object_type: GraphQLObjectType,
                    selection_sets: list[SelectionSetNode]) -> ObjectPlan:
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self.collect(object_type, selection_set, fields, visited)
        plan = ObjectPlan(object_type)
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name.startswith("__"):
                raise Unplannable("introspection")
            definition = object_type.fields.get(name)
            if definition is None:
                raise Unplannable(f"unknown field {name}")  # validation refuses it before
            named = _named_object(definition.type)
            selection = None
            if named is not None:
                selection = self.object_plan(
                    named, [node.selection_set for node in nodes if node.selection_set])
            plan.fields.append(FieldPlan(
                key=key, name=name, definition=definition, parent_type=object_type,
                nodes=nodes, return_type=definition.type, attribute=default_attribute(definition),
                list_maximum=list_maximum(object_type.name, name), selection=selection))
        return plan


def build_plans(schema: GraphQLSchema, document: DocumentNode) -> dict[str | None, Plan]:
    """A plan for each query (and planned mutation) of a validated document (by operation
    name; None as well when there is one operation); none for what plans do not cover."""
    operations = [definition for definition in document.definitions
                  if isinstance(definition, OperationDefinitionNode)]
    plans: dict[str | None, Plan] = {}
    for operation in operations:
        if operation.directives or operation.operation not in (OperationType.QUERY,
                                                               OperationType.MUTATION):
            continue
        mutation = operation.operation == OperationType.MUTATION
        try:
            root = (_mutation_root(schema, document, operation) if mutation else
                    _Compiler(schema, document).object_plan(schema.query_type,
                                                            [operation.selection_set]))
        except Unplannable:
            continue
        plan = Plan(operation, root, mutation)
        if operation.name is not None:
            plans[operation.name.value] = plan
        if len(operations) == 1:
            plans[None] = plan
    return plans


class _Run:
    """One request's run of a plan."""

    def __init__(self, schema: GraphQLSchema, plan: Plan, context: Any,
                 variables: dict[str, Any]) -> None:
        self.schema, self.plan = schema, plan
        self.context, self.variables = context, variables
        self.deadline: float | None = getattr(context, "deadline", None)
        self.arguments: dict[int, dict[str, Any]] = {}
        self.infos: dict[int, GraphQLResolveInfo] = {}
        # (container, key, lazy value, its field's plan, its type): completed once the
        # loaders have run their batches.
        self.waiting: list[tuple[Any, Any, Lazy, FieldPlan, GraphQLOutputType]] = []

    def info(self, plan: FieldPlan) -> GraphQLResolveInfo:
        info = self.infos.get(id(plan))
        if info is None:
            # The path is the field's, not a row's: our resolvers read the context, the field
            # name and the parent type only.
            info = self.infos[id(plan)] = GraphQLResolveInfo(
                plan.name, plan.nodes, plan.return_type, plan.parent_type, None, self.schema,
                {}, None, self.plan.operation, self.variables, self.context,
                lambda value: False)
        return info

    def argument_values(self, plan: FieldPlan) -> dict[str, Any]:
        values = self.arguments.get(id(plan))
        if values is None:
            try:
                values = get_argument_values(plan.definition, plan.nodes[0], self.variables)
            except Exception as error:
                raise PlanAbandoned from error
            self.arguments[id(plan)] = values
        return values

    def object(self, plan: ObjectPlan, source: Any) -> dict[str, Any]:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlinePassed
        answer: dict[str, Any] = {}
        for field_plan in plan.fields:
            if field_plan.attribute is not None:
                attname, default = field_plan.attribute
                value = (source.get(attname, default) if isinstance(source, dict)
                         else getattr(source, attname, default))
            else:
                resolve = field_plan.definition.resolve or default_field_resolver
                try:
                    value = resolve(source, self.info(field_plan),
                                    **self.argument_values(field_plan))
                except PlanAbandoned:
                    raise
                except Exception as error:
                    raise PlanAbandoned from error
            answer[field_plan.key] = self.complete(answer, field_plan.key, field_plan,
                                                   field_plan.return_type, value)
        return answer

    def complete(self, container: Any, key: Any, plan: FieldPlan,
                 return_type: GraphQLOutputType, value: Any) -> Any:
        if isinstance(value, Lazy):
            self.waiting.append((container, key, value, plan, return_type))
            return None
        if isinstance(return_type, GraphQLNonNull):
            if value is None:
                raise PlanAbandoned
            return_type = return_type.of_type
        elif value is None:
            return None
        if isinstance(return_type, GraphQLList):
            if not isinstance(value, list | tuple):
                raise PlanAbandoned
            if plan.list_maximum is not None and len(value) > plan.list_maximum:
                raise PlanAbandoned  # graphql-core's path cuts it and logs why
            item_type = return_type.of_type
            items: list[Any] = [None] * len(value)
            for index, item in enumerate(value):
                items[index] = self.complete(items, index, plan, item_type, item)
            return items
        if isinstance(return_type, GraphQLObjectType):
            return self.object(plan.selection, value)
        try:
            serialized = return_type.serialize(value)
        except Exception as error:
            raise PlanAbandoned from error
        if serialized is None or serialized is Undefined:
            raise PlanAbandoned
        return serialized

    def run(self) -> dict[str, Any]:
        data = self.object(self.plan.root, None)
        self.finish()
        return data

    def run_mutation(self) -> dict[str, Any]:
        """The one root field: its arguments (may stop the plan: nothing ran), its resolver,
        then its value completed; a stop after the resolver keeps its result for graphql-core."""
        (field_plan,) = self.plan.root.fields
        arguments = self.argument_values(field_plan)
        try:
            value = field_plan.definition.resolve(None, self.info(field_plan), **arguments)
        except Exception as error:
            _REPLAYS[self.context] = (field_plan.name, False, error)
            raise PlanAbandoned from error
        try:
            data: dict[str, Any] = {}
            data[field_plan.key] = self.complete(data, field_plan.key, field_plan,
                                                 field_plan.return_type, value)
            self.finish()
        except Exception as error:
            _REPLAYS[self.context] = (field_plan.name, True, value)
            if isinstance(error, PlanAbandoned):
                raise
            raise PlanAbandoned from error
        return data

    def finish(self) -> None:
        """Complete the lazy values, batch by batch."""
        while self.waiting:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise DeadlinePassed
            batch, self.waiting = self.waiting, []
            self.context.loaders.dispatch()
            for container, key, lazy, plan, return_type in batch:
                try:
                    value = lazy.get()
                except Exception as error:
                    raise PlanAbandoned from error
                container[key] = self.complete(container, key, plan, return_type, value)


def run_plan(schema: GraphQLSchema, plan: Plan, context: Any,
             raw_variables: dict[str, Any] | None) -> dict[str, Any]:
    """The data of a query (or planned mutation) run by its plan; PlanAbandoned when
    graphql-core must run it (a mutation that ran is then not run again: see the module)."""
    operation = plan.operation
    variables = get_variable_values(schema, operation.variable_definitions or (),
                                    raw_variables or {})
    if isinstance(variables, list):  # coercion errors: graphql-core reports them
        raise PlanAbandoned
    run = _Run(schema, plan, context, variables)
    return run.run_mutation() if plan.mutation else run.run()
