"""Custom GraphQL scalars: DateTime (ISO-8601; the business time zone is Asia/Shanghai)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import graphene

from backend.core.clock import BUSINESS_TZ, to_business_time
from graphql import GraphQLError, StringValueNode, ValueNode

DATETIME_ERROR = "时间格式无效：请使用 ISO-8601，如 2025-10-01T10:00:00+08:00"

# A date and a time are both required (a bare date would silently mean midnight); seconds,
# fractions and the offset are optional, "Z" is UTC.
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)


def _invalid_datetime() -> GraphQLError:
    # A literal refused here is reported by validation; the code says the value is at fault.
    return GraphQLError(DATETIME_ERROR, extensions={"code": "BAD_USER_INPUT"})


def parse_datetime(text: str) -> datetime:
    """An aware Asia/Shanghai datetime from ISO-8601 text; without an offset it is Beijing time."""
    if not _ISO_DATETIME.fullmatch(text.strip()):
        raise _invalid_datetime()
    try:
        return to_business_time(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError) as error:  # 2025-02-30, an offset past ±24 h, year 0
        raise _invalid_datetime() from error


class DateTime(graphene.Scalar):
    """ISO-8601 日期时间，带时区偏移，如 2025-10-01T10:00:00+08:00；
    不带偏移时按北京时间（Asia/Shanghai）理解。"""

    @staticmethod
    def serialize(value: datetime) -> str:
        if not isinstance(value, datetime):
            raise GraphQLError(f"DateTime cannot represent value: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            # What we store is UTC, and SQLite hands timestamps back without their zone.
            value = value.replace(tzinfo=UTC)
        return value.astimezone(BUSINESS_TZ).isoformat()

    @staticmethod
    def parse_value(value: object) -> datetime:
        if not isinstance(value, str):
            raise _invalid_datetime()
        return parse_datetime(value)

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: object = None) -> datetime:
        if not isinstance(node, StringValueNode):
            raise _invalid_datetime()
        return parse_datetime(node.value)


DATE_ERROR = "日期格式无效：请使用 YYYY-MM-DD，如 2026-12-01"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _invalid_date() -> GraphQLError:
    return GraphQLError(DATE_ERROR, extensions={"code": "BAD_USER_INPUT"})


def parse_date(text: str) -> date:
    if not _ISO_DATE.fullmatch(text.strip()):
        raise _invalid_date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:  # 2026-02-30, month 13
        raise _invalid_date() from error


class Date(graphene.Scalar):
    """ISO-8601 日期（北京时间的日历日），如 2026-12-01。"""

    @staticmethod
    def serialize(value: date) -> str:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise GraphQLError(f"Date cannot represent value: {value!r}")
        return value.isoformat()

    @staticmethod
    def parse_value(value: object) -> date:
        if not isinstance(value, str):
            raise _invalid_date()
        return parse_date(value)

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: object = None) -> date:
        if not isinstance(node, StringValueNode):
            raise _invalid_date()
        return parse_date(node.value)


class Upload(graphene.Scalar):
    """A file sent by the GraphQL multipart request spec (multipart/form-data: operations,
    map, and the file parts); only as a variable."""

    @staticmethod
    def serialize(value):
        raise GraphQLError("Upload 只能作为输入")

    @staticmethod
    def parse_literal(node: ValueNode, _variables=None):
        raise GraphQLError("文件须按 GraphQL multipart 请求规范作为变量上传",
                           extensions={"code": "BAD_USER_INPUT"})

    @staticmethod
    def parse_value(value):
        if not (hasattr(value, "read") and hasattr(value, "filename")):
            raise GraphQLError("文件须按 GraphQL multipart 请求规范上传（multipart/form-data）",
                               extensions={"code": "BAD_USER_INPUT"})
        return value
