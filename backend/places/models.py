"""Tables of the places domain: administrative regions and places (WGS-84 only)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class Region(Base):
    """Province, city or county, keyed by its adcode (行政区划代码)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("region.code"), index=True, default=None
    )
    # WKB of the WGS-84 boundary; point-in-region answers come from shapely (geodata.regions).
    boundary_wkb: Mapped[bytes] = mapped_column(LargeBinary)


class Place(Base):
    """A service location. lat/lon are the source of truth; spatial indexes derive from them."""

    __tablename__ = "place"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
        CheckConstraint(
            "available_beds IS NULL OR beds IS NULL"
            " OR (available_beds >= 0 AND available_beds <= beds)",
            name="available_beds_range",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    county_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    city_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    clinic_level: Mapped[str | None] = mapped_column(String(32), default=None)
    cross_province_settlement: Mapped[bool | None] = mapped_column(Boolean, default=None)
    beds: Mapped[int | None] = mapped_column(Integer, default=None)
    available_beds: Mapped[int | None] = mapped_column(Integer, default=None)
    accepts_non_local: Mapped[bool | None] = mapped_column(Boolean, default=None)
    care_levels: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
