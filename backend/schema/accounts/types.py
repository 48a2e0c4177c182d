"""Role grants as the API shows them (`me.roles`)."""

from __future__ import annotations

import graphene


class RoleGrant(graphene.ObjectType):
    role = graphene.String(required=True,
                           description="staff（窗口人员）、editor（内容编辑）或 admin")
    scope = graphene.String(required=True,
                            description="staff：窗口 id；editor：行政区划代码；admin：空字符串")
