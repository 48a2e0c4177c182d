"""GraphQL mutations of push devices and the inbox."""

from __future__ import annotations

import graphene

from backend.notify import devices, inbox
from backend.schema.core.errors import parse_id, payload_of
from backend.schema.notify.types import DevicePayload, NotificationsPayload, Platform


def _note_ids(ids) -> list[int]:
    return [parse_id(value, "ids") for value in ids]


class NotifyMutation(graphene.ObjectType):
    register_device = graphene.Field(
        DevicePayload, required=True, token=graphene.String(required=True),
        platform=Platform(required=True), locale=graphene.String(),
        description="登记当前用户的推送令牌（同一令牌改登记到当前用户；应用每次启动时调用）")
    unregister_device = graphene.Field(DevicePayload, required=True,
                                       token=graphene.String(required=True),
                                       description="注销当前用户的推送令牌（退出登录时）")
    mark_notifications_read = graphene.Field(
        NotificationsPayload, required=True,
        ids=graphene.List(graphene.NonNull(graphene.ID), required=True),
        description="将自己的消息标为已读（全部成功或全部不变）")

    @staticmethod
    def resolve_register_device(root, info, token, platform, locale=None):
        context = info.context
        return payload_of(info, DevicePayload, lambda uow: DevicePayload(
            device=devices.register_device(uow, context.principal, token=token,
                                           platform=getattr(platform, "value", platform),
                                           locale=locale), errors=[]))

    @staticmethod
    def resolve_unregister_device(root, info, token):
        context = info.context
        return payload_of(info, DevicePayload, lambda uow: DevicePayload(
            device=devices.unregister_device(uow, context.principal, token=token),
            errors=[]))

    @staticmethod
    def resolve_mark_notifications_read(root, info, ids):
        context = info.context

        def change(uow):
            rows, unread = inbox.mark_read(uow, context.principal, _note_ids(ids))
            return NotificationsPayload(notifications=rows, unread_count=unread, errors=[])

        return payload_of(info, NotificationsPayload, change, notifications=[])
