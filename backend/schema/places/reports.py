"""GraphQL of residents' reports (纠错): filing one (residents), the editors' queue, resolving
with an edit or dismissing. Resolvers parse and call one use case of backend.places.reports."""

from __future__ import annotations

import enum

import graphene

from backend.core.errors import PayloadError
from backend.places import reports
from backend.places.models import PlaceReport as PlaceReportRow
from backend.schema.core.errors import UserError, domain_errors, parse_id
from backend.schema.core.pagination import HitsConnection
from backend.schema.core.scalars import DateTime
from backend.schema.places.types import (
    CRS,
    GeoPoint,
    GeoPointInput,
    LatLon,
    Place,
    enum_value,
)
from geodata import crs as crs_module

PlaceReportReason = graphene.Enum(
    "PlaceReportReason", [(code, code) for code in reports.REASONS],
    description="纠错原因：CLOSED 已停业或关闭、MOVED 已搬迁、WRONG_HOURS 办公时间有误、"
                "WRONG_PHONE 电话有误、ITEM_NOT_HANDLED 不能办理某事项、OTHER 其他")


class ReportStatus(enum.Enum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


PlaceReportStatus = graphene.Enum.from_enum(
    ReportStatus, name="PlaceReportStatus",
    description="OPEN 待处理、RESOLVED 已按纠错修改、DISMISSED 已驳回")
PlaceReportOrder = graphene.Enum(
    "PlaceReportOrder", [(order, order) for order in reports.ORDERS],
    description="NEWEST 最新的在前；MOST_REPORTED 被纠错最多的地点在前")


class PlaceReport(graphene.ObjectType):
    id = graphene.ID(required=True)
    place = graphene.Field(Place, required=True)
    reason = graphene.Field(PlaceReportReason, required=True)
    reason_label = graphene.String(required=True, description="原因的中文名称")
    note = graphene.String(description="居民的补充说明")
    position = graphene.Field(GeoPoint, crs=CRS(default_value="WGS84"),
                              description="居民提交时所在的位置（如提供）")
    status = graphene.Field(PlaceReportStatus, required=True)
    place_version = graphene.Int(required=True, description="提交时地点的版本号")
    created_at = DateTime(required=True)
    handled_at = DateTime()
    handling_note = graphene.String(description="处理说明或驳回原因")
    resolved_version = graphene.Int(description="解决该纠错的修改（地点的版本号）")

    @staticmethod
    def resolve_reason_label(report, info):
        return reports.REASONS.get(report.reason, report.reason)

    @staticmethod
    def resolve_status(report, info):
        return ReportStatus(report.status)

    @staticmethod
    def resolve_position(report, info, crs="WGS84"):
        if report.lat is None or report.lon is None:
            return None
        crs = crs_module.CRS(enum_value(crs))
        if crs is crs_module.CRS.WGS84:
            return LatLon(report.lat, report.lon)
        return LatLon(*crs_module.from_wgs84(report.lat, report.lon, crs))


class PlaceReportEdge(graphene.ObjectType):
    node = graphene.Field(PlaceReport, required=True)
    cursor = graphene.String(required=True)
    reports_of_place = graphene.Int(required=True,
                                    description="同一地点处于该状态的纠错数")

    @staticmethod
    def resolve_node(hit, info):
        return hit.report


class PlaceReportConnection(HitsConnection):
    edges, page_info = HitsConnection.fields(PlaceReportEdge)


class PlaceReportPayload(graphene.ObjectType):
    report = graphene.Field(PlaceReport, description="提交或处理的纠错；重复提交时为已有的那条")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class PlaceReportsQuery(graphene.ObjectType):
    place_reports = graphene.Field(
        PlaceReportConnection, required=True,
        status=PlaceReportStatus(default_value=ReportStatus.OPEN.value),
        region_code=graphene.String(description="只看该区域（须在自己负责的地区内）"),
        order=PlaceReportOrder(default_value="NEWEST"),
        first=graphene.Int(default_value=20), after=graphene.String(),
        description="纠错队列：自己负责地区的地点（管理员：全部）")
    place_report = graphene.Field(
        PlaceReport, id=graphene.ID(required=True),
        description="一条纠错（该地区的内容编辑、管理员与提交者本人可见）")

    @staticmethod
    @domain_errors
    def resolve_place_reports(root, info, status=ReportStatus.OPEN.value, region_code=None,
                              order="NEWEST", first=20, after=None):
        return reports.list_reports(
            info.context.session, info.context.principal, status=enum_value(status),
            region_code=region_code, order=enum_value(order), first=first, after=after)

    @staticmethod
    @domain_errors
    def resolve_place_report(root, info, id):
        return reports.get_report(info.context.session, info.context.principal,
                                  parse_id(id, "id", payload=False))


def _payload(info, use_case) -> PlaceReportPayload:  # noqa: ANN001
    try:
        report = use_case(info.context.unit_of_work())
    except reports.ReportAlreadyOpen as error:
        return PlaceReportPayload(
            report=info.context.session.get(PlaceReportRow, error.report_id),
            errors=UserError.all_of(error))
    except PayloadError as error:
        return PlaceReportPayload(report=None, errors=UserError.all_of(error))
    return PlaceReportPayload(report=report, errors=[])


class PlaceReportsMutation(graphene.ObjectType):
    report_place_issue = graphene.Field(
        PlaceReportPayload, required=True, place_id=graphene.ID(required=True),
        reason=PlaceReportReason(required=True),
        note=graphene.String(description=f"补充说明，最多 {reports.MAX_NOTE} 个字符"),
        position=GeoPointInput(description="居民所在位置，任意坐标系，保存为 WGS-84"),
        description="居民报告地点信息有误（需登录）；同一地点同时只能有一条待处理的纠错，"
                    "重复提交返回 REPORT_ALREADY_OPEN 和已有的那条")
    resolve_place_report = graphene.Field(
        PlaceReportPayload, required=True, id=graphene.ID(required=True),
        place_version=graphene.Int(required=True,
                                   description="修正该问题的那次修改后的版本号（须在纠错提交之后）"),
        note=graphene.String(description="处理说明（告知居民）"),
        description="按纠错修改后标记为已解决；提交者收到消息")
    dismiss_place_report = graphene.Field(
        PlaceReportPayload, required=True, id=graphene.ID(required=True),
        reason=graphene.String(required=True, description="驳回原因（告知居民）"),
        description="驳回纠错；提交者收到消息")

    @staticmethod
    def resolve_report_place_issue(root, info, place_id, reason, note=None, position=None):
        principal = info.context.principal
        return _payload(info, lambda uow: reports.report_place_issue(
            uow, principal, place_id=parse_id(place_id, "placeId"), reason=enum_value(reason),
            note=note, position=None if position is None else position.to_domain()))

    @staticmethod
    def resolve_resolve_place_report(root, info, id, place_version, note=None):
        principal = info.context.principal
        return _payload(info, lambda uow: reports.resolve_report(
            uow, principal, report_id=parse_id(id, "id"), place_version=place_version,
            note=note))

    @staticmethod
    def resolve_dismiss_place_report(root, info, id, reason):
        principal = info.context.principal
        return _payload(info, lambda uow: reports.dismiss_report(
            uow, principal, report_id=parse_id(id, "id"), reason=reason))
