"""Residents report wrong place information (纠错); the editors of the place's region work
through the reports and resolve each with an edit (the place's version that fixed it) or
dismiss it with a reason. The reporter is told either way: a `PlaceReportHandled` event, which
notify turns into an inbox message in the same transaction.

Rules:
- only signed-in residents report; a place that is missing or archived is NOT_FOUND;
- one open report per resident and place: a second is REPORT_ALREADY_OPEN, with the open
  one's id (the partial unique index of place_report decides, also between racing requests);
- editors see and handle the reports of the places they may edit (permissions.py), admins all;
  a report outside an editor's regions answers as a missing one (NOT_FOUND / null);
- resolving names the place's version that fixed it: a revision made after the report was
  filed (REVISION_NOT_AFTER_REPORT otherwise); a handled report is REPORT_CLOSED."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from backend.accounts.permissions import is_region_editor, require_user
from backend.accounts.principal import Forbidden, Principal
from backend.core.clock import utcnow
from backend.core.errors import InvalidInput
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.core.unit_of_work import UnitOfWork
from backend.places.errors import PlaceError, raise_all
from backend.places.events import PlaceReportHandled
from backend.places.models import Place, PlaceReport
from backend.places.permissions import require_some_editor
from backend.places.revisions import revision_at
from backend.places.search import GeoPoint
from geodata.crs import to_wgs84

# reason code → what the resident chose, as messages name it
REASONS = {"CLOSED": "已停业或关闭", "MOVED": "已搬迁", "WRONG_HOURS": "办公时间有误",
           "WRONG_PHONE": "电话有误", "ITEM_NOT_HANDLED": "不能办理某事项", "OTHER": "其他"}
STATUSES = ("open", "resolved", "dismissed")
ORDERS = ("NEWEST", "MOST_REPORTED")
MAX_NOTE = 500
MAX_DISMISS_REASON = 200


@dataclass(frozen=True)
class ReportHit:
    report: PlaceReport
    reports_of_place: int  # reports of the same place in the listed status
    cursor: str


@dataclass(frozen=True)
class ReportPage:
    hits: list[ReportHit]
    has_next_page: bool
    has_previous_page: bool


class ReportAlreadyOpen(PlaceError):
    def __init__(self, report_id: int) -> None:
        super().__init__("REPORT_ALREADY_OPEN", field="placeId")
        self.report_id = report_id


def _text(value: str | None, limit: int, field: str, label: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise PlaceError("INVALID_INPUT", f"{label}不能超过 {limit} 个字符", field)
    return value or None


def _position(position: GeoPoint | None) -> tuple[float | None, float | None]:
    if position is None:
        return None, None
    if not (math.isfinite(position.lat) and math.isfinite(position.lon)
            and -90 <= position.lat <= 90 and -180 <= position.lon <= 180):
        raise PlaceError("INVALID_LOCATION",
                         "位置无效：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间",
                         "position")
    return to_wgs84(position.lat, position.lon, position.crs)


def _open_report_id(session: Session, place_id: int, uid: str) -> int | None:
    return session.scalar(select(PlaceReport.id).where(
        PlaceReport.place_id == place_id, PlaceReport.uid == uid, PlaceReport.status == "open"))


def report_place_issue(uow: UnitOfWork, principal: Principal, *, place_id: int, reason: str,
                       note: str | None = None, position: GeoPoint | None = None,
                       now: datetime | None = None) -> PlaceReport:
    uid = require_user(principal)
    errors = []
    if reason not in REASONS:
        errors.append(PlaceError("INVALID_INPUT", "请选择纠错原因", "reason"))
    try:
        note = _text(note, MAX_NOTE, "note", "补充说明")
    except PlaceError as error:
        errors.append(error)
    try:
        lat, lon = _position(position)
    except PlaceError as error:
        errors.append(error)
    raise_all(errors)
    with uow:
        session = uow.session
        place = session.get(Place, place_id)
        if place is None or place.archived:
            raise PlaceError("NOT_FOUND", "未找到该地点", "placeId")
        existing = _open_report_id(session, place_id, uid)
        if existing is not None:
            raise ReportAlreadyOpen(existing)
        report = PlaceReport(place_id=place_id, uid=uid, reason=reason, note=note, lat=lat,
                             lon=lon, place_version=place.version, status="open",
                             created_at=now or utcnow())
        try:
            with session.begin_nested():
                session.add(report)
        except IntegrityError:
            # another request of the same resident filed one in the meantime
            raise ReportAlreadyOpen(_open_report_id(session, place_id, uid) or 0) from None
        uow.commit()
    return report


def _editable(principal: Principal, report: PlaceReport | None) -> bool:
    place = report.place if report is not None else None
    return place is not None and is_region_editor(
        principal, [place.county_code, place.city_code, place.province_code])


def get_report(session: Session, principal: Principal, report_id: int) -> PlaceReport | None:
    """A report, for the editors of its place's region, admins and the resident who filed
    it; None for anyone else (as a missing one)."""
    uid = require_user(principal)
    report = session.get(PlaceReport, report_id)
    if report is None or not (report.uid == uid or _editable(principal, report)):
        return None
    return report


def _scope(principal: Principal, region_code: str | None):  # noqa: ANN202
    """The WHERE clause of the places whose reports the principal works through."""
    codes = None if principal.is_admin else sorted(principal.edited_regions())
    clauses = []
    if codes is not None:
        clauses.append(or_(Place.county_code.in_(codes), Place.city_code.in_(codes),
                           Place.province_code.in_(codes)))
    if region_code is not None:
        if not (len(region_code) == 6 and region_code.isdigit()):
            raise InvalidInput(f"区域代码无效：{region_code}", "regionCode")
        if not is_region_editor(principal, [region_code]):
            raise Forbidden("无权查看该地区的纠错")
        clauses.append(or_(Place.county_code == region_code, Place.city_code == region_code,
                           Place.province_code == region_code))
    return and_(*clauses) if clauses else None


def list_reports(session: Session, principal: Principal, *, status: str = "open",
                 region_code: str | None = None, order: str = "NEWEST",
                 first: int | None = None, after: str | None = None) -> ReportPage:
    """The queue of the principal's regions: newest first, or the places with the most
    reports (of this status) first, each place's reports newest first."""
    require_some_editor(principal)
    limit = validate_page_size(first)
    if status not in STATUSES or order not in ORDERS:
        raise InvalidInput("status 或 order 无效", "status")
    counts = (select(PlaceReport.place_id, func.count().label("n"))
              .where(PlaceReport.status == status).group_by(PlaceReport.place_id).subquery())
    statement = (select(PlaceReport, counts.c.n)
                 .join(PlaceReport.place).join(counts, counts.c.place_id == PlaceReport.place_id)
                 .options(contains_eager(PlaceReport.place))
                 .where(PlaceReport.status == status))
    scope = _scope(principal, region_code)
    if scope is not None:
        statement = statement.where(scope)
    if order == "NEWEST":
        if after is not None:
            statement = statement.where(PlaceReport.id < decode_cursor(after, "rn")["i"])
        statement = statement.order_by(PlaceReport.id.desc())
    else:
        if after is not None:
            key = decode_cursor(after, "rm")
            n, p, i = key.get("n"), key.get("p"), key["i"]
            if not (isinstance(n, int) and isinstance(p, int)):
                raise InvalidInput("after 游标无效：请使用上一页返回的 cursor", "after")
            statement = statement.where(or_(
                counts.c.n < n, and_(counts.c.n == n, PlaceReport.place_id < p),
                and_(counts.c.n == n, PlaceReport.place_id == p, PlaceReport.id < i)))
        statement = statement.order_by(counts.c.n.desc(), PlaceReport.place_id.desc(),
                                       PlaceReport.id.desc())
    rows = session.execute(statement.limit(limit + 1)).unique().all()

    def cursor(report: PlaceReport, n: int) -> str:
        if order == "NEWEST":
            return encode_cursor({"o": "rn", "i": report.id})
        return encode_cursor({"o": "rm", "i": report.id, "n": n, "p": report.place_id})

    hits = [ReportHit(report, n, cursor(report, n)) for report, n in rows[:limit]]
    return ReportPage(hits, len(rows) > limit, after is not None)


def _for_handling(session: Session, principal: Principal, report_id: int) -> PlaceReport:
    require_some_editor(principal)
    report = session.get(PlaceReport, report_id, populate_existing=True)
    if report is None or not _editable(principal, report):
        raise PlaceError("NOT_FOUND", "未找到该纠错", "id")
    if report.status != "open":
        done = "解决" if report.status == "resolved" else "驳回"
        raise PlaceError("REPORT_CLOSED", f"该纠错已{done}", "id")
    return report


def _close(uow: UnitOfWork, principal: Principal, report: PlaceReport, *, status: str,
           note: str | None, resolved_version: int | None, now: datetime) -> PlaceReport:
    """Close an open report, once: a racing second editor finds it closed (REPORT_CLOSED)."""
    session = uow.session
    written = session.execute(
        update(PlaceReport).where(PlaceReport.id == report.id, PlaceReport.status == "open")
        .values(status=status, handled_at=now, handled_by=principal.uid, handling_note=note,
                resolved_version=resolved_version)
        .execution_options(synchronize_session=False)).rowcount
    if written != 1:
        raise PlaceError("REPORT_CLOSED", field="id")
    session.refresh(report)
    uow.record(PlaceReportHandled(report.id, report.uid, report.place_id, report.place.name,
                                  REASONS.get(report.reason, report.reason), status, note, now))
    return report


def resolve_report(uow: UnitOfWork, principal: Principal, *, report_id: int,
                   place_version: int, note: str | None = None,
                   now: datetime | None = None) -> PlaceReport:
    """Resolved with an edit: the place's revision at `place_version`, made after the report."""
    require_user(principal)
    with uow:
        session = uow.session
        report = _for_handling(session, principal, report_id)
        note = _text(note, MAX_NOTE, "note", "处理说明")
        if (place_version <= report.place_version
                or revision_at(session, report.place_id, place_version) is None):
            raise PlaceError(
                "REVISION_NOT_AFTER_REPORT",
                f"版本 {place_version} 不是纠错提交（当时为版本 {report.place_version}）之后"
                "对该地点的修改：请先保存修改，再标记为已解决", "placeVersion")
        _close(uow, principal, report, status="resolved", note=note,
               resolved_version=place_version, now=now or utcnow())
        uow.commit()
    return report


def dismiss_report(uow: UnitOfWork, principal: Principal, *, report_id: int, reason: str,
                   now: datetime | None = None) -> PlaceReport:
    require_user(principal)
    with uow:
        session = uow.session
        report = _for_handling(session, principal, report_id)
        reason = _text(reason, MAX_DISMISS_REASON, "reason", "驳回原因")
        if reason is None:
            raise PlaceError("INVALID_INPUT", "请填写驳回原因", "reason")
        _close(uow, principal, report, status="dismissed", note=reason, resolved_version=None,
               now=now or utcnow())
        uow.commit()
    return report
