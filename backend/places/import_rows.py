"""Reading the files editors receive into rows: CSV (UTF-8 with or without BOM, GB18030 as
Excel in China writes it), Excel .xlsx (openpyxl), our GeoJSON (RFC 7946, or a legacy `crs`
member naming the datum) and Amap's POI GeoJSON. Each row keeps its label (第 N 行 / 第 N 个要素)
for the error report; a file that cannot be read at all is one Chinese error, never a Python
exception's text."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

from backend.places.amap import AMAP_SOURCE, amap_service_halls
from geodata.crs import CRS

FORMATS = ("geojson", "csv", "xlsx", "amap")
COLUMNS = ("external_id", "name", "kind", "address", "phone", "lat", "lon", "opening_hours",
           "region_code", "clinic_level", "cross_province_settlement", "beds", "available_beds",
           "accepts_non_local", "care_levels", "source")
REQUIRED = ("external_id", "name", "kind", "lat", "lon")
# A legacy GeoJSON `crs` member (RFC 7946 dropped it; files still carry it) → our datum.
CRS_NAMES = {"urn:ogc:def:crs:ogc:1.3:crs84": CRS.WGS84, "epsg:4326": CRS.WGS84,
             "urn:ogc:def:crs:epsg::4326": CRS.WGS84, "wgs84": CRS.WGS84,
             "gcj02": CRS.GCJ02, "gcj-02": CRS.GCJ02, "bd09": CRS.BD09, "bd-09": CRS.BD09}


class UnreadableFile(Exception):
    """The file as a whole cannot be read (its message is Chinese, for the report)."""


@dataclass
class Table:
    rows: list[tuple[str, dict]] = field(default_factory=list)  # (label, column → text)
    crs: CRS | None = None  # the datum the file itself states (GeoJSON `crs`, Amap: GCJ-02)
    source: str | None = None  # the source the format implies (Amap)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "无法识别文件编码：请保存为 UTF-8 或 GB18030（GBK）编码的 CSV") from exc


def _header(names: list) -> list[str]:
    header = [str(name or "").strip().lower().replace(" ", "_") for name in names]
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise UnreadableFile(f"未知的列：{'、'.join(unknown)}；可用的列为 {', '.join(COLUMNS)}")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise UnreadableFile(f"缺少必填的列：{'、'.join(missing)}")
    return header


def _cell(value) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        # Excel stores every number as a float: an id 10023 must stay "10023".
        return str(int(value))
    return str(value).strip()


def _cells(header: list[str], values) -> dict:  # noqa: ANN001
    # A short row leaves the last columns empty; extra cells beyond the header are dropped.
    return {name: _cell(value) for name, value in zip(header, values, strict=False) if name}


def read_csv(data: bytes) -> Table:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _header(next(reader))
    except StopIteration as exc:
        raise UnreadableFile("文件是空的") from exc
    except csv.Error as exc:
        raise UnreadableFile("无法解析 CSV 表头") from exc
    table = Table()
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            table.rows.append((f"第 {reader.line_num} 行",
                               _cells(header, values)))
    except csv.Error as exc:
        raise UnreadableFile(f"第 {reader.line_num} 行：CSV 格式错误（引号不匹配？）") from exc
    return table


def read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook  # only an .xlsx import needs it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile("无法读取 Excel 文件：请提供 .xlsx 格式（Excel 2007 及以后）") from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        header = _header(list(next(rows)))
    except StopIteration as exc:
        raise UnreadableFile("工作表是空的") from exc
    table = Table()
    for number, values in enumerate(rows, start=2):
        cells = _cells(header, values)
        if any(cells.values()):
            table.rows.append((f"第 {number} 行", cells))
    workbook.close()
    return table


def _json(data: bytes) -> dict:
    try:
        document = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise UnreadableFile("不是 GeoJSON 要素集合（FeatureCollection）")
    return document


def _point(feature: object) -> tuple[str, str] | None:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return None
    return _cell(coordinates[0]), _cell(coordinates[1])


def read_geojson(data: bytes) -> Table:
    """Our export format: properties named like the CSV columns, Point geometry (lon, lat)."""
    document = _json(data)
    table = Table()
    named = document.get("crs")
    if named is not None:
        name = str((named.get("properties") or {}).get("name", "")
                   if isinstance(named, dict) else "").strip().lower()
        if name not in CRS_NAMES:
            raise UnreadableFile(f"不支持的坐标参考系（crs）：{name or named}；"
                                 "应为 WGS-84（EPSG:4326）、GCJ02 或 BD09")
        table.crs = CRS_NAMES[name]
    for number, feature in enumerate(document["features"], start=1):
        label = f"第 {number} 个要素"
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            properties = {}
        unknown = [key for key in properties if key not in COLUMNS]
        cells = {key: _cell(value) if not isinstance(value, list)
                 else "、".join(_cell(v) for v in value)
                 for key, value in properties.items() if key in COLUMNS}
        point = _point(feature)
        cells["lon"], cells["lat"] = point if point else ("", "")
        if unknown:
            cells["_unknown"] = "、".join(unknown)
        if point is None:
            cells["_geometry"] = "几何须为 Point（点）"
        table.rows.append((label, cells))
    return table


def read_amap(data: bytes) -> Table:
    """Amap's POI export: its government service halls only, converted from GCJ-02 the way
    `seed demo` reads the same file (so importing it again changes nothing)."""
    document = _json(data)
    for number, feature in enumerate(document["features"], start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict) or "amapId" not in properties \
                or _point(feature) is None:
            raise UnreadableFile(f"第 {number} 个要素不是高德 POI（缺少 amapId 或点坐标）")
    table = Table(crs=CRS.WGS84, source=AMAP_SOURCE)
    for record in amap_service_halls(document["features"]):
        table.rows.append((f"高德 POI {record.external_id}", {
            "external_id": record.external_id, "name": record.name, "kind": record.kind.value,
            "lat": repr(record.lat), "lon": repr(record.lon), "address": record.address or "",
            "phone": record.phone or "", "opening_hours": record.opening_hours or ""}))
    return table


READERS = {"csv": read_csv, "xlsx": read_xlsx, "geojson": read_geojson, "amap": read_amap}


def read_table(data: bytes, file_format: str) -> Table:
    if file_format not in READERS:
        raise UnreadableFile(f"不支持的格式：{file_format}；应为 {', '.join(FORMATS)}")
    return READERS[file_format](data)


def guess_format(file_name: str) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {"csv": "csv", "xlsx": "xlsx", "json": "geojson", "geojson": "geojson"}.get(
        suffix, "geojson")
