"""What one document may ask of the server: tokens, depth, aliases, root fields and cost.

Checked after graphql-core's standard validation (which refuses undefined and cyclic
fragments, so the walk below always ends), before execution. The cost of a field is 1 plus
its children's cost times the number of items it may return: a connection's `first` (its
variable's value, default or cap), a list's stated maximum (LIST_MAXIMA, enforced by the
executor). Nested lists multiply, so a short document asking for searches inside searches is
refused before any of them runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from backend.core.paging import MAX_PAGE_SIZE
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)

# The most items a list field without `first` returns (parent type, field) → maximum. The
# executor cuts a longer list there (and logs it), so the cost computed from these holds.
LIST_MAXIMA: dict[tuple[str, str], int] = {
    ("Query", "availableSlots"): 500,
    ("Query", "windowAppointments"): 500,
    ("Query", "windowSlots"): 1000,
    ("Query", "serviceItemCategories"): 200,
    ("Query", "eCertificates"): 500,
    ("Query", "regionAt"): 3,
    ("Query", "regions"): 4000,  # every county of China is 2,851
    ("Query", "clusters"): 20,
    ("Query", "grants"): 500,  # accounts.grants.MAX_LISTED_GRANTS
    ("Query", "calendarDays"): 366,
    ("CalendarFollowThrough", "appointments"): 5000,
    ("Region", "clusters"): 20,
    ("Cluster", "cities"): 100,
    ("Query", "mapClusters"): 500,
    ("Me", "roles"): 50,
    ("Me", "appointments"): 200,
    ("Me", "devices"): 20,
    ("Window", "serviceItems"): 150,
    ("Window", "scheduleTemplates"): 50,
    ("Place", "serviceItems"): 150,
    ("Place", "windows"): 20,
    ("ElderlyCareInfo", "careLevels"): 20,
    ("ServiceItem", "aliases"): 50,
    ("Guide", "handlingModes"): 10,
    ("Guide", "questions"): 50,
    ("Guide", "materials"): 100,
    ("Guide", "steps"): 50,
    ("Material", "condition"): 20,
    ("Checklist", "materials"): 100,
    ("Checklist", "pendingQuestions"): 50,
    ("Checklist", "conditionalMaterials"): 100,
    ("NotificationsPayload", "notifications"): 100,
    ("GenerateSlotsPayload", "holidays"): 400,
    ("SlotsPayload", "slots"): 1000,
    ("TemplatePreview", "slots"): 2000,  # schedule.MAX_PREVIEW_SLOTS
    ("TemplatePreview", "holidays"): 60,  # one weekday over at most 366 days
    ("Appointment", "answers"): 50,  # Guide.questions
    ("Appointment", "materials"): 20,  # a personal list (guides ask for ~5–10); cut beyond
    ("Query", "geocodeAddress"): 5,  # geocoding.MAX_CANDIDATES
    ("PlaceRevision", "changes"): 50,  # a place has fewer fields
    ("PlacePayload", "warnings"): 10,
    # An import's lists of external ids: one per row of a file of at most 21 MB; scalars, so
    # they cost one each however long. Its errors stop at import_file.MAX_ERRORS.
    ("ImportPlacesPayload", "created"): 500_000,
    ("ImportPlacesPayload", "updated"): 500_000,
    ("ImportPlacesPayload", "archived"): 500_000,
    ("ImportPlacesPayload", "warnings"): 1000,
    ("ImportPlacesPayload", "errors"): 200,
}
# Payload errors: a few per mutation.
PAYLOAD_ERRORS_MAXIMUM = 20
# Introspection (GraphiQL's schema query, development only) is bounded by the schema, not
# by a cost; what makes it explode is one list nested in itself (types → fields → type →
# fields …), refused as too deep.
INTROSPECTION_FIELDS = ("__schema", "__type")


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 2000
    max_depth: int = 12
    max_aliases: int = 100
    max_root_fields: int = 100
    max_cost: int = 20000


@dataclass(frozen=True)
class Cost:
    """A selection's cost, depth (in fields) and number of aliases."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.cost + other.cost, max(self.depth, other.depth),
                    self.aliases + other.aliases)


def list_maximum(parent: str, field: str) -> int | None:
    """The stated maximum of a list field without `first` (None: not a list of ours)."""
    if (parent, field) in LIST_MAXIMA:
        return LIST_MAXIMA[parent, field]
    if field == "errors" and parent.endswith("Payload"):
        return PAYLOAD_ERRORS_MAXIMUM
    return None


class Analysis:
    """Cost of one operation of a validated document, for one request's variables."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 variables: dict[str, Any] | None) -> None:
        self.schema = schema
        self.variables = variables if isinstance(variables, dict) else {}
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self._fragment_costs: dict[tuple[str, str, int | None], Cost] = {}
        self._introspected: set[tuple[str, frozenset[str]]] = set()
        self.repeated_introspection: str | None = None
        self._defaults: dict[str, Any] = {}
        self.read_variables: set[str] = set()  # the variables the cost depends on

    def operation(self, operation: OperationDefinitionNode) -> tuple[Cost, int]:
        """The operation's cost and its number of root fields."""
        self._defaults = {
            v.variable.name.value: v.default_value.value
            for v in operation.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        root = self.schema.get_root_type(operation.operation)
        return (self.selection(root, operation.selection_set, None),
                self._root_fields(operation.selection_set, set()))

    def _root_fields(self, selection_set: SelectionSetNode, seen: set[str]) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1
            elif isinstance(selection, InlineFragmentNode):
                count += self._root_fields(selection.selection_set, seen)
            elif selection.name.value not in seen:
                seen.add(selection.name.value)
                count += self._root_fields(self.fragments[selection.name.value].selection_set,
                                           seen)
        return count

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode,
                  page: int | None) -> Cost:
        total = Cost()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = (self.schema.get_type(selection.type_condition.name.value)
                             if selection.type_condition else parent)
                total += self.selection(condition, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> Cost:
        # Once per fragment: a fragment spread many times costs each time, but is walked once.
        fragment = self.fragments[name]
        key = (name, fragment.type_condition.name.value, page)
        if key not in self._fragment_costs:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            self._fragment_costs[key] = self.selection(condition, fragment.selection_set, page)
        return self._fragment_costs[key]

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: int | None) -> Cost:
        aliases = 1 if node.alias is not None else 0
        definition = self._definition(parent, node.name.value)
        if definition is None or node.selection_set is None:
            return Cost(1, 1, aliases)
        if node.name.value in INTROSPECTION_FIELDS:
            self._introspection(node.selection_set, frozenset())
            return Cost(1, 1, aliases)
        child_page = self._first(definition, node) if "first" in definition.args else None
        items = self._items(parent, node.name.value, definition, page)
        child = self.selection(get_named_type(definition.type), node.selection_set, child_page)
        return Cost(1 + items * child.cost, 1 + child.depth, aliases + child.aliases)

    def _introspection(self, selection_set: SelectionSetNode, path: frozenset[str]) -> None:
        """Remember a list field of the introspection types met twice on one path."""
        for selection in selection_set.selections:
            if isinstance(selection, FragmentSpreadNode):
                key = (selection.name.value, path)
                if key not in self._introspected:  # walked once per path: no blow-up
                    self._introspected.add(key)
                    self._introspection(self.fragments[key[0]].selection_set, path)
            elif isinstance(selection, InlineFragmentNode):
                self._introspection(selection.selection_set, path)
            elif selection.selection_set is not None:
                name = selection.name.value
                if name in path:
                    self.repeated_introspection = name
                    return
                lists = path | {name} if name != "ofType" else path
                self._introspection(selection.selection_set, lists)

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return None if fields is None else fields.get(name)

    def _items(self, parent: GraphQLNamedType, name: str, definition: GraphQLField,
               page: int | None) -> int:
        field_type = definition.type
        if is_non_null_type(field_type):
            field_type = field_type.of_type
        if not is_list_type(field_type):
            return 1
        if name == "edges" and parent.name.endswith("Connection"):
            return page or MAX_PAGE_SIZE  # sized by the connection's `first`
        maximum = list_maximum(parent.name, name)
        if maximum is None:
            raise AssertionError(f"list field {parent.name}.{name} has no stated maximum")
        return maximum

    def _first(self, definition: GraphQLField, node: FieldNode) -> int:
        """The page size a connection may return: its `first`, capped."""
        value: Any = None
        argument = next((a for a in node.arguments if a.name.value == "first"), None)
        if argument is None:
            value = definition.args["first"].default_value
        elif isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            name = argument.value.name.value
            self.read_variables.add(name)
            value = self.variables.get(name, self._defaults.get(name))
            if isinstance(value, str) and value.isdigit():
                value = int(value)  # an IntValueNode default
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return MAX_PAGE_SIZE
        return min(value, MAX_PAGE_SIZE)


# Per document: how many allowed variable values `check_remembered` keeps.
REMEMBERED_CHECKS = 64


def check_remembered(remembered: dict, schema: GraphQLSchema, document: DocumentNode,
                     operation_name: str | None, variables: dict[str, Any] | None,
                     limits: Limits) -> list[GraphQLError]:
    """`check`, remembered in `remembered` (one dict per document) when it allows the
    operation: the analysis depends only on the values of the variables it reads (the page
    sizes), and an app sends the same few. Refusals are worked out each time."""
    values = variables if isinstance(variables, dict) else {}

    def key(names: tuple[str, ...]) -> tuple:
        return (operation_name, *(repr(values.get(name)) for name in names))

    names = remembered.get(operation_name)
    if names is not None and key(names) in remembered:
        return []
    refusals, read = _check(schema, document, operation_name, variables, limits)
    names = remembered.setdefault(operation_name, tuple(sorted(read)))
    if not refusals and len(remembered) < REMEMBERED_CHECKS:
        remembered[key(names)] = True
    return refusals


def check(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
          variables: dict[str, Any] | None, limits: Limits) -> list[GraphQLError]:
    """The refusals of this document's operation, empty when it may run."""
    return _check(schema, document, operation_name, variables, limits)[0]


def _check(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
           variables: dict[str, Any] | None, limits: Limits
           ) -> tuple[list[GraphQLError], set[str]]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations
              if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return [], set()  # graphql-core's executor reports the missing or ambiguous operation
    operation = chosen[0]
    analysis = Analysis(schema, document, variables)
    cost, root_fields = analysis.operation(operation)
    refusals = _refusals(analysis, cost, root_fields, operation, limits)
    return refusals, analysis.read_variables


def _refusals(analysis: Analysis, cost: Cost, root_fields: int,
              operation: OperationDefinitionNode, limits: Limits) -> list[GraphQLError]:
    if analysis.repeated_introspection is not None:
        return [too("QUERY_TOO_DEEP",
                    f"内省查询中 {analysis.repeated_introspection} 嵌套了自身", operation)]
    if cost.depth > limits.max_depth:
        return [too("QUERY_TOO_DEEP", f"查询嵌套过深：{cost.depth} 层，最多 {limits.max_depth} 层",
                    operation)]
    if cost.aliases > limits.max_aliases:
        return [too("QUERY_TOO_COMPLEX",
                    f"查询别名过多：{cost.aliases} 个，最多 {limits.max_aliases} 个", operation)]
    if root_fields > limits.max_root_fields:
        return [too("QUERY_TOO_COMPLEX",
                    f"查询顶层字段过多：{root_fields} 个，最多 {limits.max_root_fields} 个",
                    operation)]
    if cost.cost > limits.max_cost:
        return [too("QUERY_TOO_COMPLEX",
                    f"查询代价过高：{cost.cost}，最多 {limits.max_cost}（请减少嵌套列表或 first）",
                    operation)]
    return []


def root_field_names(document: DocumentNode, operation_name: str | None) -> set[str]:
    """The names of the root fields of the operation a request runs."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operation = next((d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                      and (operation_name is None or (d.name and d.name.value == operation_name))),
                     None)
    names: set[str] = set()
    pending = [operation.selection_set] if operation is not None else []
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif selection.name.value not in seen:
                seen.add(selection.name.value)
                pending.append(fragments[selection.name.value].selection_set)
    return names


def operation_cost(schema: GraphQLSchema, document: DocumentNode,
                   variables: dict[str, Any] | None = None) -> Cost:
    """The cost of a document's single operation (for tests and the docs)."""
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return Analysis(schema, document, variables).operation(operation)[0]


def too(code: str, message: str, node: OperationDefinitionNode | None = None) -> GraphQLError:
    return GraphQLError(message, nodes=[node] if node is not None else None,
                        extensions={"code": code})
