"""Role grants in our own database: staff → a window, editor → a region, admin → everything.

Scopes are stored as text: the window id for staff (window_id set too, so deleting a window
removes its staff grants), the region adcode for editors, "" for admins. Whether a scope names
a real window or region is for the domains that own them: the composition root hands their
checks in (`ScopeChecks`), since accounts sits below places and booking."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from backend.accounts.models import ROLES, Account, RoleGrant
from backend.accounts.permissions import require_admin
from backend.accounts.principal import Grant, Principal
from backend.core.errors import InvalidInput, PayloadError
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.db import execute_read, insert_ignoring_conflicts

MAX_UID_LENGTH = 128

# role -> does this scope exist? (staff: a window id, editor: a region code)
ScopeChecks = Mapping[str, Callable[[Session, str], bool]]
SCOPE_NAMES = {"staff": ("窗口", "window"), "editor": ("地区代码", "region")}


def _valid_uid(uid: str) -> str:
    if not isinstance(uid, str) or not uid.strip():
        raise InvalidInput("用户 uid 不能为空", field="uid")
    uid = uid.strip()
    if len(uid) > MAX_UID_LENGTH:
        raise InvalidInput(f"用户 uid 不能超过 {MAX_UID_LENGTH} 个字符", field="uid")
    return uid


def _scope(role: str, window_id: int | None, region_code: str | None) -> tuple[str, int | None]:
    """(scope, window_id) of a grant, checked against the role's shape only."""
    if role not in ROLES:
        raise InvalidInput(f"未知角色 {role!r}，应为 staff、editor 或 admin", field="role")
    if role == "staff":
        if region_code is not None:
            raise InvalidInput("窗口工作人员（staff）的授权不能指定地区", field="region")
        if window_id is None:
            raise InvalidInput("窗口工作人员（staff）的授权需要指定窗口", field="window")
        if isinstance(window_id, bool) or not isinstance(window_id, int):
            raise InvalidInput("窗口编号应为整数", field="window")
        return str(window_id), window_id
    if window_id is not None:
        raise InvalidInput(f"{role} 的授权不能指定窗口", field="window")
    if role == "editor":
        if region_code is None or not str(region_code).strip():
            raise InvalidInput("地区编辑（editor）的授权需要指定地区代码", field="region")
        return str(region_code).strip(), None
    if region_code is not None:
        raise InvalidInput("管理员（admin）的授权不能指定地区", field="region")
    return "", None


@transactional
def grant_role(uow: UnitOfWork, uid: str, role: str, *, scope_checks: ScopeChecks,
               window_id: int | None = None, region_code: str | None = None) -> RoleGrant:
    """Give `uid` a role (idempotent: an existing grant is returned unchanged)."""
    session = uow.session
    uid = _valid_uid(uid)
    scope, window = _scope(role, window_id, region_code)
    if role in SCOPE_NAMES and not scope_checks[role](session, scope):
        name, field = SCOPE_NAMES[role]
        raise InvalidInput(f"{name} {scope} 不存在", field=field)
    # ON CONFLICT DO NOTHING: two concurrent grants of the same role both succeed.
    insert_ignoring_conflicts(
        session, RoleGrant, [{"uid": uid, "role": role, "scope": scope, "window_id": window}],
        ["uid", "role", "scope"],
    )
    return session.scalars(
        select(RoleGrant).filter_by(uid=uid, role=role, scope=scope)
    ).one()


@transactional
def revoke_role(uow: UnitOfWork, uid: str, role: str, *, window_id: int | None = None,
                region_code: str | None = None) -> bool:
    """Take a role away; False when `uid` did not have it."""
    session = uow.session
    uid = _valid_uid(uid)
    scope, _ = _scope(role, window_id, region_code)
    result = session.execute(
        delete(RoleGrant).where(RoleGrant.uid == uid, RoleGrant.role == role,
                                RoleGrant.scope == scope)
    )
    return result.rowcount > 0


def list_grants(session: Session, uid: str | None = None, *, role: str | None = None,
                limit: int | None = None) -> list[RoleGrant]:
    """Every grant (of one uid, of one role, when given), by uid, role, then scope."""
    statement = select(RoleGrant).order_by(
        RoleGrant.uid, RoleGrant.role, RoleGrant.window_id, RoleGrant.scope, RoleGrant.id
    )
    if uid is not None:
        statement = statement.where(RoleGrant.uid == uid)
    if role is not None:
        if role not in ROLES:
            raise InvalidInput(f"未知角色 {role!r}，应为 staff、editor 或 admin", field="role")
        statement = statement.where(RoleGrant.role == role)
    return list(session.scalars(statement.limit(limit)))


# --- the same rules for admins over the API: FORBIDDEN for anyone else, refusals in payloads

MAX_LISTED_GRANTS = 500


class GrantError(PayloadError):
    messages = {"INVALID_INPUT": "输入无效"}


# The CLI's option names → the API's argument names.
_API_FIELDS = {"window": "windowId", "region": "regionCode"}


def _refused(error: InvalidInput) -> GrantError:
    return GrantError("INVALID_INPUT", error.message, _API_FIELDS.get(error.field, error.field))


def admin_grant_role(uow: UnitOfWork, principal: Principal, uid: str, role: str, *,
                     scope_checks: ScopeChecks, window_id: int | None = None,
                     region_code: str | None = None) -> RoleGrant:
    require_admin(principal)
    try:
        return grant_role(uow, uid, role, scope_checks=scope_checks, window_id=window_id,
                          region_code=region_code)
    except InvalidInput as error:
        raise _refused(error) from error


def admin_revoke_role(uow: UnitOfWork, principal: Principal, uid: str, role: str, *,
                      window_id: int | None = None, region_code: str | None = None) -> bool:
    require_admin(principal)
    try:
        return revoke_role(uow, uid, role, window_id=window_id, region_code=region_code)
    except InvalidInput as error:
        raise _refused(error) from error


def admin_list_grants(session: Session, principal: Principal, *, uid: str | None = None,
                      role: str | None = None) -> list[RoleGrant]:
    """At most MAX_LISTED_GRANTS grants (filter by uid or role for the rest)."""
    require_admin(principal)
    return list_grants(session, uid.strip() if uid else None, role=role,
                       limit=MAX_LISTED_GRANTS)


# Built once: every signed-in request reads its grants. Table columns (Core), sent on the
# session's connection: the ORM's per-statement work cost more than the read.
_GRANT = RoleGrant.__table__
_GRANTS_OF = select(_GRANT.c.role, _GRANT.c.scope).where(_GRANT.c.uid == bindparam("uid"))


def principal_for(session: Session, uid: str) -> Principal:
    """The verified user `uid` with the grants the database holds for them (the read runs
    once more on a new connection if a read session's connection was dropped)."""
    rows = execute_read(session, _GRANTS_OF, {"uid": uid}).all()
    return Principal(uid=uid, grants=frozenset(Grant(role, scope) for role, scope in rows))


def touch_account(session: Session, uid: str) -> bool:
    """Make sure `uid` has an account row (one INSERT … ON CONFLICT DO NOTHING, no row lock on
    an existing account); True when it was created."""
    return insert_ignoring_conflicts(session, Account, [{"uid": _valid_uid(uid)}], ["uid"]) > 0
