"""Executing documents on our schema: graphql-core's executor, with plain fields made cheap
and lazy values (DataLoaders, backend/schema/core/dataloaders.py) completed in batches."""

from __future__ import annotations

import logging
import time
from functools import lru_cache, partial
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql.error import located_error
from graphql.pyutils import Path, Undefined

from backend.schema.core.dataloaders import Lazy
from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from mobile_api.graphql.limits import list_maximum

log = logging.getLogger(__name__)


class DeadlinePassed(BaseException):  # noqa: N818 - not an Exception: graphql-core must not catch it
    """A query ran past its deadline: the whole execution stops (no field after field of
    errors), and the view answers QUERY_TIMEOUT."""


@lru_cache(maxsize=1024)
def _list_maximum(parent: str, field: str) -> int | None:
    return list_maximum(parent, field)


class PlainField:
    """A field read straight off its parent: graphene's default resolver, no arguments, a
    scalar or enum type."""

    __slots__ = ("attname", "default", "leaf", "nullable")

    def __init__(self, attname: str, default: Any, leaf: GraphQLLeafType, nullable: bool) -> None:
        self.attname, self.default, self.leaf, self.nullable = attname, default, leaf, nullable


def default_attribute(field: GraphQLField) -> tuple[str, Any] | None:
    """(attribute, default) of a field without arguments that graphene's default resolver
    reads straight off its parent; None for any other field."""
    resolve = field.resolve
    if (field.args or not isinstance(resolve, partial) or resolve.func is not dict_or_attr_resolver
            or len(resolve.args) != 2 or resolve.keywords):
        return None
    return resolve.args[0], resolve.args[1]


@lru_cache(maxsize=4096)
def plain_field(parent_type: GraphQLObjectType, field_name: str) -> PlainField | None:
    field = parent_type.fields.get(field_name)
    attribute = None if field is None else default_attribute(field)
    if attribute is None:
        return None
    nullable = not isinstance(field.type, GraphQLNonNull)
    leaf = field.type if nullable else field.type.of_type
    if not is_leaf_type(leaf):
        return None
    return PlainField(*attribute, leaf, nullable)


class _Deferred:
    """A field whose resolver returned a Lazy: completed once the loaders ran their batches."""

    __slots__ = ("ancestors", "field_nodes", "info", "lazy", "path", "return_type")

    def __init__(self, return_type: GraphQLOutputType, field_nodes: list[FieldNode],
                 info: GraphQLResolveInfo, path: Path, lazy: Lazy, ancestors: tuple) -> None:
        self.return_type, self.field_nodes, self.info = return_type, field_nodes, info
        self.path, self.lazy, self.ancestors = path, lazy, ancestors


class LeanExecutionContext(ExecutionContext):
    """graphql-core's executor for a schema whose resolvers are all synchronous.

    graphql-core builds a resolve-info object and checks twice for an awaitable on every
    field; for a page of 20 places (~260 fields) that cost as much as the spatial query. Here
    nothing is awaitable, and a plain field is read and serialized directly. Whatever is not
    ordinary — null in a non-null field, a value the scalar refuses, an exception — goes
    through graphql-core's own path again, which reports it as always."""

    is_awaitable = staticmethod(lambda value: False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._deferred: list[_Deferred] = []
        # (path, return type) of the fields being executed, outermost first: where a null from
        # a deferred non-null field stops (graphql-core's propagation, done after the fact).
        self._fields: list[tuple[Path, GraphQLOutputType]] = []
        # When the query must stop (time.monotonic()), set by the view for queries only: a
        # mutation past a commit is not aborted halfway.
        self.deadline: float | None = getattr(self.context_value, "deadline", None)

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_nodes: list[FieldNode], path: Path) -> Any:
        field_name = field_nodes[0].name.value
        plain = (None if self.middleware_manager or field_name.startswith("__")
                 else plain_field(parent_type, field_name))
        if plain is not None:
            try:
                if isinstance(source, dict):
                    value = source.get(plain.attname, plain.default)
                else:
                    value = getattr(source, plain.attname, plain.default)
                if value is None:
                    if plain.nullable:
                        return None
                else:
                    serialized = plain.leaf.serialize(value)
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # noqa: BLE001, S110 - the full path below reports it
                pass
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlinePassed
        field = parent_type.fields.get(field_name)
        if field is None:
            return super().execute_field(parent_type, source, field_nodes, path)
        self._fields.append((path, field.type))
        try:
            completed = super().execute_field(parent_type, source, field_nodes, path)
        finally:
            self._fields.pop()
        if path.prev is None and self._deferred:
            # A root field: finish it before the next one starts (mutations run in order).
            completed = self._complete_deferred(path.key, completed)
        return completed

    def complete_value(self, return_type: GraphQLOutputType, field_nodes: list[FieldNode],
                       info: GraphQLResolveInfo, path: Path, result: Any) -> Any:
        if isinstance(result, Lazy):
            deferred = _Deferred(return_type, field_nodes, info, path, result, tuple(self._fields))
            self._deferred.append(deferred)
            return deferred
        return super().complete_value(return_type, field_nodes, info, path, result)

    def complete_list_value(self, return_type: GraphQLList, field_nodes: list[FieldNode],
                            info: GraphQLResolveInfo, path: Path, result: Any) -> Any:
        # Every list is bounded: the cost of a document (limits.py) counts on it.
        maximum = _list_maximum(info.parent_type.name, info.field_name)
        if maximum is not None and isinstance(result, list | tuple) and len(result) > maximum:
            log.warning("list %s.%s cut at %d of %d items", info.parent_type.name,
                        info.field_name, maximum, len(result))
            result = result[:maximum]
        return super().complete_list_value(return_type, field_nodes, info, path, result)

    def _complete_deferred(self, key: str, completed: Any) -> Any:
        """Run the waiting batches and complete the deferred fields under one root field,
        until none is left; returns the root field's value."""
        root = {key: completed}
        while self._deferred:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise DeadlinePassed
            batch, self._deferred = self._deferred, []
            self.context_value.loaders.dispatch()
            for deferred in batch:
                self._fields = list(deferred.ancestors)
                self._fields.append((deferred.path, deferred.return_type))
                try:
                    value = self.complete_value(deferred.return_type, deferred.field_nodes,
                                                deferred.info, deferred.path,
                                                deferred.lazy.get())
                except Exception as raw_error:  # noqa: BLE001 - reported as graphql-core does
                    error = located_error(raw_error, deferred.field_nodes,
                                          deferred.path.as_list())
                    self._null_nearest_nullable(root, deferred, error)
                    continue
                finally:
                    self._fields = []
                _set(root, deferred.path.as_list(), value)
        return root[key]

    def _null_nearest_nullable(self, root: dict, deferred: _Deferred, error: GraphQLError
                               ) -> None:
        """The field is null; where the type says it cannot be, its nearest nullable
        ancestor (field or list item) is, as graphql-core's propagation would leave it."""
        keys = deferred.path.as_list()
        for path, field_type in reversed((*deferred.ancestors,
                                           (deferred.path, deferred.return_type))):
            depth = len(path.as_list())
            positions = [(depth, field_type)]
            item_type = field_type
            while depth < len(keys) and isinstance(keys[depth], int):
                item_type = (item_type.of_type if isinstance(item_type, GraphQLNonNull)
                             else item_type)
                if not isinstance(item_type, GraphQLList):
                    break
                item_type = item_type.of_type
                depth += 1
                positions.append((depth, item_type))
            for position, position_type in reversed(positions):
                if not isinstance(position_type, GraphQLNonNull):
                    self.collected_errors.add(error, deferred.path)
                    _set(root, keys[:position], None)
                    return
        raise error  # nothing nullable up to the root: the whole answer is null


def _set(root: dict, keys: list, value: Any) -> None:
    """Put `value` at the path `keys` of the answer (unless an ancestor was nulled)."""
    container: Any = root
    for key in keys[:-1]:
        container = container[key]
        if container is None:
            return
    container[keys[-1]] = value

