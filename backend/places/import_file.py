"""Importing a file of places: one use case for the CLI and the console (GraphQL importPlaces).

Every row is checked with the editors' rules (backend.places.validation), all errors of the
file reported at once (up to MAX_ERRORS) with their row and column, and nothing is written
while any remains. Rows are matched by (source, external id), so importing twice changes
nothing; `sync` archives the places of the source the file no longer lists (refused above
SYNC_LIMIT of them unless forced). Each created, updated or archived place gets its revision
(source `import:<file>`), in the same transaction; the map grid is rebuilt after."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backend.accounts.permissions import region_covers
from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.unit_of_work import UnitOfWork
from backend.places import validation
from backend.places.city_clusters import in_service_area
from backend.places.editing import FIELDS, changes_of, columns_of
from backend.places.errors import PlaceError
from backend.places.events import PlaceArchived, PlacesWritten
from backend.places.grid import rebuild_place_grid
from backend.places.import_rows import Table, UnreadableFile, read_table
from backend.places.models import Place, PlaceRevision
from backend.places.regions import region_codes_at
from backend.places.warnings import move_warning
from geodata.crs import CRS, to_wgs84

MAX_ERRORS = 200
SYNC_LIMIT = 0.4
MAX_SOURCE = 32
KIND_WORDS = {
    "SERVICE_HALL": ("政务服务中心", "政务服务大厅", "政务大厅", "行政服务中心", "市民中心",
                     "便民服务中心", "党群服务中心", "服务大厅", "办事大厅"),
    "CLINIC": ("医院", "卫生院", "社区卫生服务中心", "社区卫生服务站", "卫生服务中心", "诊所",
               "卫生室", "医疗机构", "门诊部", "中医院"),
    "ELDERLY_CARE": ("养老院", "敬老院", "养老机构", "福利院", "养老服务中心", "护理院",
                     "老年公寓", "颐养院", "照料中心"),
}
_KINDS = {word: kind for kind, words in KIND_WORDS.items() for word in words}
TRUE, FALSE = {"是", "有", "true", "yes", "y", "1", "t"}, {"否", "无", "false", "no", "n", "0", "f"}
_LIST_SEPARATORS = re.compile(r"[、,，;；|/]")


@dataclass(frozen=True)
class RowError:
    row: str
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.row}" + (f"，{self.column} 列" if self.column else "") + f"：{self.message}"


@dataclass
class ImportReport:
    file_name: str
    source: str
    dry_run: bool
    created: list[str] = field(default_factory=list)  # external ids
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    archived: list[str] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    truncated: bool = False  # more than MAX_ERRORS errors: only the first are listed

    @property
    def ok(self) -> bool:
        return not self.errors


class _Errors(Exception):
    pass


def _parse_kind(text: str) -> str:
    value = text.strip()
    if value.upper() in KIND_WORDS:
        return value.upper()
    if value in _KINDS:
        return _KINDS[value]
    raise PlaceError("INVALID_INPUT", f"未知的场所类型“{value}”；可填 SERVICE_HALL、CLINIC、"
                     "ELDERLY_CARE 或 政务服务中心、医院、卫生院、养老院 等", "kind")


def _parse_bool(text: str, column: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in TRUE or value in FALSE:
        return value in TRUE
    raise PlaceError("INVALID_INPUT", f"应填 是 或 否（现为“{text}”）", column)


def _parse_int(text: str, column: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"-?\d{1,9}", value):
        raise PlaceError("INVALID_INPUT", f"应为整数（现为“{text}”）", column)
    return int(value)


def _parse_float(text: str, column: str) -> float:
    value = text.strip()
    if not value:
        raise PlaceError("INVALID_INPUT", "不能为空", column)
    try:
        number = float(value)
    except ValueError as exc:
        raise PlaceError("INVALID_INPUT", f"应为数字（现为“{text}”）", column) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise PlaceError("INVALID_INPUT", "应为有限数字", column)
    return number


_API_TO_COLUMN = {api: column for column, api in FIELDS.items()}


def _column(field_name: str | None) -> str | None:
    """A refusal's field as the file's column (regionCode → region_code)."""
    if field_name is None:
        return None
    if field_name == "location":
        return "lat/lon"
    return _API_TO_COLUMN.get(field_name, field_name)


def _row_values(session: Session, cells: dict, crs: CRS, source: str
                ) -> tuple[dict, list[PlaceError]]:
    """The columns one row writes, and its refusals."""
    errors: list[PlaceError] = []
    # A row may name its own source (our export does); else the import's.
    values: dict = {"source": cells.get("source", "").strip() or source}
    if len(values["source"]) > MAX_SOURCE:
        errors.append(PlaceError("INVALID_INPUT", f"最多 {MAX_SOURCE} 个字符", "source"))

    def attempt(check: Callable, *args):  # noqa: ANN202
        try:
            return check(*args)
        except PlaceError as error:
            errors.append(error)
            return None

    for marker, message in (("_unknown", "未知的属性："), ("_geometry", "")):
        if marker in cells:
            errors.append(PlaceError("INVALID_INPUT", message + cells[marker],
                                     "properties" if marker == "_unknown" else "geometry"))
    external_id = cells.get("external_id", "").strip()
    if not 1 <= len(external_id) <= 128:
        errors.append(PlaceError("INVALID_INPUT", "须为 1–128 个字符", "external_id"))
    values["external_id"] = external_id
    values["name"] = attempt(validation.check_name, cells.get("name", ""))
    values["kind"] = attempt(_parse_kind, cells.get("kind", "")) if cells.get("kind") \
        else errors.append(PlaceError("INVALID_INPUT", "不能为空", "kind"))
    values["address"] = attempt(validation.check_address, cells.get("address", ""))
    values["phone"] = attempt(validation.check_phone, cells.get("phone", ""))
    values["opening_hours"] = attempt(validation.check_opening_hours,
                                      cells.get("opening_hours", ""))
    values["clinic_level"] = cells.get("clinic_level", "").strip() or None
    for column in ("cross_province_settlement", "accepts_non_local"):
        values[column] = attempt(_parse_bool, cells.get(column, ""), column)
    for column in ("beds", "available_beds"):
        values[column] = attempt(_parse_int, cells.get(column, ""), column)
    levels = [level.strip() for level in _LIST_SEPARATORS.split(cells.get("care_levels", ""))
              if level.strip()]
    values["care_levels"] = levels or None
    if values["kind"] is not None:
        attempt(validation.check_kind_attributes, values)
    lat = attempt(_parse_float, cells.get("lat", ""), "lat")
    lon = attempt(_parse_float, cells.get("lon", ""), "lon")
    if lat is not None and lon is not None:
        declared = cells.get("region_code", "").strip()
        if declared:
            if attempt(validation.check_declared_region, session, declared) is not None:
                located = attempt(validation.locate, session, lat, lon, crs, declared)
                if located is not None:
                    values.update(lat=located.lat, lon=located.lon, **located.codes)
        else:
            # Lists from Baidu or Amap carry no county: it follows from the point.
            located = attempt(_in_service_area, session, lat, lon, crs)
            if located is not None:
                values.update(lat=located.lat, lon=located.lon, **located.codes)
    return values, errors


def _in_service_area(session: Session, lat: float, lon: float, crs: CRS) -> validation.Located:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise PlaceError("INVALID_LOCATION", "坐标超出范围：纬度应在 -90 到 90 之间，经度应在 "
                         "-180 到 180 之间（纬度和经度是否填反了？）", "location")
    point = to_wgs84(lat, lon, crs)
    codes = region_codes_at(session, *point)
    if not in_service_area(codes["city_code"]):
        raise PlaceError("OUTSIDE_SERVICE_AREA", "该位置不在本平台服务的区县内"
                         "（坐标系或经纬度是否有误？）", "location")
    return validation.Located(point[0], point[1], codes)


def _allowed(principal: Principal | None, *codes: str | None) -> bool:
    """An import as a user (`--as`, the console) writes only in the user's regions; the CLI
    without `--as` is the operator's."""
    if principal is None or principal.is_admin:
        return True
    return any(region_covers(scope, code) for scope in principal.edited_regions()
               for code in codes if code)


def _check_source(source: str) -> str:
    source = (source or "").strip()
    if not 1 <= len(source) <= MAX_SOURCE or not re.fullmatch(r"[\w.-]+", source):
        raise UnreadableFile(
            f"来源（--source）须为 1–{MAX_SOURCE} 个字母、数字、下划线、点或连字符")
    return source


def import_places_file(uow: UnitOfWork, principal: Principal | None, data: bytes, *,
                       file_name: str, file_format: str, crs: CRS | None = None,
                       source: str | None = None, dry_run: bool = False, sync: bool = False,
                       force: bool = False, origin: str = "import",
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row of the file, then (unless `dry_run` or any error) write the plan."""
    report = ImportReport(file_name=file_name, source=source or "", dry_run=dry_run)
    try:
        table: Table = read_table(data, file_format)
        source = _check_source(source or table.source or "import")
    except UnreadableFile as error:
        report.errors.append(RowError("文件", None, str(error)))
        return report
    report.source = source
    if crs is not None and table.crs is not None and crs is not table.crs:
        report.errors.append(RowError("文件", "crs", f"文件声明的坐标系为 {table.crs.value}，"
                                      f"与 --crs {crs.value} 不一致"))
        return report
    datum = crs or table.crs or CRS.WGS84
    with uow:
        session = uow.session
        sources = {source} | {cells["source"].strip() for _, cells in table.rows
                              if cells.get("source", "").strip()}
        existing = {(place.source, place.external_id): place for place in session.scalars(
            select(Place).where(Place.source.in_(sources)))}
        seen: dict[tuple[str, str], str] = {}
        plan: list[tuple[str, dict, Place | None]] = []
        for done, (label, cells) in enumerate(table.rows, start=1):
            values, errors = _row_values(session, cells, datum, source)
            key = (values["source"], values["external_id"])
            place = existing.get(key)
            if key in seen:
                errors.append(PlaceError("INVALID_INPUT", f"与{seen[key]}的编号重复",
                                         "external_id"))
            seen.setdefault(key, label)
            if not errors and not _allowed(principal, values.get("county_code"),
                                           values.get("city_code"),
                                           *(() if place is None else (place.county_code,))):
                errors.append(PlaceError("FORBIDDEN", "无权导入该地区的地点", "region_code"))
            for error in errors:
                if len(report.errors) < MAX_ERRORS:
                    report.errors.append(RowError(label, _column(error.field), error.message))
                else:
                    report.truncated = True
            if not errors:
                plan.append((label, values, place))
            if progress is not None:
                progress(done, len(table.rows))
        if report.errors:
            return report
        rows = _plan(report, plan)
        # --sync concerns the import's source only (rows may name others).
        ours = {key: place for key, place in existing.items() if key[0] == source}
        stale = [place for key, place in ours.items()
                 if key not in seen and not place.archived] if sync else []
        live = sum(1 for place in ours.values() if not place.archived)
        if stale and len(stale) > SYNC_LIMIT * live and not force:
            report.errors.append(RowError("文件", None, (
                f"--sync 将停用来源 {source} 的 {len(stale)}/{live} 个地点（超过 "
                f"{SYNC_LIMIT:.0%}）：如确认文件完整，请加 --force")))
            return report
        if stale and not _allowed(principal, *(p.county_code for p in stale)):
            report.errors.append(RowError("文件", None, "无权停用其他地区的地点（--sync）"))
            return report
        report.archived = sorted(place.external_id for place in stale)
        if dry_run:
            return report
        _write(uow, principal, rows, stale, f"{origin}:{file_name}"[:200])
        uow.commit()
    return report


def _plan(report: ImportReport, plan: list) -> list:
    """What each valid row does: (place or None, values, changes) for the rows that write."""
    rows = []
    for label, values, place in plan:
        if place is None:
            report.created.append(values["external_id"])
            rows.append((None, values, changes_of({}, values)))
            continue
        before = columns_of(place)
        changed = {column: value for column, value in values.items()
                   if value != before.get(column)}
        if place.archived:
            report.unchanged += 1
            report.warnings.append(RowError(label, None, "该地点已停用，未更新（请先恢复）"))
            continue
        if not changed:
            report.unchanged += 1
            continue
        report.updated.append(values["external_id"])
        if "lat" in changed or "lon" in changed:
            moved = move_warning((place.lat, place.lon), (values["lat"], values["lon"]))
            if moved is not None:
                report.warnings.append(RowError(label, "lat/lon", moved.message))
        rows.append((place, changed, changes_of(before, changed)))
    return rows


def _write(uow: UnitOfWork, principal: Principal | None, rows: list, stale: list[Place],
           origin: str) -> None:
    session = uow.session
    now = utcnow()
    uid = None if principal is None else principal.uid
    revisions, written = [], []
    new = [values for place, values, _ in rows if place is None]
    if new:
        session.execute(insert(Place), [{**values, "version": 1} for values in new])
        ids = {(row.source, row.external_id): row.id for row in session.execute(
            select(Place.source, Place.external_id, Place.id).where(
                Place.source.in_({v["source"] for v in new}),
                Place.external_id.in_([v["external_id"] for v in new])))}
    for place, values, changes in rows:
        if place is None:
            place_id, version = ids[(values["source"], values["external_id"])], 1
        else:
            place_id, version = place.id, place.version + 1
            session.execute(update(Place).where(Place.id == place.id).values(
                **values, version=version, updated_at=now))
        written.append(place_id)
        revisions.append({"place_id": place_id, "version": version, "action": "import",
                          "uid": uid, "source": origin, "changes": changes, "created_at": now})
    for place in stale:
        session.execute(update(Place).where(Place.id == place.id).values(
            archived=True, archived_reason=f"不在导入文件中（{origin}）"[:200],
            version=place.version + 1, updated_at=now))
        revisions.append({"place_id": place.id, "version": place.version + 1,
                          "action": "archive", "uid": uid, "source": origin,
                          "changes": [{"field": "archived", "old": False, "new": True}],
                          "created_at": now})
        uow.record(PlaceArchived(place.id, "不在导入文件中", now))
    if revisions:
        session.execute(insert(PlaceRevision), revisions)
    if written:
        uow.record(PlacesWritten(tuple(written)))
    if written or stale:
        rebuild_place_grid(session)
