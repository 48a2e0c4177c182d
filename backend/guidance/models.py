"""Tables of the guidance domain: cross-province service items and where they are handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import utcnow
from backend.db import Base


class ServiceItem(Base):
    """A 跨省通办 item with its guide. The guide is one JSON document (materials, steps,
    questions) validated by backend.guidance.catalog: it is read and replaced as a whole."""

    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    guide: Mapped[dict] = mapped_column(JSON)
    # Guide texts marked as demonstration content (not an authority's published guide).
    is_demo: Mapped[bool] = mapped_column(Boolean, default=True)
    search_text: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PlaceServiceItem(Base):
    """A place handles a service item (a 通办 window of a hall, a clinic that settles …)."""

    __tablename__ = "place_service_item"

    place_id: Mapped[int] = mapped_column(
        ForeignKey("place.id", ondelete="CASCADE"), primary_key=True
    )
    service_item_id: Mapped[int] = mapped_column(
        ForeignKey("service_item.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ServiceItemRevision(Base):
    """One change of a service item or its guide: who, when, from where, and what (field,
    old, new; a guide's parts as `guide.<part>`)."""

    __tablename__ = "service_item_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_item_id: Mapped[int] = mapped_column(
        ForeignKey("service_item.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str | None] = mapped_column(String(128), default=None)
    source: Mapped[str] = mapped_column(String(200))
    changes: Mapped[list[dict]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
