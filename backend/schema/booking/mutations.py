"""GraphQL mutations of booking: residents book, cancel, reschedule; staff run their window;
editors set up windows. Resolvers parse ids and call one use case, which owns its transaction;
expected refusals come back in the payload's `errors`."""

from __future__ import annotations

import graphene

from backend.booking import appointments, schedule, staff, windows
from backend.booking.models import Appointment as AppointmentRow
from backend.schema.booking.loaders import ServiceItemById, SlotById, WindowById
from backend.schema.booking.types import (
    AppointmentPayload,
    CloseOutPayload,
    GenerateSlotsPayload,
    ScheduleTemplatePayload,
    SlotPayload,
    SlotsPayload,
    WindowPayload,
    generated_payload,
)
from backend.schema.core.dataloaders import loaders
from backend.schema.core.errors import parse_id, payload_of
from backend.schema.core.scalars import Date
from backend.schema.guidance.types import ChecklistAnswerInput
from backend.schema.places.loaders import PlaceById


def _appointment_payload(row: AppointmentRow) -> AppointmentPayload:
    return AppointmentPayload(appointment=row, errors=[])


class BookingMutation(graphene.ObjectType):
    book_appointment = graphene.Field(
        AppointmentPayload, required=True, slot_id=graphene.ID(required=True),
        service_item_id=graphene.ID(required=True),
        idempotency_key=graphene.String(
            required=True, description="客户端为每次预约意图生成的唯一键；重试时原样发送"),
        answers=graphene.List(
            graphene.NonNull(ChecklistAnswerInput),
            description="居民在办事指南中对问题的回答（可选），随预约保存以生成个人材料清单；"
                        "属于请求的一部分：同一幂等键重试须带相同的回答"),
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
    reopen_slot = graphene.Field(SlotPayload, required=True, slot_id=graphene.ID(required=True),
                                 description="重新开放已停约、尚未开始的时段")
    reopen_day = graphene.Field(SlotsPayload, required=True, window_id=graphene.ID(required=True),
                                date=Date(required=True),
                                description="重新开放窗口当天已停约、尚未开始的全部时段；返回当天全部时段")
    close_out_day = graphene.Field(
        CloseOutPayload, required=True, window_id=graphene.ID(required=True),
        date=Date(required=True),
        expected_count=graphene.Int(description="窗口人员确认的人数；与实际不符时拒绝（COUNT_CHANGED），不作改动"),
        description="日终：当天时段已结束、仍为已预约的全部预约标记为爽约",
    )
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
    def resolve_book_appointment(root, info, slot_id, service_item_id, idempotency_key,
                                 answers=None):
        context = info.context
        given = None if answers is None else [(a.question_id, a.answer) for a in answers]

        def book(uow):
            appointment, details = appointments.book_described(
                uow, context.principal, context.rules, slot_id=parse_id(slot_id, "slotId"),
                service_item_id=parse_id(service_item_id, "serviceItemId"),
                idempotency_key=idempotency_key, answers=given)
            if details is not None:  # the rows the booking read: the answer's fields need them
                registry = loaders(info)
                registry[SlotById].prime(details.slot.id, details.slot)
                registry[ServiceItemById].prime(details.item.id, details.item)
                registry[WindowById].prime(details.window.id, details.window)
                registry[PlaceById].prime(details.place.id, details.place)
            return _appointment_payload(appointment)

        return payload_of(info, AppointmentPayload, book)

    @staticmethod
    def resolve_cancel_appointment(root, info, id, reason=None):
        context = info.context
        return payload_of(info, AppointmentPayload, lambda uow: _appointment_payload(
            appointments.cancel(uow, context.principal, context.rules,
                                appointment_id=parse_id(id, "id"), reason=reason)))

    @staticmethod
    def resolve_reschedule_appointment(root, info, id, new_slot_id):
        context = info.context
        return payload_of(info, AppointmentPayload, lambda uow: _appointment_payload(
            appointments.reschedule(uow, context.principal, context.rules,
                                    appointment_id=parse_id(id, "id"),
                                    new_slot_id=parse_id(new_slot_id, "newSlotId"))))

    @staticmethod
    def resolve_upsert_schedule_template(root, info, window_id, weekday, start, end,
                                         slot_minutes, capacity, valid_from=None,
                                         valid_to=None, id=None):
        context = info.context

        def change(uow):
            template, generated = schedule.upsert_template(
                uow, context.principal, context.rules,
                window_id=parse_id(window_id, "windowId"), weekday=weekday, start=start,
                end=end, slot_minutes=slot_minutes, capacity=capacity, valid_from=valid_from,
                valid_to=valid_to, template_id=None if id is None else parse_id(id, "id"))
            return ScheduleTemplatePayload(template=template,
                                           generated=generated_payload(generated), errors=[])

        return payload_of(info, ScheduleTemplatePayload, change)

    @staticmethod
    def resolve_delete_schedule_template(root, info, id):
        context = info.context

        def change(uow):
            template, generated = schedule.delete_template(
                uow, context.principal, context.rules, parse_id(id, "id"))
            return ScheduleTemplatePayload(template=template,
                                           generated=generated_payload(generated), errors=[])

        return payload_of(info, ScheduleTemplatePayload, change)

    @staticmethod
    def resolve_generate_slots(root, info, window_id, from_, to):
        context = info.context
        return payload_of(info, GenerateSlotsPayload, lambda uow: generated_payload(
            schedule.generate_slots(uow, context.principal, context.rules,
                                    window_id=parse_id(window_id, "windowId"),
                                    start=from_, end=to)),
            created=0, updated=0, removed=0, skipped=0, holidays=[])

    @staticmethod
    def resolve_close_slot(root, info, slot_id, reason):
        context = info.context
        return payload_of(info, SlotPayload, lambda uow: SlotPayload(
            slot=staff.close_slot(uow, context.principal, slot_id=parse_id(slot_id, "slotId"),
                                  reason=reason), errors=[]))

    @staticmethod
    def resolve_close_day(root, info, window_id, date, reason):
        context = info.context
        return payload_of(info, SlotsPayload, lambda uow: SlotsPayload(
            slots=staff.close_day(uow, context.principal,
                                  window_id=parse_id(window_id, "windowId"), day=date,
                                  reason=reason), errors=[]), slots=[])

    @staticmethod
    def resolve_reopen_slot(root, info, slot_id):
        context = info.context
        return payload_of(info, SlotPayload, lambda uow: SlotPayload(
            slot=staff.reopen_slot(uow, context.principal, slot_id=parse_id(slot_id, "slotId")),
            errors=[]))

    @staticmethod
    def resolve_reopen_day(root, info, window_id, date):
        context = info.context
        return payload_of(info, SlotsPayload, lambda uow: SlotsPayload(
            slots=staff.reopen_day(uow, context.principal,
                                   window_id=parse_id(window_id, "windowId"), day=date),
            errors=[]), slots=[])

    @staticmethod
    def resolve_close_out_day(root, info, window_id, date, expected_count=None):
        context = info.context
        return payload_of(info, CloseOutPayload, lambda uow: CloseOutPayload(
            no_shows=staff.close_out_day(uow, context.principal,
                                         window_id=parse_id(window_id, "windowId"), day=date,
                                         expected_count=expected_count),
            errors=[]))

    @staticmethod
    def resolve_set_slot_capacity(root, info, slot_id, capacity):
        context = info.context
        return payload_of(info, SlotPayload, lambda uow: SlotPayload(
            slot=staff.set_slot_capacity(uow, context.principal,
                                         slot_id=parse_id(slot_id, "slotId"), capacity=capacity),
            errors=[]))

    @staticmethod
    def resolve_check_in(root, info, code):
        context = info.context
        return payload_of(info, AppointmentPayload, lambda uow: _appointment_payload(
            staff.check_in(uow, context.principal, code=code)))

    @staticmethod
    def resolve_mark_no_show(root, info, appointment_id):
        context = info.context
        return payload_of(info, AppointmentPayload, lambda uow: _appointment_payload(
            staff.mark_no_show(uow, context.principal,
                               appointment_id=parse_id(appointment_id, "appointmentId"))))

    @staticmethod
    def resolve_complete_appointment(root, info, appointment_id):
        context = info.context
        return payload_of(info, AppointmentPayload, lambda uow: _appointment_payload(
            staff.complete(uow, context.principal,
                           appointment_id=parse_id(appointment_id, "appointmentId"))))

    @staticmethod
    def resolve_upsert_window(root, info, place_id, name, service_item_ids, id=None,
                              is_active=True):
        context = info.context
        return payload_of(info, WindowPayload, lambda uow: WindowPayload(
            window=windows.upsert_window(
                uow, context.principal, place_id=parse_id(place_id, "placeId"), name=name,
                service_item_ids=[parse_id(item, "serviceItemIds") for item in service_item_ids],
                window_id=None if id is None else parse_id(id, "id"), is_active=is_active),
            errors=[]))

