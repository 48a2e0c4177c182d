"""Errors in the API: domain errors as GraphQL errors with a stable `extensions.code`, and the
payload errors of mutations (`errors: [UserError!]!`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import graphene

from backend.accounts.permissions import require_user
from backend.booking.errors import MESSAGES as BOOKING_MESSAGES
from backend.core.errors import DomainError, InvalidInput, PayloadError
from backend.core.ids import api_id
from backend.core.unit_of_work import UnitOfWork
from backend.guidance.item_editing import MESSAGES as GUIDANCE_MESSAGES
from backend.notify.errors import MESSAGES as NOTIFY_MESSAGES
from backend.places.errors import MESSAGES as PLACES_MESSAGES
from backend.places.errors import WARNINGS as PLACES_WARNINGS
from graphql import GraphQLError

F = TypeVar("F", bound=Callable)

UserErrorCode = graphene.Enum(
    "UserErrorCode",
    [(code, code) for code in {**BOOKING_MESSAGES, **NOTIFY_MESSAGES, **PLACES_MESSAGES,
                               **GUIDANCE_MESSAGES}],
    description="预约、窗口、设备、消息与地点编辑操作的错误代码（稳定，可供客户端翻译）")
UserWarningCode = graphene.Enum(
    "UserWarningCode", [(code, code) for code in PLACES_WARNINGS],
    description="提示代码：不阻止修改，但须在 acknowledge 中确认后才会保存")


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


def parse_id(value, field: str, *, payload: bool = True) -> int:
    """An API id (the integer key as a string). An id no row can have is NOT_FOUND in a
    payload, BAD_USER_INPUT in a query."""
    key = api_id(value)
    if key is not None:
        return key
    if payload:
        raise PayloadError("NOT_FOUND", f"编号无效：{value}", field)
    raise InvalidInput(f"编号无效：{value}", field)


class UserError(graphene.ObjectType):
    code = graphene.Field(UserErrorCode, required=True)
    field = graphene.String(description="出错的参数名（如 slotId），与参数无关时为 null")
    message = graphene.String(required=True, description="中文提示")

    @classmethod
    def of(cls, error: PayloadError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)

    @classmethod
    def all_of(cls, error: PayloadError) -> list[UserError]:
        """Every refusal an error carries (a change refused for several fields at once)."""
        return [cls.of(each) for each in getattr(error, "errors", None) or [error]]


class UserWarning(graphene.ObjectType):  # noqa: A001 — the GraphQL name; not Python's
    code = graphene.Field(UserWarningCode, required=True)
    field = graphene.String(description="提示所涉及的参数名")
    message = graphene.String(required=True, description="中文提示")


def payload_of(info, payload: Callable[..., graphene.ObjectType],
               use_case: Callable[[UnitOfWork], graphene.ObjectType], **empty):
    """Run a mutation's use case in a unit of work of its own; a PayloadError (the use case
    rolled back) is answered in the payload (`empty`: its non-null fields for that case).
    Every mutation needs a signed-in user: checked before any argument is looked at, so an
    anonymous caller learns nothing about the ids it sends (the use case checks it again)."""
    require_user(info.context.principal)
    try:
        return use_case(info.context.unit_of_work())
    except PayloadError as error:
        return payload(errors=UserError.all_of(error), **empty)
