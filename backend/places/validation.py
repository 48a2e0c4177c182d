"""Checks of what an editor (or an import) writes to a place, each refusal with a stable code,
the field and a Chinese message: names, phones, hours, kind attributes, and whether a point
lies in the county it is declared in — with a hint when the datum or the lat/lon order is
probably wrong, the two mistakes lists from Baidu and Amap tempt."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.core.errors import InvalidInput
from backend.places.city_clusters import in_service_area
from backend.places.errors import PlaceError
from backend.places.hours import validate_opening_hours
from backend.places.records import PlaceKind
from backend.places.regions import region_codes_at, regions_by_code
from geodata.crs import CRS, to_wgs84

MAX_NAME = 100
MAX_ADDRESS = 300
MAX_PHONE = 64
MAX_BEDS = 100_000
MAX_CARE_LEVELS = 10
MAX_CARE_LEVEL = 16
CRS_NAMES = {CRS.WGS84: "WGS-84（GPS）", CRS.GCJ02: "GCJ-02（高德/腾讯）",
             CRS.BD09: "BD-09（百度）"}

# One number of a phone field (several are separated by ；;，,、/): a mobile, a landline with
# its area code (and an extension), a 400/800 number, or a 5-digit public hotline (12345).
_PHONE_SEPARATORS = re.compile(r"[；;，,、/]")
_PHONE_PATTERNS = [re.compile(p) for p in (
    r"(?:\+86|0086)?1[3-9]\d{9}",
    r"0\d{2,3}-?[2-9]\d{6,7}(?:(?:-|转|#|ext)\d{1,6})?",
    r"(?:\+86|0086)[1-9]\d{1,2}-?[2-9]\d{6,7}(?:(?:-|转|#|ext)\d{1,6})?",
    r"[48]00-?\d{3}-?\d{4}",
    r"[19]\d{4}",
)]


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise PlaceError("INVALID_NAME", f"名称须为 1–{MAX_NAME} 个字符（现为 {len(name)} 个）",
                         "name")
    return name


def check_address(address: str) -> str | None:
    address = (address or "").strip()
    if len(address) > MAX_ADDRESS:
        raise PlaceError("INVALID_ADDRESS",
                         f"地址最多 {MAX_ADDRESS} 个字符（现为 {len(address)} 个）", "address")
    return address or None


def check_phone(phone: str) -> str | None:
    phone = (phone or "").strip()
    if not phone:
        return None
    if len(phone) > MAX_PHONE:
        raise PlaceError("INVALID_PHONE", f"电话最多 {MAX_PHONE} 个字符", "phone")
    for number in _PHONE_SEPARATORS.split(phone):
        compact = re.sub(r"[\s()（）]", "", number)
        if not any(pattern.fullmatch(compact) for pattern in _PHONE_PATTERNS):
            raise PlaceError(
                "INVALID_PHONE",
                f"电话号码格式不正确：{number.strip() or '（空）'}；应为手机号、带区号的固定电话"
                "（如 0571-88888888）、400 电话或 12345 这类热线，多个号码用分号分隔", "phone")
    return phone


def check_opening_hours(text: str) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return validate_opening_hours(text)
    except InvalidInput as error:
        raise PlaceError("INVALID_OPENING_HOURS", error.message, "openingHours") from error


def check_kind(kind: str) -> str:
    try:
        return PlaceKind(kind).value
    except ValueError as exc:
        raise PlaceError("INVALID_INPUT", f"未知的场所类型：{kind}", "kind") from exc


def check_kind_attributes(values: dict) -> None:
    """The attributes of the final state belong to its kind and are in range (columns)."""
    kind = values["kind"]
    clinic = ("clinic_level", "cross_province_settlement")
    care = ("beds", "available_beds", "accepts_non_local", "care_levels")
    for column, owner, label in ([(c, PlaceKind.CLINIC.value, "医疗机构") for c in clinic]
                                 + [(c, PlaceKind.ELDERLY_CARE.value, "养老机构") for c in care]):
        if kind != owner and values.get(column) not in (None, [], ()):
            raise PlaceError("INVALID_ATTRIBUTE", f"{_camel(column)} 只适用于{label}",
                             _camel(column))
    level = values.get("clinic_level")
    if level is not None and len(level) > 32:
        raise PlaceError("INVALID_ATTRIBUTE", "医院等级最多 32 个字符", "clinicLevel")
    beds, available = values.get("beds"), values.get("available_beds")
    if beds is not None and not 0 <= beds <= MAX_BEDS:
        raise PlaceError("INVALID_ATTRIBUTE", f"床位总数须在 0 到 {MAX_BEDS} 之间", "beds")
    if available is not None and (available < 0 or (beds is not None and available > beds)):
        raise PlaceError("INVALID_ATTRIBUTE",
                         f"空余床位须在 0 到床位总数（{beds}）之间" if beds is not None
                         else "空余床位不能为负数", "availableBeds")
    levels = values.get("care_levels") or []
    if len(levels) > MAX_CARE_LEVELS or any(
            not level.strip() or len(level) > MAX_CARE_LEVEL for level in levels):
        raise PlaceError("INVALID_ATTRIBUTE", f"照护等级最多 {MAX_CARE_LEVELS} 项，每项 1–"
                         f"{MAX_CARE_LEVEL} 个字符", "careLevels")


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class Located:
    """A checked position: WGS-84 and the region columns of the point."""

    lat: float
    lon: float
    codes: dict[str, str | None]


def region_label(session: Session, code: str | None) -> str:
    """"西湖区（杭州市）" for a county, the name alone otherwise."""
    if code is None:
        return ""
    rows = regions_by_code(session, [code])
    row = rows.get(code)
    if row is None:
        return code
    parent = regions_by_code(session, [row.parent_code]).get(row.parent_code) \
        if row.parent_code else None
    if row.level == "COUNTY" and parent is not None:
        return f"{row.name}（{parent.name}）"
    return row.name


def check_declared_region(session: Session, code: str) -> str:
    code = (code or "").strip()
    row = regions_by_code(session, [code]).get(code)
    if row is None:
        raise PlaceError("INVALID_REGION", f"未知的区县代码：{code or '（空）'}", "regionCode")
    if row.level != "COUNTY":
        raise PlaceError("INVALID_REGION", f"请填写区县代码：{code} 是{row.name}，不是区县",
                         "regionCode")
    return code


def _wgs84(lat: float, lon: float, crs: CRS) -> tuple[float, float] | None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        return None
    return to_wgs84(lat, lon, crs)


def _in(session: Session, point: tuple[float, float] | None, code: str) -> bool:
    return point is not None and code in region_codes_at(session, *point).values()


def locate(session: Session, lat: float, lon: float, crs: CRS, declared: str) -> Located:
    """The point (in `crs`) as stored, when it lies in the declared county; otherwise
    OUTSIDE_REGION (the county it falls in), OUTSIDE_SERVICE_AREA (none of ours) or
    INVALID_LOCATION, with a hint when another datum or swapped lat/lon would fit."""
    field = "location"
    point = _wgs84(lat, lon, crs)
    if point is not None:
        codes = region_codes_at(session, *point)
        if declared in codes.values() and in_service_area(codes["city_code"]):
            return Located(point[0], point[1], codes)
    name = region_label(session, declared)
    hint = ""
    if _in(session, _wgs84(lon, lat, crs), declared):
        hint = f"；纬度和经度可能填反了：对调后位于{name}"
    else:
        fitting = [other for other in CRS
                   if other is not crs and _in(session, _wgs84(lat, lon, other), declared)]
        if fitting:
            hint = (f"；坐标系可能有误：按 {' 或 '.join(CRS_NAMES[o] for o in fitting)} "
                    f"坐标换算后位于{name}，请把 crs 设为 "
                    f"{' 或 '.join(o.value for o in fitting)}")
    if point is None:
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise PlaceError("INVALID_LOCATION", "经纬度必须是有限数值", field)
        message = f"坐标超出范围：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间{hint}"
        raise PlaceError("OUTSIDE_REGION" if hint else "INVALID_LOCATION", message, field)
    actual = codes["county_code"] or codes["city_code"]
    if actual is None or not in_service_area(codes["city_code"]):
        raise PlaceError("OUTSIDE_SERVICE_AREA",
                         f"该位置不在本平台服务的区县内（所填为{name}）{hint}", field)
    raise PlaceError("OUTSIDE_REGION",
                     f"该位置位于{region_label(session, actual)}，不在所填的{name}{hint}", field)
