"""The clock: UTC for what we store, Beijing time (Asia/Shanghai) for what people read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC time (SQLite gives stored times back naive; they were written in UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_business_time(value: datetime) -> datetime:
    """An aware Asia/Shanghai time: aware values are converted, naive ones read as Beijing time."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=BUSINESS_TZ)
    return value.astimezone(BUSINESS_TZ)


def business_date(value: datetime) -> date:
    return as_utc(value).astimezone(BUSINESS_TZ).date()


def local_text(value: datetime) -> str:
    """"12月3日 09:30" in Beijing time, for messages."""
    local = as_utc(value).astimezone(BUSINESS_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
