"""GraphQL for admins: role grants (`grants`, `grantRole`, `revokeRole`), the same rules as
`flask accounts …` (backend/accounts/grants.py); anyone else gets FORBIDDEN."""

from __future__ import annotations

import graphene

from backend.accounts import grants
from backend.schema.booking.loaders import WindowById
from backend.schema.booking.types import Window
from backend.schema.core.dataloaders import loaders
from backend.schema.core.errors import UserError, domain_errors, parse_id, payload_of
from backend.schema.places.loaders import RegionByCode
from backend.schema.places.types import Region

ROLE_HELP = "staff（窗口人员，须指定 windowId）、editor（内容编辑，须指定 regionCode）或 admin"


class Grant(graphene.ObjectType):
    id = graphene.ID(required=True)
    uid = graphene.String(required=True)
    role = graphene.String(required=True, description="staff、editor 或 admin")
    scope = graphene.String(required=True,
                            description="staff：窗口 id；editor：行政区划代码；admin：空字符串")
    window = graphene.Field(Window, description="staff 的窗口（含所在服务大厅）")
    region = graphene.Field(Region, description="editor 的地区")

    @staticmethod
    def resolve_window(grant, info):
        return None if grant.window_id is None else loaders(info)[WindowById].load(
            grant.window_id)

    @staticmethod
    def resolve_region(grant, info):
        return loaders(info)[RegionByCode].load(grant.scope) if grant.role == "editor" else None


class GrantPayload(graphene.ObjectType):
    grant = graphene.Field(Grant)
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class RevokeRolePayload(graphene.ObjectType):
    revoked = graphene.Boolean(required=True, description="false：该用户本来就没有这项授权")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


def _grant_arguments() -> dict:
    return {"uid": graphene.String(required=True),
            "role": graphene.String(required=True, description=ROLE_HELP),
            "window_id": graphene.ID(), "region_code": graphene.String()}


def _window(window_id) -> int | None:  # noqa: ANN001
    return None if window_id is None else parse_id(window_id, "windowId")


class AdminQuery(graphene.ObjectType):
    grants = graphene.List(
        graphene.NonNull(Grant), required=True, uid=graphene.String(),
        role=graphene.String(description="staff、editor 或 admin"),
        description=f"角色授权（仅管理员），按 uid、角色排序，最多 {grants.MAX_LISTED_GRANTS} 条",
    )

    region = graphene.Field(Region, code=graphene.String(required=True),
                            description="按行政区划代码查地区（如 330100 杭州市）；未知代码为 null")

    @staticmethod
    def resolve_region(root, info, code):
        return loaders(info)[RegionByCode].load(code.strip())

    @staticmethod
    @domain_errors
    def resolve_grants(root, info, uid=None, role=None):
        return grants.admin_list_grants(info.context.session, info.context.principal, uid=uid,
                                        role=role)


class AdminMutation(graphene.ObjectType):
    grant_role = graphene.Field(GrantPayload, required=True, **_grant_arguments(),
                                description="授予角色（仅管理员；已有的授权原样返回）")
    revoke_role = graphene.Field(RevokeRolePayload, required=True, **_grant_arguments(),
                                 description="撤销角色（仅管理员）")

    @staticmethod
    def resolve_grant_role(root, info, uid, role, window_id=None, region_code=None):
        context = info.context
        return payload_of(info, GrantPayload, lambda uow: GrantPayload(
            grant=grants.admin_grant_role(
                uow, context.principal, uid, role, window_id=_window(window_id),
                region_code=region_code, scope_checks=context.scope_checks),
            errors=[]))

    @staticmethod
    def resolve_revoke_role(root, info, uid, role, window_id=None, region_code=None):
        context = info.context
        return payload_of(info, RevokeRolePayload, lambda uow: RevokeRolePayload(
            revoked=grants.admin_revoke_role(
                uow, context.principal, uid, role, window_id=_window(window_id),
                region_code=region_code),
            errors=[]), revoked=False)
