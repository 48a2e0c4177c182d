"""GraphQL queries of the guidance domain: items, categories, checklists."""

from __future__ import annotations

import graphene

from backend.guidance import queries
from backend.guidance.editor_places import EditorFilter, editor_places
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
from backend.schema.places.types import PlaceConnection, PlaceKind, enum_value


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

    editor_places = graphene.Field(
        PlaceConnection, required=True,
        region_code=graphene.String(description="行政区划代码：省、市或区县；须在本人负责的地区内"),
        kinds=graphene.List(graphene.NonNull(PlaceKind)),
        archived=graphene.Boolean(description="false：在用的；true：已停用的；不给：全部"),
        missing_hours=graphene.Boolean(description="true：只要没有营业时间的"),
        no_items=graphene.Boolean(description="true：只要没有可办事项的"),
        duplicate_suspected=graphene.Boolean(
            description="true：只要疑似重复的（与编辑时 DUPLICATE_SUSPECTED 同一规则）"),
        outside_county=graphene.Boolean(description="true：只要坐标不在所登记区县内的"),
        text=graphene.String(description="名称或地址包含的文字，或来源编号"),
        first=graphene.Int(default_value=20), after=graphene.String(),
        description="内容编辑台的地点列表（按 id）：本人负责地区的地点（管理员：全部），"
                    "含已停用的；其他人 FORBIDDEN",
    )

    @staticmethod
    @domain_errors
    def resolve_editor_places(root, info, region_code=None, kinds=None, archived=None,
                              missing_hours=None, no_items=None, duplicate_suspected=None,
                              outside_county=None, text=None, first=20, after=None):
        wanted = EditorFilter(
            region_code=region_code,
            kinds=tuple(enum_value(kind) for kind in kinds) if kinds is not None else None,
            archived=archived, missing_hours=bool(missing_hours), no_items=bool(no_items),
            duplicate_suspected=bool(duplicate_suspected), outside_county=bool(outside_county),
            text=text,
        )
        return editor_places(info.context.session, info.context.principal, wanted, first, after)

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
