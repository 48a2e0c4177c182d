"""GraphQL types, queries and mutations of accounts and booking (issue names are fixed).

Resolvers are thin: they parse ids, open a unit of work and call backend.booking; the domain
checks permissions. Expected refusals come back in the payload's `errors`; authentication and
permission failures are GraphQL errors (UNAUTHENTICATED / FORBIDDEN)."""

from __future__ import annotations

from collections.abc import Callable

import graphene

from backend.accounts.principal import require_user
from backend.booking import appointments, schedule, staff, windows
from backend.booking.errors import MESSAGES as BOOKING_MESSAGES
from backend.booking.errors import BookingError
from backend.booking.models import Appointment as AppointmentRow
from backend.booking.models import ServiceWindow
from backend.booking.models import Slot as SlotRow
from backend.db import api_id
from backend.errors import InvalidInput, PayloadError
from backend.guidance.models import ServiceItem as ServiceItemRow
from backend.notify.errors import MESSAGES as NOTIFY_MESSAGES
from backend.places.models import Place as PlaceRow
from backend.schema.errors import domain_errors
from backend.schema.scalars import Date, DateTime

UserErrorCode = graphene.Enum(
    "UserErrorCode", [(code, code) for code in {**BOOKING_MESSAGES, **NOTIFY_MESSAGES}],
    description="预约、窗口、设备与消息操作的错误代码（稳定，可供客户端翻译）")


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


def parse_id(value, field: str, *, payload: bool = True) -> int:
    """An API id (the integer key as a string). An id no row can have is NOT_FOUND in a
    payload, BAD_USER_INPUT in a query."""
    key = api_id(value)
    if key is not None:
        return key
    if payload:
        raise BookingError("NOT_FOUND", f"编号无效：{value}", field)
    raise InvalidInput(f"编号无效：{value}", field)


class UserError(graphene.ObjectType):
    code = graphene.Field(UserErrorCode, required=True)
    field = graphene.String(description="出错的参数名（如 slotId），与参数无关时为 null")
    message = graphene.String(required=True, description="中文提示")

    @classmethod
    def of(cls, error: PayloadError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


class RoleGrant(graphene.ObjectType):
    role = graphene.String(required=True,
                           description="staff（窗口人员）、editor（内容编辑）或 admin")
    scope = graphene.String(required=True,
                            description="staff：窗口 id；editor：行政区划代码；admin：空字符串")


class Window(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    is_active = graphene.Boolean(required=True)
    place = graphene.Field("backend.schema.places.Place", required=True)
    service_items = graphene.List(graphene.NonNull("backend.schema.guidance.ServiceItem"),
                                  required=True)
    schedule_templates = graphene.List(
        graphene.NonNull(lambda: ScheduleTemplate), required=True,
        description="每周排班模板（仅该窗口人员与管理员可见）",
    )

    @staticmethod
    def resolve_place(window, info):
        return info.context.rows(PlaceRow).load(window.place_id)

    @staticmethod
    def resolve_service_items(window, info):
        return info.context.window_items.load(window.id)

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
        return info.context.rows(ServiceWindow).load(template.window_id)

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
        return info.context.rows(ServiceWindow).load(slot.window_id)

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
    service_item = graphene.Field("backend.schema.guidance.ServiceItem", required=True)
    window = graphene.Field(Window, required=True)
    place = graphene.Field("backend.schema.places.Place", required=True)
    cancel_reason = graphene.String()
    created_at = graphene.Field(DateTime, required=True)
    calendar_url = graphene.String(required=True,
                                   description="日历事件（.ics）的地址，需携带登录凭证")
    qr_code_url = graphene.String(required=True,
                                  description="核验码二维码（SVG）的地址，需携带登录凭证")

    @staticmethod
    def resolve_slot(appointment, info):
        return info.context.rows(SlotRow).load(appointment.slot_id)

    @staticmethod
    def resolve_service_item(appointment, info):
        return info.context.rows(ServiceItemRow).load(appointment.service_item_id)

    @staticmethod
    def resolve_window(appointment, info):
        return info.context.rows(ServiceWindow).load(appointment.window_id)

    @staticmethod
    def resolve_place(appointment, info):
        window = info.context.rows(ServiceWindow).load(appointment.window_id)
        return info.context.rows(PlaceRow).load(window.place_id)

    @staticmethod
    def resolve_calendar_url(appointment, info):
        return f"/m/v1/appointments/{appointment.id}.ics"

    @staticmethod
    def resolve_qr_code_url(appointment, info):
        return f"/m/v1/appointments/{appointment.id}/qr.svg"


def _announce(info, appointment_rows) -> list:
    """Batch the relations a list of appointments will ask for."""
    rows = list(appointment_rows)
    info.context.rows(SlotRow).want(row.slot_id for row in rows)
    info.context.rows(ServiceWindow).want(row.window_id for row in rows)
    info.context.rows(ServiceItemRow).want(row.service_item_id for row in rows)
    return rows


class Me(graphene.ObjectType):
    uid = graphene.String(required=True)
    roles = graphene.List(graphene.NonNull(RoleGrant), required=True)
    appointments = graphene.List(graphene.NonNull(Appointment), required=True,
                                 status=AppointmentStatus(), description="按时段开始时间倒序")
    devices = graphene.List(graphene.NonNull("backend.schema.notify.Device"), required=True,
                            description="已登记的推送设备，最近使用的在前")
    notifications = graphene.Field(
        "backend.schema.notify.NotificationConnection", required=True,
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
        from backend.schema.notify import resolve_my_devices

        return resolve_my_devices(principal, info)

    @staticmethod
    def resolve_notifications(principal, info, **arguments):
        from backend.schema.notify import resolve_my_notifications

        return resolve_my_notifications(principal, info, **arguments)

    @staticmethod
    def resolve_appointments(principal, info, status=None):
        status = getattr(status, "value", status)
        return _announce(info, appointments.my_appointments(info.context.session, principal,
                                                            status))


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


class WindowPayload(graphene.ObjectType):
    window = graphene.Field(Window)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


def _generated(result: schedule.GenerationResult) -> GenerateSlotsPayload:
    return GenerateSlotsPayload(created=result.created, updated=result.updated,
                                removed=result.removed, skipped=result.skipped,
                                holidays=result.holidays, errors=[])


def write_payload(info, payload: Callable[..., graphene.ObjectType], change: Callable,
                  **empty):
    """Run one change in its own transaction; a PayloadError rolls it back and is answered
    in the payload (`empty` holds the payload's non-null fields for that case)."""
    try:
        with info.context.write() as session:
            return change(session)
    except PayloadError as error:
        return payload(errors=[UserError.of(error)], **empty)


class BookingQuery(graphene.ObjectType):
    me = graphene.Field(Me, description="当前登录用户；未登录时为 null")
    available_slots = graphene.List(
        graphene.NonNull(Slot), required=True,
        window_id=graphene.ID(), place_id=graphene.ID(),
        service_item_id=graphene.ID(required=True),
        from_=Date(required=True, name="from"), to=Date(required=True),
        description="现在可预约的时段（有余量、未过截止时间、在预约期限内）；"
                    "windowId 与 placeId 二选一",
    )
    window_appointments = graphene.List(
        graphene.NonNull(Appointment), required=True,
        window_id=graphene.ID(required=True), date=Date(required=True),
        description="窗口当天的预约（窗口人员）",
    )
    window_slots = graphene.List(
        graphene.NonNull(Slot), required=True, window_id=graphene.ID(required=True),
        from_=Date(required=True, name="from"), to=Date(required=True),
        description="窗口在日期范围内的全部时段及占用情况（窗口人员）",
    )
    window = graphene.Field(Window, id=graphene.ID(required=True))

    @staticmethod
    def resolve_me(root, info):
        principal = info.context.principal
        if principal.uid is None and principal.token_problem is None:
            return None
        require_user(principal)
        return principal

    @staticmethod
    @domain_errors
    def resolve_available_slots(root, info, service_item_id, from_, to, window_id=None,
                                place_id=None):
        return appointments.available_slots(
            info.context.session, info.context.principal, info.context.rules,
            service_item_id=parse_id(service_item_id, "serviceItemId", payload=False),
            start=from_, end=to,
            window_id=None if window_id is None else parse_id(window_id, "windowId",
                                                              payload=False),
            place_id=None if place_id is None else parse_id(place_id, "placeId", payload=False),
        )

    @staticmethod
    @domain_errors
    def resolve_window_appointments(root, info, window_id, date):
        return _announce(info, staff.window_appointments(
            info.context.session, info.context.principal,
            window_id=parse_id(window_id, "windowId", payload=False), day=date))

    @staticmethod
    @domain_errors
    def resolve_window_slots(root, info, window_id, from_, to):
        return staff.window_slots(info.context.session, info.context.principal,
                                  window_id=parse_id(window_id, "windowId", payload=False),
                                  start=from_, end=to)

    @staticmethod
    def resolve_window(root, info, id):
        key = api_id(id)
        return None if key is None else info.context.session.get(ServiceWindow, key)


def _appointment_payload(row: AppointmentRow) -> AppointmentPayload:
    return AppointmentPayload(appointment=row, errors=[])


class BookingMutation(graphene.ObjectType):
    book_appointment = graphene.Field(
        AppointmentPayload, required=True, slot_id=graphene.ID(required=True),
        service_item_id=graphene.ID(required=True),
        idempotency_key=graphene.String(
            required=True, description="客户端为每次预约意图生成的唯一键；重试时原样发送"),
    )
    cancel_appointment = graphene.Field(AppointmentPayload, required=True,
                                        id=graphene.ID(required=True), reason=graphene.String())
    reschedule_appointment = graphene.Field(AppointmentPayload, required=True,
                                            id=graphene.ID(required=True),
                                            new_slot_id=graphene.ID(required=True))
    upsert_schedule_template = graphene.Field(
        ScheduleTemplatePayload, required=True, window_id=graphene.ID(required=True),
        weekday=graphene.Int(required=True), start=graphene.String(required=True),
        end=graphene.String(required=True), slot_minutes=graphene.Int(required=True),
        capacity=graphene.Int(required=True), valid_from=Date(),
        valid_to=Date(),
        id=graphene.ID(description="修改指定模板；省略时按窗口+星期+开始时间+生效日期匹配"),
    )
    delete_schedule_template = graphene.Field(ScheduleTemplatePayload, required=True,
                                              id=graphene.ID(required=True))
    generate_slots = graphene.Field(GenerateSlotsPayload, required=True,
                                    window_id=graphene.ID(required=True),
                                    from_=Date(required=True, name="from"),
                                    to=Date(required=True))
    close_slot = graphene.Field(SlotPayload, required=True, slot_id=graphene.ID(required=True),
                                reason=graphene.String(required=True))
    close_day = graphene.Field(SlotsPayload, required=True, window_id=graphene.ID(required=True),
                               date=Date(required=True),
                               reason=graphene.String(required=True))
    set_slot_capacity = graphene.Field(SlotPayload, required=True,
                                       slot_id=graphene.ID(required=True),
                                       capacity=graphene.Int(required=True))
    check_in = graphene.Field(AppointmentPayload, required=True,
                              code=graphene.String(required=True))
    mark_no_show = graphene.Field(AppointmentPayload, required=True,
                                  appointment_id=graphene.ID(required=True))
    complete_appointment = graphene.Field(AppointmentPayload, required=True,
                                          appointment_id=graphene.ID(required=True))
    upsert_window = graphene.Field(
        WindowPayload, required=True, id=graphene.ID(), place_id=graphene.ID(required=True),
        name=graphene.String(required=True),
        service_item_ids=graphene.List(graphene.NonNull(graphene.ID), required=True),
        is_active=graphene.Boolean(default_value=True),
        description="新建或修改服务大厅的预约窗口（该地区的内容编辑或管理员）",
    )

    @staticmethod
    def resolve_book_appointment(root, info, slot_id, service_item_id, idempotency_key):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            appointments.book(session, context.principal, context.rules,
                              slot_id=parse_id(slot_id, "slotId"),
                              service_item_id=parse_id(service_item_id, "serviceItemId"),
                              idempotency_key=idempotency_key)))

    @staticmethod
    def resolve_cancel_appointment(root, info, id, reason=None):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            appointments.cancel(session, context.principal, context.rules,
                                appointment_id=parse_id(id, "id"), reason=reason)))

    @staticmethod
    def resolve_reschedule_appointment(root, info, id, new_slot_id):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            appointments.reschedule(session, context.principal, context.rules,
                                    appointment_id=parse_id(id, "id"),
                                    new_slot_id=parse_id(new_slot_id, "newSlotId"))))

    @staticmethod
    def resolve_upsert_schedule_template(root, info, window_id, weekday, start, end,
                                         slot_minutes, capacity, valid_from=None,
                                         valid_to=None, id=None):
        context = info.context

        def change(session):
            template, generated = schedule.upsert_template(
                session, context.principal, context.rules,
                window_id=parse_id(window_id, "windowId"), weekday=weekday, start=start,
                end=end, slot_minutes=slot_minutes, capacity=capacity, valid_from=valid_from,
                valid_to=valid_to, template_id=None if id is None else parse_id(id, "id"))
            return ScheduleTemplatePayload(template=template, generated=_generated(generated),
                                           errors=[])

        return write_payload(info, ScheduleTemplatePayload, change)

    @staticmethod
    def resolve_delete_schedule_template(root, info, id):
        context = info.context

        def change(session):
            template, generated = schedule.delete_template(
                session, context.principal, context.rules, parse_id(id, "id"))
            return ScheduleTemplatePayload(template=template, generated=_generated(generated),
                                           errors=[])

        return write_payload(info, ScheduleTemplatePayload, change)

    @staticmethod
    def resolve_generate_slots(root, info, window_id, from_, to):
        context = info.context
        return write_payload(info, GenerateSlotsPayload, lambda session: _generated(
            schedule.generate_slots(session, context.principal, context.rules,
                                    window_id=parse_id(window_id, "windowId"),
                                    start=from_, end=to)),
            created=0, updated=0, removed=0, skipped=0, holidays=[])

    @staticmethod
    def resolve_close_slot(root, info, slot_id, reason):
        context = info.context
        return write_payload(info, SlotPayload, lambda session: SlotPayload(
            slot=staff.close_slot(session, context.principal, slot_id=parse_id(slot_id, "slotId"),
                                  reason=reason), errors=[]))

    @staticmethod
    def resolve_close_day(root, info, window_id, date, reason):
        context = info.context
        return write_payload(info, SlotsPayload, lambda session: SlotsPayload(
            slots=staff.close_day(session, context.principal,
                                  window_id=parse_id(window_id, "windowId"), day=date,
                                  reason=reason), errors=[]), slots=[])

    @staticmethod
    def resolve_set_slot_capacity(root, info, slot_id, capacity):
        context = info.context
        return write_payload(info, SlotPayload, lambda session: SlotPayload(
            slot=staff.set_slot_capacity(session, context.principal,
                                         slot_id=parse_id(slot_id, "slotId"), capacity=capacity),
            errors=[]))

    @staticmethod
    def resolve_check_in(root, info, code):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            staff.check_in(session, context.principal, code=code)))

    @staticmethod
    def resolve_mark_no_show(root, info, appointment_id):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            staff.mark_no_show(session, context.principal,
                               appointment_id=parse_id(appointment_id, "appointmentId"))))

    @staticmethod
    def resolve_complete_appointment(root, info, appointment_id):
        context = info.context
        return write_payload(info, AppointmentPayload, lambda session: _appointment_payload(
            staff.complete(session, context.principal,
                           appointment_id=parse_id(appointment_id, "appointmentId"))))

    @staticmethod
    def resolve_upsert_window(root, info, place_id, name, service_item_ids, id=None,
                              is_active=True):
        context = info.context
        return write_payload(info, WindowPayload, lambda session: WindowPayload(
            window=windows.upsert_window(
                session, context.principal, place_id=parse_id(place_id, "placeId"), name=name,
                service_item_ids=[parse_id(item, "serviceItemIds") for item in service_item_ids],
                window_id=None if id is None else parse_id(id, "id"), is_active=is_active),
            errors=[]))

