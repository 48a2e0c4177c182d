"""Tables of the places domain: administrative regions and places (WGS-84 only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.clock import utcnow
from backend.db import Base


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
    # OSM opening_hours syntax, validated on write (backend.places.hours).
    opening_hours: Mapped[str | None] = mapped_column(String(500), default=None)
    # Space-separated search tokens (CJK bigrams, pinyin, initials: backend.places.text),
    # indexed by FTS5 on SQLite and a generated tsvector on PostgreSQL.
    search_text: Mapped[str | None] = mapped_column(Text, default=None)
    # Optimistic concurrency for editors: every change writes version + 1 where the version
    # is still the one the editor read (backend.places.editing).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Archived places stay (their revisions, appointments and windows refer to them) but leave
    # search, the map and booking.
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                           index=True)
    archived_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class HolidayDay(Base):
    """A day that breaks the ordinary week: a statutory holiday (放假) or a make-up working
    day (调休上班); or an editor's pin that a day is ordinary. Days not listed follow the
    weekday."""

    __tablename__ = "holiday_calendar"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday', 'ordinary')", name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "holiday" | "workday" | "ordinary"
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # "holidays 0.109", "manual" …
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PlaceGrid(Base):
    """Places per map-cluster cell, per zoom (0 to GRID_MAX_ZOOM) and kind, and of all kinds
    (kind ALL_KINDS, '*'): the sums mapClusters merges (backend.places.clusters). Derived from
    `place` by `rebuild_place_grid` and kept by place edits; used only while `place_grid_state`
    says no place was written since."""

    __tablename__ = "place_grid"

    # (zoom, ix, iy) first: a window is a few columns (ix IN …) of a row range (iy BETWEEN …).
    zoom: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ix: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    iy: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    lat_sum: Mapped[float] = mapped_column(Float)
    lon_sum: Mapped[float] = mapped_column(Float)
    south: Mapped[float] = mapped_column(Float)
    west: Mapped[float] = mapped_column(Float)
    north: Mapped[float] = mapped_column(Float)
    east: Mapped[float] = mapped_column(Float)
    first_id: Mapped[int] = mapped_column(Integer)


class PlaceGridState(Base):
    """One row: triggers on `place` bump `version` when a place is written while the grid is
    fresh; a rebuild sets `built_version = version`. The grid is fresh while they are equal."""

    __tablename__ = "place_grid_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    built_version: Mapped[int] = mapped_column(Integer)


class PlaceRevision(Base):
    """One change of a place: who, when, from where, and what (field, old, new), in the shape
    of Open Referral HSDS `metadata`. `version` is the place's version after the change."""

    __tablename__ = "place_revision"
    __table_args__ = (UniqueConstraint("place_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # create, update, archive, restore …
    uid: Mapped[str | None] = mapped_column(String(128), default=None)
    source: Mapped[str] = mapped_column(String(200))  # "console", "cli", "import:<file>"
    changes: Mapped[list[dict]] = mapped_column(JSON)  # [{field, old, new}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GeocodeCache(Base):
    """A geocoder's answer to one query (provider, "region|address"), kept for
    GEOCODER_CACHE_DAYS: remote providers have quotas, and an editor asks twice."""

    __tablename__ = "geocode_cache"
    __table_args__ = (UniqueConstraint("provider", "query"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(240))
    answer: Mapped[list[dict]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlaceReport(Base):
    """A resident's report that a place's information is wrong (纠错), and how the editors of
    its region handled it: resolved with an edit (the place's version that fixed it) or
    dismissed with a reason. A resident has at most one open report per place (the partial
    unique index decides, so two racing requests cannot both file one)."""

    __tablename__ = "place_report"
    __table_args__ = (
        Index("uq_place_report_open", "place_id", "uid", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_place_report_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(24))  # backend.places.reports.REASONS
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    # Where the resident stood (WGS-84), when they shared it.
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    # The place's version when the report was filed: a fix is a later version.
    place_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved, dismissed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    handled_by: Mapped[str | None] = mapped_column(String(128), default=None)
    handling_note: Mapped[str | None] = mapped_column(String(500), default=None)
    resolved_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # Every screen of a report shows its place: loaded with it, in the same statement.
    place: Mapped[Place] = relationship(Place, lazy="joined", innerjoin=True)
