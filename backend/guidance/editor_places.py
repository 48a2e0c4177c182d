"""The editor console's list of places: every place of the editor's regions (archived ones
too), filtered by what needs fixing. It lives in guidance, not places, because "handles no
item" reads the item links, and places may not import guidance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, false, func, or_, select
from sqlalchemy.orm import Session, defer

from backend.accounts.permissions import require_region_editor, require_user
from backend.accounts.principal import Forbidden, Principal
from backend.core.errors import InvalidInput
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.guidance.models import PlaceServiceItem
from backend.places.models import Place
from backend.places.regions import get_region, regions_at
from backend.places.search import PlaceHit, PlacePage
from backend.places.warnings import duplicate_warning

# Rows read per round when a filter is checked in Python (duplicates, outside the county).
SCAN_BATCH = 200
MAX_TEXT = 100
KINDS = ("SERVICE_HALL", "CLINIC", "ELDERLY_CARE")


@dataclass(frozen=True)
class EditorFilter:
    """What the editor asked for; None leaves a criterion out."""

    region_code: str | None = None
    kinds: tuple[str, ...] | None = None
    archived: bool | None = None
    missing_hours: bool = False
    no_items: bool = False
    duplicate_suspected: bool = False
    outside_county: bool = False
    text: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _region_clause(code: str):  # noqa: ANN202
    return or_(Place.county_code == code, Place.city_code == code, Place.province_code == code)


def _scope(session: Session, principal: Principal, region_code: str | None) -> list:
    """The WHERE clauses that keep the list to the regions the principal edits."""
    require_user(principal)
    if region_code is not None:
        if get_region(session, region_code) is None:
            raise InvalidInput(f"未知的行政区划代码：{region_code}", "regionCode")
        require_region_editor(principal, [region_code])
        return [_region_clause(region_code)]
    if principal.is_admin:
        return []
    scopes = sorted(principal.edited_regions())
    if not scopes:
        raise Forbidden("只有内容编辑可以查看待编辑的地点")
    return [or_(*(_region_clause(code) for code in scopes))]


def _sql_filters(wanted: EditorFilter) -> list:
    clauses = []
    if wanted.kinds is not None:
        unknown = set(wanted.kinds) - set(KINDS)
        if unknown:
            raise InvalidInput(f"未知的地点类型：{', '.join(sorted(unknown))}", "kinds")
        clauses.append(Place.kind.in_(wanted.kinds) if wanted.kinds else false())
    if wanted.archived is not None:
        clauses.append(Place.archived.is_(wanted.archived))
    if wanted.missing_hours:
        clauses.append(or_(Place.opening_hours.is_(None), func.trim(Place.opening_hours) == ""))
    if wanted.no_items:
        clauses.append(~exists().where(PlaceServiceItem.place_id == Place.id))
    if wanted.text is not None:
        text = wanted.text.strip()
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"搜索文字不能超过 {MAX_TEXT} 个字符", "text")
        if text:
            pattern = f"%{_escape_like(text)}%"
            clauses.append(or_(Place.name.like(pattern, escape="\\"),
                               Place.address.like(pattern, escape="\\"),
                               Place.external_id == text))
    return clauses


def outside_declared_county(session: Session, place: Place) -> bool:
    """The place's point is not in the county it is filed under (or it names none)."""
    counties = [record.code for record in regions_at(session, place.lat, place.lon)
                if record.level.value == "COUNTY"]
    return place.county_code is None or place.county_code not in counties


def suspected_duplicate(session: Session, place: Place) -> bool:
    """The rule the edit form warns with (DUPLICATE_SUSPECTED), applied to the stored place."""
    return duplicate_warning(session, place.id, place.name, place.address, place.lat,
                             place.lon, place.county_code) is not None


def editor_places(session: Session, principal: Principal, wanted: EditorFilter,
                  first: int | None = None, after: str | None = None) -> PlacePage:
    """One page (by id) of the places an editor may change, archived ones included when
    asked: editors see their regions (a region code outside them is FORBIDDEN), admins all."""
    limit = validate_page_size(first)
    clauses = _scope(session, principal, wanted.region_code) + _sql_filters(wanted)
    if after is not None:
        clauses.append(Place.id > decode_cursor(after, "i")["i"])
    checks = []
    if wanted.outside_county:
        checks.append(outside_declared_county)
    if wanted.duplicate_suspected:
        checks.append(suspected_duplicate)
    statement = (select(Place).options(defer(Place.search_text)).where(*clauses)
                 .order_by(Place.id))
    found: list[Place] = []
    if not checks:
        found = list(session.scalars(statement.limit(limit + 1)))
    else:
        last = 0
        while len(found) <= limit:
            batch: Sequence[Place] = list(session.scalars(
                statement.where(Place.id > last).limit(SCAN_BATCH)))
            found.extend(place for place in batch
                         if all(check(session, place) for check in checks))
            if len(batch) < SCAN_BATCH:
                break
            last = batch[-1].id
    hits = [PlaceHit(place=place, distance_m=None,
                     cursor=encode_cursor({"o": "i", "i": place.id})) for place in found[:limit]]
    return PlacePage(hits=hits, has_next_page=len(found) > limit,
                     has_previous_page=after is not None)
