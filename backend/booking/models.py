"""Tables of the booking domain. Times are stored in UTC; days are Asia/Shanghai dates."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import utcnow
from backend.db import Base

# An appointment holds its place in the slot while it is in one of these states.
ACTIVE_STATUSES = ("booked", "checked_in")
APPOINTMENT_STATUSES = ("booked", "checked_in", "completed", "no_show", "cancelled")
# The predicate of the partial unique index on active codes, as SQL: an ON CONFLICT that
# names the index repeats it literally (a bound parameter would not match a prepared plan).
ACTIVE_SQL = "status IN ('booked', 'checked_in')"


class ServiceWindow(Base):
    """A 通办 window (counter) of a service hall, handling a list of service items."""

    __tablename__ = "service_window"
    # The natural key: a hall has one window of a name, so a resent upsert finds it again.
    __table_args__ = (Index("uq_service_window_place_name", "place_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class WindowServiceItem(Base):
    __tablename__ = "window_service_item"

    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_window.id", ondelete="CASCADE"), primary_key=True
    )
    service_item_id: Mapped[int] = mapped_column(
        ForeignKey("service_item.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ScheduleTemplate(Base):
    """Weekly opening of a window for booking: on `weekday` (1 = Monday … 7 = Sunday), slots of
    `slot_minutes` from `start_time` to `end_time`, each for `capacity` residents."""

    __tablename__ = "schedule_template"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes_range"),
        CheckConstraint("capacity BETWEEN 1 AND 100", name="capacity_range"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to",
                        name="valid_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_window.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Slot(Base):
    """A bookable time of a window. `booked` counts active appointments; the CHECK makes
    overbooking impossible whatever the code does, the conditional update makes it an answer."""

    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("window_id", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_window.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date, index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # Staff changed this slot by hand (capacity, closure): regeneration leaves it alone.
    is_manual: Mapped[bool] = mapped_column(Boolean, default=False)


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("uid", "idempotency_key"),
        CheckConstraint(
            "status IN ('booked', 'checked_in', 'completed', 'no_show', 'cancelled')",
            name="status_known",
        ),
        # A check-in code names one active appointment; once it is over, the code may return.
        Index("uq_appointment_active_code", "code", unique=True,
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
        Index("ix_appointment_uid_status", "uid", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(ForeignKey("account.uid"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"), index=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_window.id", ondelete="CASCADE"), index=True
    )
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    code: Mapped[str] = mapped_column(String(16))
    # Bumped by each reschedule: reminders of an earlier slot carry an earlier revision.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    # The slot the booking request named (a retry with its key must name it again; the
    # appointment's slot_id changes when it is rescheduled). Null for rows booked before 0007
    # that were rescheduled since.
    booked_slot_id: Mapped[int | None] = mapped_column(Integer, default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # The resident's answers to the item's guide questions ({question id: yes/no}), given
    # when booking from the guide; null when none were given.
    answers: Mapped[dict | None] = mapped_column(JSON, default=None)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
