"""GraphQL types of push devices and the inbox (issue names are fixed)."""

from __future__ import annotations

import json

import graphene

from backend.notify import inbox
from backend.notify.models import PLATFORMS
from backend.notify.permissions import visible_appointment
from backend.schema.booking.loaders import AppointmentById
from backend.schema.booking.types import Appointment
from backend.schema.core.dataloaders import loaders, then
from backend.schema.core.errors import UserError
from backend.schema.core.pagination import PageInfo
from backend.schema.core.scalars import DateTime

Platform = graphene.Enum("Platform", [(platform.upper(), platform) for platform in PLATFORMS],
                         description="推送设备的平台")


class PushStatus(graphene.Enum):
    """推送状态：PENDING 待推送、SENT 已推送到至少一台设备、FAILED 未能推送、
    SKIPPED 未推送（同一预约已有更新的通知）"""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "dead"
    SKIPPED = "dropped"


class Device(graphene.ObjectType):
    token = graphene.String(required=True)
    platform = graphene.Field(Platform, required=True)
    locale = graphene.String()
    last_seen_at = graphene.Field(DateTime, required=True)


class Notification(graphene.ObjectType):
    id = graphene.ID(required=True)
    kind = graphene.String(
        required=True,
        description="booking_confirmed、booking_changed、booking_cancelled、reminder_24h、"
                    "reminder_1h、place_report_resolved、place_report_dismissed；"
                    "窗口人员：window_today_changed、window_holiday_booked（稳定，可能增加新种类）")
    title = graphene.String(required=True)
    body = graphene.String(required=True)
    data = graphene.String(required=True, description="推送附带的数据（JSON 对象）")
    is_urgent = graphene.Boolean(required=True)
    created_at = graphene.Field(DateTime, required=True,
                                description="进入消息中心的时间（提醒为其预定时间）")
    read_at = graphene.Field(DateTime)
    is_read = graphene.Boolean(required=True)
    push_status = graphene.Field(PushStatus, required=True)
    appointment = graphene.Field(Appointment)

    @staticmethod
    def resolve_data(row, info):
        return json.dumps(row.data or {}, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def resolve_created_at(row, info):
        return row.due_at

    @staticmethod
    def resolve_push_status(row, info):
        return row.status

    @staticmethod
    def resolve_is_read(row, info):
        return row.read_at is not None

    @staticmethod
    def resolve_appointment(row, info):
        return then(loaders(info)[AppointmentById].load(row.appointment_id),
                    lambda appointment: visible_appointment(info.context.principal, appointment))


class NotificationEdge(graphene.ObjectType):
    node = graphene.Field(Notification, required=True)
    cursor = graphene.String(required=True)

    @staticmethod
    def resolve_node(row, info):
        return row

    @staticmethod
    def resolve_cursor(row, info):
        return inbox.InboxPage.cursor(row)


class NotificationConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(NotificationEdge), required=True)
    page_info = graphene.Field(PageInfo, required=True)
    unread_count = graphene.Int(required=True, description="未读消息总数（不受分页影响）")

    @staticmethod
    def resolve_edges(page, info):
        return page.rows

    @staticmethod
    def resolve_page_info(page, info):
        return PageInfo.of(page, page.rows, inbox.InboxPage.cursor)


class DevicePayload(graphene.ObjectType):
    device = graphene.Field(Device)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class NotificationsPayload(graphene.ObjectType):
    notifications = graphene.List(graphene.NonNull(Notification), required=True)
    unread_count = graphene.Int(description="标记后的未读总数；出错时为 null")
    errors = graphene.List(graphene.NonNull(UserError), required=True)
