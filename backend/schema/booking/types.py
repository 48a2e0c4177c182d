"""GraphQL types of booking (issue names are fixed): windows, schedules, slots, appointments,
and the signed-in user (`me`) with their appointments, devices and inbox."""

from __future__ import annotations

import graphene

from backend.booking import appointments, schedule
from backend.core.clock import business_date
from backend.notify import devices, inbox
from backend.schema.accounts.types import RoleGrant
from backend.schema.booking.loaders import (
    ItemsOfWindow,
    ServiceItemById,
    SlotById,
    WindowById,
)
from backend.schema.core.dataloaders import loaders, then
from backend.schema.core.errors import UserError, domain_errors
from backend.schema.core.scalars import Date, DateTime
from backend.schema.guidance.types import ChecklistAnswer, Material, ServiceItem
from backend.schema.places.loaders import PlaceById
from backend.schema.places.types import Place


class AppointmentStatus(graphene.Enum):
    """预约状态"""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class SlotStatus(graphene.Enum):
    """时段状态：OPEN 可约、FULL 约满、CLOSED 停约"""

    OPEN = "OPEN"
    FULL = "FULL"
    CLOSED = "CLOSED"


class Window(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    is_active = graphene.Boolean(required=True)
    place = graphene.Field(Place, required=True)
    service_items = graphene.List(graphene.NonNull(ServiceItem), required=True)
    schedule_templates = graphene.List(
        graphene.NonNull(lambda: ScheduleTemplate), required=True,
        description="每周排班模板（仅该窗口人员与管理员可见）",
    )

    @staticmethod
    def resolve_place(window, info):
        return loaders(info)[PlaceById].load(window.place_id)

    @staticmethod
    def resolve_service_items(window, info):
        return loaders(info)[ItemsOfWindow].load(window.id)

    @staticmethod
    @domain_errors
    def resolve_schedule_templates(window, info):
        return schedule.list_templates(info.context.session, info.context.principal, window.id)


class ScheduleTemplate(graphene.ObjectType):
    id = graphene.ID(required=True)
    window = graphene.Field(Window, required=True)
    weekday = graphene.Int(required=True, description="1 = 周一 … 7 = 周日")
    start = graphene.String(required=True, description="HH:MM，北京时间")
    end = graphene.String(required=True)
    slot_minutes = graphene.Int(required=True)
    capacity = graphene.Int(required=True)
    valid_from = Date()
    valid_to = Date()

    @staticmethod
    def resolve_window(template, info):
        return loaders(info)[WindowById].load(template.window_id)

    @staticmethod
    def resolve_start(template, info):
        return template.start_time.strftime("%H:%M")

    @staticmethod
    def resolve_end(template, info):
        return template.end_time.strftime("%H:%M")


class Slot(graphene.ObjectType):
    id = graphene.ID(required=True)
    window = graphene.Field(Window, required=True)
    day = Date(required=True, description="北京时间的日期")
    starts_at = graphene.Field(DateTime, required=True)
    ends_at = graphene.Field(DateTime, required=True)
    capacity = graphene.Int(required=True)
    booked = graphene.Int(required=True)
    remaining = graphene.Int(required=True)
    status = graphene.Field(SlotStatus, required=True)
    closed_reason = graphene.String()

    @staticmethod
    def resolve_window(slot, info):
        return loaders(info)[WindowById].load(slot.window_id)

    @staticmethod
    def resolve_remaining(slot, info):
        return 0 if slot.status != "open" else max(slot.capacity - slot.booked, 0)

    @staticmethod
    def resolve_status(slot, info):
        if slot.status != "open":
            return SlotStatus.CLOSED
        return SlotStatus.FULL if slot.booked >= slot.capacity else SlotStatus.OPEN


class Appointment(graphene.ObjectType):
    id = graphene.ID(required=True)
    status = graphene.Field(AppointmentStatus, required=True)
    code = graphene.String(required=True, description="核验码：8 位，出示给窗口或扫码")
    slot = graphene.Field(Slot, required=True)
    service_item = graphene.Field(ServiceItem, required=True)
    window = graphene.Field(Window, required=True)
    place = graphene.Field(Place, required=True)
    cancel_reason = graphene.String()
    created_at = graphene.Field(DateTime, required=True)
    calendar_url = graphene.String(required=True,
                                   description="日历事件（.ics）的地址，需携带登录凭证")
    qr_code_url = graphene.String(required=True,
                                  description="核验码二维码（SVG）的地址，需携带登录凭证")
    checked_in_at = graphene.Field(DateTime, description="核验签到的时间")
    answers = graphene.List(graphene.NonNull(ChecklistAnswer),
                            description="预约时提交的办事指南问题回答；未提交时为 null")
    materials = graphene.List(
        graphene.NonNull(Material),
        description="按预约时的回答生成的个人材料清单（按事项当前的指南）；未提交回答时为 null")

    @staticmethod
    def resolve_slot(appointment, info):
        return loaders(info)[SlotById].load(appointment.slot_id)

    @staticmethod
    def resolve_service_item(appointment, info):
        return loaders(info)[ServiceItemById].load(appointment.service_item_id)

    @staticmethod
    def resolve_window(appointment, info):
        return loaders(info)[WindowById].load(appointment.window_id)

    @staticmethod
    def resolve_place(appointment, info):
        return then(loaders(info)[WindowById].load(appointment.window_id),
                    lambda window: loaders(info)[PlaceById].load(window.place_id))

    @staticmethod
    def resolve_answers(appointment, info):
        if appointment.answers is None:
            return None
        return [ChecklistAnswer(question_id=q, answer=a) for q, a in appointment.answers.items()]

    @staticmethod
    def resolve_materials(appointment, info):
        if appointment.answers is None:
            return None
        return then(loaders(info)[ServiceItemById].load(appointment.service_item_id),
                    lambda item: appointments.materials_of(item, appointment.answers).materials)

    @staticmethod
    def resolve_calendar_url(appointment, info):
        return f"/m/v1/appointments/{appointment.id}.ics"

    @staticmethod
    def resolve_qr_code_url(appointment, info):
        return f"/m/v1/appointments/{appointment.id}/qr.svg"


class Me(graphene.ObjectType):
    uid = graphene.String(required=True)
    roles = graphene.List(graphene.NonNull(RoleGrant), required=True)
    appointments = graphene.List(graphene.NonNull(Appointment), required=True,
                                 status=AppointmentStatus(), description="按时段开始时间倒序")
    # notify's types are named by path: its schema package builds on this one.
    devices = graphene.List(graphene.NonNull("backend.schema.notify.types.Device"), required=True,
                            description="已登记的推送设备，最近使用的在前")
    notifications = graphene.Field(
        "backend.schema.notify.types.NotificationConnection", required=True,
        first=graphene.Int(), after=graphene.String(), unread_only=graphene.Boolean(),
        description="消息中心：已到时间的通知，最新的在前（推送失败的也在）")

    @staticmethod
    def resolve_uid(principal, info):
        return principal.uid

    @staticmethod
    def resolve_roles(principal, info):
        return sorted(principal.grants, key=lambda grant: (grant.role, grant.scope))

    @staticmethod
    def resolve_devices(principal, info):
        return devices.my_devices(info.context.session, principal)

    @staticmethod
    @domain_errors
    def resolve_notifications(principal, info, first=None, after=None, unread_only=False):
        return inbox.inbox_page(info.context.session, principal, first=first, after=after,
                                unread_only=bool(unread_only))

    @staticmethod
    def resolve_appointments(principal, info, status=None):
        status = getattr(status, "value", status)
        return appointments.my_appointments(info.context.session, principal, status)


class AppointmentPayload(graphene.ObjectType):
    appointment = graphene.Field(Appointment)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class ScheduleTemplatePayload(graphene.ObjectType):
    template = graphene.Field(ScheduleTemplate)
    generated = graphene.Field(lambda: GenerateSlotsPayload,
                               description="模板变更后重新生成的滚动号源")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class GenerateSlotsPayload(graphene.ObjectType):
    created = graphene.Int(required=True)
    updated = graphene.Int(required=True, description="按模板改了容量的未预约时段")
    removed = graphene.Int(required=True, description="模板已不再包含的未预约时段")
    skipped = graphene.Int(
        required=True,
        description="保留未动的时段（有预约或经人工修改）及与之冲突而未生成的时段")
    holidays = graphene.List(graphene.NonNull(Date), required=True,
                             description="因法定节假日未生成号源的日期")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class SlotPayload(graphene.ObjectType):
    slot = graphene.Field(Slot)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class SlotsPayload(graphene.ObjectType):
    slots = graphene.List(graphene.NonNull(Slot), required=True)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class PreviewSlot(graphene.ObjectType):
    day = Date(required=True)
    starts_at = graphene.Field(DateTime, required=True)
    ends_at = graphene.Field(DateTime, required=True)
    capacity = graphene.Int(required=True)


class TemplatePreview(graphene.ObjectType):
    """排班模板将在滚动期限内生成的时段（按节假日安排，不写入）"""

    from_ = Date(required=True, name="from")
    to = Date(required=True)
    slot_count = graphene.Int(required=True, description="将生成的时段总数")
    slots = graphene.List(graphene.NonNull(PreviewSlot), required=True,
                          description="按时间顺序的时段（最多 2000 个）")
    holidays = graphene.List(graphene.NonNull(Date), required=True,
                             description="该星期几中因法定节假日不生成时段的日期")

    @staticmethod
    def resolve_from_(preview, info):
        return preview.start

    @staticmethod
    def resolve_to(preview, info):
        return preview.end

    @staticmethod
    def resolve_slots(preview, info):
        return [PreviewSlot(day=business_date(starts), starts_at=starts, ends_at=ends,
                            capacity=capacity) for starts, ends, capacity in preview.slots]


class CloseOutPayload(graphene.ObjectType):
    no_shows = graphene.Int(description="标记为爽约的预约数")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class WindowPayload(graphene.ObjectType):
    window = graphene.Field(Window)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


def generated_payload(result: schedule.GenerationResult) -> GenerateSlotsPayload:
    return GenerateSlotsPayload(created=result.created, updated=result.updated,
                                removed=result.removed, skipped=result.skipped,
                                holidays=result.holidays, errors=[])


