"""GraphQL queries of booking: `me`, free slots, a window's day and slots, a window."""

from __future__ import annotations

import graphene

from backend.accounts.permissions import require_user
from backend.booking import appointments, schedule, staff, windows
from backend.schema.booking.types import Appointment, Me, Slot, TemplatePreview, Window
from backend.schema.core.errors import domain_errors, parse_id
from backend.schema.core.scalars import Date


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
    schedule_template_preview = graphene.Field(
        TemplatePreview, required=True, window_id=graphene.ID(required=True),
        weekday=graphene.Int(required=True), start=graphene.String(required=True),
        end=graphene.String(required=True), slot_minutes=graphene.Int(required=True),
        capacity=graphene.Int(required=True), valid_from=Date(), valid_to=Date(),
        description="预览排班模板在滚动期限内将生成的时段（与生成号源同一算法，含节假日与调休；"
                    "窗口人员）",
    )

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
        return staff.window_appointments(
            info.context.session, info.context.principal,
            window_id=parse_id(window_id, "windowId", payload=False), day=date)

    @staticmethod
    @domain_errors
    def resolve_window_slots(root, info, window_id, from_, to):
        return staff.window_slots(info.context.session, info.context.principal,
                                  window_id=parse_id(window_id, "windowId", payload=False),
                                  start=from_, end=to)

    @staticmethod
    @domain_errors
    def resolve_schedule_template_preview(root, info, window_id, weekday, start, end,
                                          slot_minutes, capacity, valid_from=None,
                                          valid_to=None):
        context = info.context
        return schedule.preview_template(
            context.session, context.principal, context.rules,
            window_id=parse_id(window_id, "windowId", payload=False), weekday=weekday,
            start=start, end=end, slot_minutes=slot_minutes, capacity=capacity,
            valid_from=valid_from, valid_to=valid_to)

    @staticmethod
    def resolve_window(root, info, id):
        return windows.get_window(info.context.session, id)


