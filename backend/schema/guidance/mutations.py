"""GraphQL mutations of guidance for the editor console: a service item and its guide."""

from __future__ import annotations

import json

import graphene

from backend.guidance.item_editing import upsert_service_item
from backend.schema.core.errors import UserError, payload_of
from backend.schema.guidance.types import ServiceItem


class ServiceItemPayload(graphene.ObjectType):
    service_item = graphene.Field(ServiceItem)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class GuidanceMutation(graphene.ObjectType):
    upsert_service_item = graphene.Field(
        ServiceItemPayload, required=True,
        item=graphene.JSONString(required=True, description=(
            "一个事项（与事项目录 service_items.json 中 items 的一项格式相同，含完整指南）")),
        description="新建或按编码整体替换一个跨省通办事项及其办事指南（内容编辑与管理员）；"
                    "整份内容先校验，有误时不写入")

    @staticmethod
    def resolve_upsert_service_item(root, info, item):
        principal = info.context.principal
        # JSONString parses the value; the use case takes the text it validates.
        document = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        return payload_of(info, ServiceItemPayload, lambda uow: ServiceItemPayload(
            service_item=upsert_service_item(uow, principal, document), errors=[]))
