"""GraphQL queries of the guidance domain: items, categories, checklists."""

from __future__ import annotations

import graphene

from backend.guidance import queries
from backend.guidance.item_editing import known_certificates
from backend.schema.core.errors import domain_errors
from backend.schema.guidance.types import (
    Checklist,
    ChecklistAnswerInput,
    ECertificate,
    ServiceItem,
    ServiceItemConnection,
    checklist_of,
)


class GuidanceQuery(graphene.ObjectType):
    service_items = graphene.Field(
        ServiceItemConnection, required=True,
        text=graphene.String(description="中文、拼音或拼音首字母，如 社保、shebao、sb"),
        category=graphene.String(), first=graphene.Int(default_value=20),
        after=graphene.String(),
        description="跨省通办事项；给出 text 时按相关度，否则按 id",
    )
    service_item = graphene.Field(ServiceItem, id=graphene.ID(required=True))
    service_item_categories = graphene.List(graphene.NonNull(graphene.String), required=True)
    e_certificates = graphene.List(
        graphene.NonNull(ECertificate), required=True,
        description="指南材料可引用的电子证照（编辑事项时选择）")
    checklist = graphene.Field(
        Checklist, required=True, service_item_id=graphene.ID(required=True),
        answers=graphene.List(graphene.NonNull(ChecklistAnswerInput), required=True),
        description="同 ServiceItem.checklist：按回答生成个人材料清单",
    )

    @staticmethod
    @domain_errors
    def resolve_service_items(root, info, text=None, category=None, first=20, after=None):
        return queries.search_service_items(
            info.context.session, text=text, category=category, first=first, after=after
        )

    @staticmethod
    def resolve_service_item(root, info, id):
        return queries.get_service_item(info.context.session, id)

    @staticmethod
    def resolve_e_certificates(root, info):
        return known_certificates(info.context.session)

    @staticmethod
    def resolve_service_item_categories(root, info):
        return queries.list_categories(info.context.session)

    @staticmethod
    @domain_errors
    def resolve_checklist(root, info, service_item_id, answers):
        item = queries.require_service_item(info.context.session, service_item_id,
                                            "serviceItemId")
        return checklist_of(item, answers)
