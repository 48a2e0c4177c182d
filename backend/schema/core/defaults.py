"""An explicit null for an argument or input field that has a default means the default.

graphql-core passes `crs: null` through as None where the resolver expects the default
(`WGS84`), which made a server error of a value the schema allows. Applied once to the
built schema: resolvers of fields with such arguments, and the input objects' containers,
get the default wherever the value is null — exactly what an omitted one gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    default_field_resolver,
    is_non_null_type,
)


def _defaults(fields: dict[str, Any]) -> dict[str, Any]:
    """out name → default, for the nullable ones that have a default other than null."""
    return {definition.out_name or name: definition.default_value
            for name, definition in fields.items()
            if not is_non_null_type(definition.type)
            and definition.default_value is not Undefined and definition.default_value is not None}


def _filled(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    if not any(values.get(name, Undefined) is None for name in defaults):
        return values
    return {**values, **{name: default for name, default in defaults.items()
                         if values.get(name, Undefined) is None}}


def _resolver(resolve: Callable, defaults: dict[str, Any]) -> Callable:
    # positional-only: an argument may be called `source` or `info` (importPlaces(source:))
    def resolve_with_defaults(source: Any, info: Any, /, **args: Any) -> Any:
        return resolve(source, info, **_filled(args, defaults))

    return resolve_with_defaults


def _container(out_type: Callable | None, defaults: dict[str, Any]) -> Callable:
    def build(values: dict[str, Any]) -> Any:
        values = _filled(values, defaults)
        return values if out_type is None else out_type(values)

    return build


def null_means_default(schema: GraphQLSchema) -> GraphQLSchema:
    for type_ in schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field in type_.fields.values():
                defaults = _defaults(field.args)
                if defaults:
                    field.resolve = _resolver(field.resolve or default_field_resolver, defaults)
        elif isinstance(type_, GraphQLInputObjectType):
            defaults = _defaults(type_.fields)
            if defaults:
                type_.out_type = _container(type_.out_type, defaults)
    return schema
