"""GraphQL of the holiday calendar for admins: `calendarDays(year)`, `setCalendarDay`,
`clearCalendarDay`; a change answers with what it did to the windows' slots."""

from __future__ import annotations

import graphene

from backend.places import calendar
from backend.schema.core.errors import UserError, domain_errors, payload_of
from backend.schema.core.scalars import Date, DateTime

CalendarDayKind = graphene.Enum("CalendarDayKind", [
    ("HOLIDAY", "holiday"), ("WORKDAY", "workday"), ("ORDINARY", "ordinary")],
    description="HOLIDAY 放假；WORKDAY 调休上班；ORDINARY 手动设为普通日期")


class CalendarDay(graphene.ObjectType):
    date = graphene.Field(Date, required=True)
    kind = graphene.Field(CalendarDayKind, required=True)
    name = graphene.String(required=True)
    source = graphene.String(required=True, description="manual（手动）或 holidays 包的版本")
    manual = graphene.Boolean(required=True, description="手动设置的日期，导入日历时保留")

    @staticmethod
    def resolve_date(row, info):
        return row.day

    @staticmethod
    def resolve_manual(row, info):
        return row.source == calendar.MANUAL_SOURCE


class HolidayAppointment(graphene.ObjectType):
    id = graphene.ID(required=True)
    starts_at = graphene.Field(DateTime, required=True)
    window_id = graphene.ID(required=True)
    window_name = graphene.String(required=True)
    place_name = graphene.String(required=True)
    service_item_name = graphene.String(required=True)

    @staticmethod
    def resolve_id(row, info):
        return str(row.appointment_id)


class CalendarFollowThrough(graphene.ObjectType):
    windows = graphene.Int(required=True, description="重新生成了当天号源的窗口数")
    slots_created = graphene.Int(required=True, description="按排班模板新增的号源")
    slots_removed = graphene.Int(required=True, description="删除的空闲号源")
    slots_closed = graphene.Int(required=True,
                                description="节假日停止预约的已约（或人工改过的）号源")
    slots_reopened = graphene.Int(required=True, description="取消节假日后恢复预约的号源")
    appointments = graphene.List(
        graphene.NonNull(HolidayAppointment), required=True,
        description="落在节假日、仍为已预约的预约（不自动取消；已通知窗口人员）")


class CalendarDayPayload(graphene.ObjectType):
    day = graphene.Field(CalendarDay)
    changed = graphene.Boolean(required=True, description="false：本来就是这样，未改动")
    follow_through = graphene.Field(CalendarFollowThrough,
                                    description="对当天号源的处理；过去的日期不处理")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


def _payload(change: calendar.CalendarChange) -> CalendarDayPayload:
    return CalendarDayPayload(day=change, changed=change.changed,
                              follow_through=change.follow_through, errors=[])


class CalendarQuery(graphene.ObjectType):
    calendar_days = graphene.List(
        graphene.NonNull(CalendarDay), required=True, year=graphene.Int(required=True),
        description="某年的节假日、调休上班日与手动设置的日期（仅管理员）")

    @staticmethod
    @domain_errors
    def resolve_calendar_days(root, info, year):
        return calendar.admin_list_days(info.context.session, info.context.principal, year)


class CalendarMutation(graphene.ObjectType):
    set_calendar_day = graphene.Field(
        CalendarDayPayload, required=True, date=Date(required=True),
        kind=CalendarDayKind(required=True), name=graphene.String(),
        description="把某天设为放假或调休上班（仅管理员）；当天号源随即按排班模板更新")
    clear_calendar_day = graphene.Field(
        CalendarDayPayload, required=True, date=Date(required=True),
        description="把某天恢复为普通日期（仅管理员）；当天号源随即按排班模板更新")

    @staticmethod
    def resolve_set_calendar_day(root, info, date, kind, name=None):
        return payload_of(info, CalendarDayPayload, lambda uow: _payload(
            calendar.admin_set_calendar_day(uow, info.context.principal, date,
                                            getattr(kind, "value", kind), name or "")),
            changed=False)

    @staticmethod
    def resolve_clear_calendar_day(root, info, date):
        return payload_of(info, CalendarDayPayload, lambda uow: _payload(
            calendar.admin_clear_calendar_day(uow, info.context.principal, date)),
            changed=False)
