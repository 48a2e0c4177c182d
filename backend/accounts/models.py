"""Tables of the accounts domain: a row per signed-in user, and role grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import utcnow
from backend.db import Base

ROLES = ("staff", "editor", "admin")


class Account(Base):
    """A Firebase user we have seen. Its row is also the resident's lock: every booking of one
    resident takes it first, so the per-resident limits are decided one booking at a time."""

    __tablename__ = "account"

    uid: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoleGrant(Base):
    """A role of a user with its scope: staff → a window id, editor → a region code, admin → ''."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("uid", "role", "scope"),
        CheckConstraint("role IN ('staff', 'editor', 'admin')", name="role_known"),
        CheckConstraint(
            "(role = 'staff' AND window_id IS NOT NULL)"
            " OR (role = 'editor' AND window_id IS NULL AND scope <> '')"
            " OR (role = 'admin' AND window_id IS NULL AND scope = '')",
            name="scope_fits_role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(32), default="")
    # Set for staff grants, so that deleting a window removes who staffed it.
    window_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_window.id", ondelete="CASCADE"), index=True, default=None
    )
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
