"""The notification outbox, the devices it is pushed to, and what each push did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import utcnow
from backend.db import Base

NOTIFICATION_STATUSES = ("pending", "sent", "dead", "dropped")
PLATFORMS = ("android", "ios", "web")
# FCM registration tokens are about 160 characters, APNs tokens 64; 1024 leaves room for
# other providers' handles and keeps the unique index within PostgreSQL's btree row limit.
MAX_TOKEN_LENGTH = 1024


class Notification(Base):
    """One message to one user: an inbox entry, and the unit the dispatcher claims and pushes.
    `dedupe_key` is unique: writing the same event twice (a retried request, a regenerated
    reminder) cannot queue two messages."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead', 'dropped')", name="status_known"),
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_uid_due_at", "uid", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True, default=None
    )
    # Reminders and confirmations are not urgent (quiet hours delay them); a cancellation by
    # the window is.
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the message is meant for (the inbox shows it from then on); never moved.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the dispatcher may next try it: due_at, later after a failure or in quiet hours.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Claims so far (a claim whose worker died counts too: a message that kills workers ends).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # The worker that claimed it, and until when no other worker may take it.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Device(Base):
    """A push token of a signed-in user. A token belongs to one user at a time."""

    __tablename__ = "device"
    __table_args__ = (
        CheckConstraint("platform IN ('android', 'ios', 'web')", name="platform_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(MAX_TOKEN_LENGTH), unique=True)
    uid: Mapped[str] = mapped_column(String(128), index=True)
    platform: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str | None] = mapped_column(String(35), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                   index=True)


class Delivery(Base):
    """What one push of a notification to one token did. A row means "done, never again":
    sent (with the provider's message id) or failed for good; transient failures leave none."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        CheckConstraint("status IN ('sent', 'failed')", name="status_known"),
    )

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(MAX_TOKEN_LENGTH), primary_key=True)
    platform: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    provider_message_id: Mapped[str | None] = mapped_column(String(300), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
