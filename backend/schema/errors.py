"""Mapping domain errors to GraphQL errors with a stable `extensions.code`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from backend.errors import DomainError
from graphql import GraphQLError

F = TypeVar("F", bound=Callable)


def domain_errors(resolver: F) -> F:
    """Raise a DomainError from a resolver as a GraphQL error carrying its code and field."""

    @functools.wraps(resolver)
    def wrapper(*args, **kwargs):
        try:
            return resolver(*args, **kwargs)
        except DomainError as error:
            extensions = {"code": error.code}
            if error.field:
                extensions["field"] = error.field
            raise GraphQLError(error.message, extensions=extensions) from error

    return wrapper  # type: ignore[return-value]
