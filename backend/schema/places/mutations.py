"""GraphQL mutations of places for the editor console: create, update, archive, restore a
place and set the items it handles. Resolvers parse ids and call one use case; refusals come
back in the payload's `errors` (all of a change's at once), warnings in `warnings`."""

from __future__ import annotations

import graphene

from backend.core.errors import PayloadError
from backend.guidance.editing import revert_place, set_place_service_items
from backend.places import editing
from backend.places.errors import PlaceWarning
from backend.places.search import GeoPoint
from backend.schema.core.errors import UserError, UserWarning, UserWarningCode, parse_id
from backend.schema.places.types import GeoPointInput, Place, PlaceKind, enum_value
from geodata.crs import CRS

SOURCE = "console"


class PlaceInput(graphene.InputObjectType):
    """新建时 name、kind、location、regionCode 必填；修改时省略的字段保持不变，
    可选文本字段传空字符串表示清空。"""

    name = graphene.String(description="名称，1–100 个字符")
    kind = PlaceKind()
    address = graphene.String()
    phone = graphene.String(description="手机、带区号的固定电话、400 电话或热线；多个用分号分隔")
    location = GeoPointInput(description="位置，任意坐标系（crs），保存为 WGS-84")
    region_code = graphene.String(description="所在区县代码（编辑声明；须与位置一致）")
    opening_hours = graphene.String(description="OpenStreetMap opening_hours 语法")
    clinic_level = graphene.String(description="医院等级（仅 CLINIC）")
    cross_province_settlement = graphene.Boolean(description="跨省异地就医直接结算（仅 CLINIC）")
    beds = graphene.Int(description="床位总数（仅 ELDERLY_CARE）")
    available_beds = graphene.Int(description="空余床位（仅 ELDERLY_CARE）")
    accepts_non_local = graphene.Boolean(description="接收异地老人（仅 ELDERLY_CARE）")
    care_levels = graphene.List(graphene.NonNull(graphene.String),
                                description="照护等级（仅 ELDERLY_CARE）")
    external_id = graphene.String(description="来源系统中的编号")
    source = graphene.String(description="数据来源，默认 editor")

    def to_domain(self) -> editing.PlaceInput:
        location = self.get("location")
        return editing.PlaceInput(
            name=self.get("name"), kind=enum_value(self.get("kind")),
            address=self.get("address"), phone=self.get("phone"),
            location=None if location is None else GeoPoint(
                location.lat, location.lon, CRS(enum_value(location.crs))),
            region_code=self.get("region_code"), opening_hours=self.get("opening_hours"),
            clinic_level=self.get("clinic_level"),
            cross_province_settlement=self.get("cross_province_settlement"),
            beds=self.get("beds"), available_beds=self.get("available_beds"),
            accepts_non_local=self.get("accepts_non_local"),
            care_levels=None if self.get("care_levels") is None else tuple(self.care_levels),
            external_id=self.get("external_id"), source=self.get("source"),
        )


class PlacePayload(graphene.ObjectType):
    place = graphene.Field(Place)
    errors = graphene.List(graphene.NonNull(UserError), required=True)
    warnings = graphene.List(graphene.NonNull(UserWarning), required=True,
                             description="提示（重复嫌疑、大幅移动）；未确认时修改不保存")


def _warnings(warnings: list[PlaceWarning]) -> list[UserWarning]:
    return [UserWarning(code=w.code, field=w.field, message=w.message) for w in warnings]


def _payload(info, use_case) -> PlacePayload:  # noqa: ANN001
    try:
        result = use_case(info.context.unit_of_work())
    except PayloadError as error:
        return PlacePayload(place=None, errors=UserError.all_of(error),
                            warnings=_warnings(getattr(error, "warnings", [])))
    if isinstance(result, editing.EditResult):
        return PlacePayload(place=result.place, errors=[], warnings=_warnings(result.warnings))
    return PlacePayload(place=result, errors=[], warnings=[])


ACKNOWLEDGE = dict(description="已确认的提示代码：带上后，有这些提示的修改也会保存")


class PlacesMutation(graphene.ObjectType):
    create_place = graphene.Field(
        PlacePayload, required=True, input=PlaceInput(required=True),
        acknowledge=graphene.List(graphene.NonNull(UserWarningCode), **ACKNOWLEDGE),
        description="新建地点（所填区县的内容编辑或管理员）")
    update_place = graphene.Field(
        PlacePayload, required=True, id=graphene.ID(required=True),
        version=graphene.Int(required=True, description="读取时的 version（乐观并发）"),
        input=PlaceInput(required=True),
        acknowledge=graphene.List(graphene.NonNull(UserWarningCode), **ACKNOWLEDGE),
        description="修改地点：只写入给出的字段（如只改 availableBeds）")
    archive_place = graphene.Field(
        PlacePayload, required=True, id=graphene.ID(required=True),
        version=graphene.Int(required=True), reason=graphene.String(required=True),
        description="停用地点：不再出现在搜索、地图和预约中；其后的预约取消并通知居民")
    restore_place = graphene.Field(
        PlacePayload, required=True, id=graphene.ID(required=True),
        version=graphene.Int(required=True), description="恢复已停用的地点")
    set_place_service_items = graphene.Field(
        PlacePayload, required=True, id=graphene.ID(required=True),
        version=graphene.Int(required=True),
        service_item_ids=graphene.List(graphene.NonNull(graphene.ID), required=True),
        description="设置地点可办理的事项（整体替换）")
    revert_place = graphene.Field(
        PlacePayload, required=True, id=graphene.ID(required=True),
        to_version=graphene.Int(required=True, description="恢复到该版本时的内容"),
        version=graphene.Int(required=True, description="当前版本（乐观并发）"),
        description="把地点恢复到早期版本的内容（作为一次新的修改记录，不改写历史）")

    @staticmethod
    def resolve_create_place(root, info, input, acknowledge=None):
        principal = info.context.principal
        return _payload(info, lambda uow: editing.create_place(
            uow, principal, input.to_domain(),
            acknowledge=[enum_value(a) for a in acknowledge or []], source=SOURCE))

    @staticmethod
    def resolve_update_place(root, info, id, version, input, acknowledge=None):
        principal = info.context.principal
        return _payload(info, lambda uow: editing.update_place(
            uow, principal, place_id=parse_id(id, "id"), version=version,
            data=input.to_domain(), acknowledge=[enum_value(a) for a in acknowledge or []],
            source=SOURCE))

    @staticmethod
    def resolve_archive_place(root, info, id, version, reason):
        principal = info.context.principal
        return _payload(info, lambda uow: editing.archive_place(
            uow, principal, place_id=parse_id(id, "id"), version=version, reason=reason,
            source=SOURCE))

    @staticmethod
    def resolve_restore_place(root, info, id, version):
        principal = info.context.principal
        return _payload(info, lambda uow: editing.restore_place(
            uow, principal, place_id=parse_id(id, "id"), version=version, source=SOURCE))

    @staticmethod
    def resolve_set_place_service_items(root, info, id, version, service_item_ids):
        principal = info.context.principal
        return _payload(info, lambda uow: set_place_service_items(
            uow, principal, place_id=parse_id(id, "id"), version=version,
            service_item_ids=[parse_id(item, "serviceItemIds") for item in service_item_ids],
            source=SOURCE))

    @staticmethod
    def resolve_revert_place(root, info, id, to_version, version):
        principal = info.context.principal
        return _payload(info, lambda uow: revert_place(
            uow, principal, place_id=parse_id(id, "id"), to_version=to_version,
            version=version, source=SOURCE))
