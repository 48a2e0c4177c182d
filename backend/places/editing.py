"""Editors change places: create, update, archive, restore (and, through `write_change`, the
items a place handles and reverts). Every change is checked whole (all its refusals at once),
written with optimistic concurrency (`version`), keeps the map grid fresh cell by cell, and
leaves one revision — in one transaction, whatever the entry point."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backend.accounts.permissions import require_user
from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.unit_of_work import UnitOfWork
from backend.places import validation
from backend.places.errors import PlaceError, PlaceWarning, raise_all
from backend.places.events import PlaceArchived, PlaceRestored, PlacesWritten
from backend.places.grid import lock_grid_state, refresh_grid_cells
from backend.places.models import Place
from backend.places.permissions import (
    require_county_editor,
    require_place_editor,
    require_some_editor,
)
from backend.places.revisions import Change, record_revision
from backend.places.search import GeoPoint
from backend.places.warnings import duplicate_warning, move_warning
from geodata.crs import CRS

MAX_REASON = 200
EDITOR_SOURCE = "editor"  # Place.source of places created in the console
# Writing these columns moves a place in (or out of) the map grid.
GRID_COLUMNS = {"lat", "lon", "kind", "archived"}
# Writing these changes what a place is found by (guidance adds the items it handles).
SEARCHED_COLUMNS = {"name", "address"}
# column → API field name, as revisions and errors name them; "location" stands for lat/lon.
FIELDS = {"name": "name", "kind": "kind", "address": "address", "phone": "phone",
          "opening_hours": "openingHours", "county_code": "regionCode",
          "clinic_level": "clinicLevel", "cross_province_settlement": "crossProvinceSettlement",
          "beds": "beds", "available_beds": "availableBeds",
          "accepts_non_local": "acceptsNonLocal", "care_levels": "careLevels",
          "source": "source", "external_id": "externalId", "archived": "archived",
          "archived_reason": "archivedReason"}
OWN_ATTRIBUTES = {"CLINIC": ("clinic_level", "cross_province_settlement"),
                  "ELDERLY_CARE": ("beds", "available_beds", "accepts_non_local", "care_levels")}
KIND_ATTRIBUTES = tuple(column for columns in OWN_ATTRIBUTES.values() for column in columns)


@dataclass(frozen=True)
class PlaceInput:
    """What an editor sends. None leaves a field as it is (on create: unset); an empty text
    clears an optional one (address, phone, hours, clinic level)."""

    name: str | None = None
    kind: str | None = None
    address: str | None = None
    phone: str | None = None
    location: GeoPoint | None = None
    region_code: str | None = None  # the county the editor says the place is in
    opening_hours: str | None = None
    clinic_level: str | None = None
    cross_province_settlement: bool | None = None
    beds: int | None = None
    available_beds: int | None = None
    accepts_non_local: bool | None = None
    care_levels: tuple[str, ...] | None = None
    external_id: str | None = None
    source: str | None = None


@dataclass
class EditResult:
    place: Place | None
    warnings: list[PlaceWarning] = field(default_factory=list)
    changed: bool = False


def columns_of(place: Place | None) -> dict:
    if place is None:
        return {}
    names = [*FIELDS, "lat", "lon", "city_code", "province_code"]
    return {name: getattr(place, name) for name in names}


class _Checks:
    """Runs checks, collecting their refusals, so one answer names every bad field."""

    def __init__(self) -> None:
        self.errors: list[PlaceError] = []

    def run(self, check: Callable, *args):  # noqa: ANN202
        try:
            return True, check(*args)
        except PlaceError as error:
            self.errors.append(error)
            return False, None


def _required(checks: _Checks, value, api_field: str, label: str) -> None:  # noqa: ANN001
    if value is None:
        checks.errors.append(PlaceError("INVALID_INPUT", f"请填写{label}", api_field))


def _proposed(session: Session, data: PlaceInput, place: Place | None
              ) -> tuple[dict, list[PlaceError]]:
    """The columns this input writes (validated), and every refusal."""
    checks, values = _Checks(), {}
    creating = place is None
    if creating:
        _required(checks, data.name, "name", "名称")
        _required(checks, data.kind, "kind", "场所类型")
        _required(checks, data.location, "location", "位置")
        _required(checks, data.region_code, "regionCode", "所在区县代码")
    for column, check in (("name", validation.check_name), ("kind", validation.check_kind),
                          ("address", validation.check_address),
                          ("phone", validation.check_phone),
                          ("opening_hours", validation.check_opening_hours)):
        given = getattr(data, column)
        if given is not None:
            ok, value = checks.run(check, given)
            if ok:
                values[column] = value
    for column in KIND_ATTRIBUTES:
        given = getattr(data, column)
        if given is not None:
            if column == "clinic_level":
                given = given.strip() or None
            elif column == "care_levels":
                given = [level.strip() for level in given] or None
            values[column] = given
    if place is not None and values.get("kind", place.kind) != place.kind:
        # A new kind drops the old kind's attributes (a hall has no beds), unless given.
        for column in KIND_ATTRIBUTES:
            if column not in values and column not in OWN_ATTRIBUTES.get(values["kind"], ()):
                values[column] = None
    if any(column in values for column in ("kind", *KIND_ATTRIBUTES)):
        final = {**columns_of(place), **values}
        if final.get("kind") is not None:  # without a kind, its absence is the refusal
            checks.run(validation.check_kind_attributes, final)
    if data.location is not None or data.region_code is not None:
        declared = data.region_code or (place.county_code if place else None)
        ok, declared = (checks.run(validation.check_declared_region, session, declared)
                        if declared is not None or not creating else (False, None))
        point = data.location or (GeoPoint(place.lat, place.lon) if place else None)
        if ok and point is not None:
            ok, located = checks.run(validation.locate, session, point.lat, point.lon,
                                     CRS(point.crs), declared)
            if ok:
                values.update(lat=located.lat, lon=located.lon, **located.codes)
    for column in ("source", "external_id"):
        given = getattr(data, column)
        if given is not None:
            given = given.strip()
            if not 1 <= len(given) <= (32 if column == "source" else 128):
                checks.errors.append(PlaceError(
                    "INVALID_INPUT", f"{FIELDS[column]} 须为 1–{32 if column == 'source' else 128}"
                    " 个字符", FIELDS[column]))
            else:
                values[column] = given
    return values, checks.errors


def changes_of(before: dict, values: dict) -> list[Change]:
    """[{field, old, new}] of what `values` changes in `before` (a location as one field)."""
    changes = []
    if any(column in values and values[column] != before.get(column) for column in ("lat", "lon")):
        old = None if before.get("lat") is None else {"lat": before["lat"], "lon": before["lon"]}
        changes.append({"field": "location", "old": old,
                        "new": {"lat": values["lat"], "lon": values["lon"]}})
    for column, api_field in FIELDS.items():
        if column in values and values[column] != before.get(column):
            changes.append({"field": api_field, "old": before.get(column), "new": values[column]})
    return changes


def _warnings(session: Session, place: Place | None, values: dict) -> list[PlaceWarning]:
    final = {**columns_of(place), **values}
    warnings = []
    # `values` holds only what changes: a new place, a new name, address or position.
    if place is None or {"name", "address", "lat", "lon"} & values.keys():
        duplicate = duplicate_warning(session, None if place is None else place.id,
                                      final["name"], final.get("address"), final["lat"],
                                      final["lon"], final.get("county_code"))
        if duplicate is not None:
            warnings.append(duplicate)
    if place is not None and ("lat" in values or "lon" in values):
        moved = move_warning((place.lat, place.lon), (final["lat"], final["lon"]))
        if moved is not None:
            warnings.append(moved)
    return warnings


def _require_acknowledged(warnings: list[PlaceWarning], acknowledge) -> None:  # noqa: ANN001
    missing = [w for w in warnings if w.code not in set(acknowledge or ())]
    if missing:
        error = PlaceError(
            "WARNINGS_NOT_ACKNOWLEDGED",
            "请确认以下提示后重新提交（在 acknowledge 中列出其代码）："
            + "；".join(f"{w.code}：{w.message}" for w in missing), "acknowledge")
        error.warnings = warnings
        raise error


def load_for_edit(session: Session, principal: Principal, place_id: int,
                  version: int) -> Place:
    """The place to change, once the caller may change it and has read its current version."""
    require_user(principal)
    place = session.get(Place, place_id, populate_existing=True)
    if place is None:
        raise PlaceError("NOT_FOUND", "未找到该地点", "id")
    require_place_editor(principal, place)
    if place.version != version:
        raise stale(place.version)
    return place


def stale(current: int) -> PlaceError:
    return PlaceError("STALE_VERSION",
                      f"该地点已被他人修改（当前版本为 {current}），请刷新后在最新内容上修改",
                      "version")


def write_change(uow: UnitOfWork, principal: Principal | None, place: Place, version: int,
                 values: dict, changes: list[Change], *, action: str, source: str) -> Place:
    """Write `values` to the place if it is still at `version` (else STALE_VERSION), keep the
    grid fresh, record the revision and the events. The one write path of every change."""
    session = uow.session
    old_point = (place.kind, place.lat, place.lon)
    in_grid = bool(GRID_COLUMNS & values.keys())
    fresh = lock_grid_state(session) if in_grid else False
    written = session.execute(
        update(Place).where(Place.id == place.id, Place.version == version)
        .values(**values, version=version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if written != 1:
        raise stale(session.scalar(select(Place.version).where(Place.id == place.id)))
    session.refresh(place)
    if in_grid and fresh:
        refresh_grid_cells(session, [old_point, (place.kind, place.lat, place.lon)])
    record_revision(session, place_id=place.id, version=place.version, action=action,
                    uid=principal.uid if principal else None, source=source, changes=changes)
    if SEARCHED_COLUMNS & values.keys():
        uow.record(PlacesWritten((place.id,)))
    return place


def create_place(uow: UnitOfWork, principal: Principal, data: PlaceInput, *,
                 acknowledge=(), source: str = "console") -> EditResult:  # noqa: ANN001
    require_some_editor(principal)
    with uow:
        session = uow.session
        if data.region_code:
            require_county_editor(principal, data.region_code.strip())
        values, errors = _proposed(session, data, None)
        values.setdefault("source", EDITOR_SOURCE)
        values.setdefault("external_id", f"editor-{uuid.uuid4().hex[:16]}")
        if not errors and session.scalar(select(Place.id).where(
                Place.source == values["source"], Place.external_id == values["external_id"])):
            errors.append(PlaceError("DUPLICATE_EXTERNAL_ID",
                                     f"来源 {values['source']} 下已有编号为 "
                                     f"{values['external_id']} 的地点", "externalId"))
        raise_all(errors)
        warnings = _warnings(session, None, values)
        _require_acknowledged(warnings, acknowledge)
        fresh = lock_grid_state(session)
        place_id = session.execute(insert(Place).values(**values, version=1)
                                   .returning(Place.id)).scalar_one()
        place = session.get(Place, place_id)
        if fresh:
            refresh_grid_cells(session, [(place.kind, place.lat, place.lon)])
        record_revision(session, place_id=place.id, version=1, action="create",
                        uid=principal.uid, source=source, changes=changes_of({}, values))
        uow.record(PlacesWritten((place.id,)))
        uow.commit()
    return EditResult(place, warnings, True)


def update_place(uow: UnitOfWork, principal: Principal, *, place_id: int, version: int,
                 data: PlaceInput, acknowledge=(), source: str = "console"  # noqa: ANN001
                 ) -> EditResult:
    with uow:
        session = uow.session
        place = load_for_edit(session, principal, place_id, version)
        values, errors = _proposed(session, data, place)
        new_county = values.get("county_code")
        if new_county and new_county != place.county_code:
            require_county_editor(principal, new_county)
        raise_all(errors)
        before = columns_of(place)
        changes = changes_of(before, values)
        values = {column: value for column, value in values.items()
                  if value != before.get(column)}
        if not changes:
            uow.commit()
            return EditResult(place, [], False)
        warnings = _warnings(session, place, values)
        _require_acknowledged(warnings, acknowledge)
        write_change(uow, principal, place, version, values, changes, action="update",
                     source=source)
        uow.commit()
    return EditResult(place, warnings, True)


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise PlaceError("INVALID_INPUT", f"请填写停用原因（1–{MAX_REASON} 个字符）", "reason")
    return reason


def archive_place(uow: UnitOfWork, principal: Principal, *, place_id: int, version: int,
                  reason: str, source: str = "console", now: datetime | None = None) -> Place:
    """Take a place off the map: out of search and clusters; booking closes its future slots
    and cancels their appointments, and the residents are told (events, same transaction)."""
    with uow:
        session = uow.session
        place = load_for_edit(session, principal, place_id, version)
        reason = _check_reason(reason)
        if place.archived:
            raise PlaceError("ALREADY_ARCHIVED", field="id")
        values = {"archived": True, "archived_reason": reason}
        write_change(uow, principal, place, version, values, changes_of(columns_of(place), values),
                     action="archive", source=source)
        uow.record(PlaceArchived(place.id, reason, now or utcnow()))
        uow.commit()
    return place


def restore_place(uow: UnitOfWork, principal: Principal, *, place_id: int, version: int,
                  source: str = "console", now: datetime | None = None) -> Place:
    with uow:
        session = uow.session
        place = load_for_edit(session, principal, place_id, version)
        if not place.archived:
            raise PlaceError("NOT_ARCHIVED", field="id")
        values = {"archived": False, "archived_reason": None}
        write_change(uow, principal, place, version, values, changes_of(columns_of(place), values),
                     action="restore", source=source)
        uow.record(PlaceRestored(place.id, now or utcnow()))
        uow.commit()
    return place
