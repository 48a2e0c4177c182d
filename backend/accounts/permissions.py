"""The checks every domain's permissions are made of: signed in, staff of a window, editor of
a region, admin. Each domain states its own rules with them (`<domain>/permissions.py`)."""

from __future__ import annotations

from collections.abc import Iterable

from backend.accounts.principal import Forbidden, Principal, Unauthenticated


def require_user(principal: Principal) -> str:
    """The uid of a signed-in user, or UNAUTHENTICATED."""
    if principal.uid is None:
        raise Unauthenticated(principal.token_problem or "请先登录")
    return principal.uid


def is_window_staff(principal: Principal, window_id: int) -> bool:
    return principal.is_admin or window_id in principal.staffed_windows()


def require_window_staff(principal: Principal, window_id: int) -> str:
    """Staff of this window (or an admin); UNAUTHENTICATED / FORBIDDEN otherwise."""
    uid = require_user(principal)
    if not is_window_staff(principal, window_id):
        raise Forbidden("无权管理该窗口")
    return uid


def require_admin(principal: Principal) -> str:
    uid = require_user(principal)
    if not principal.is_admin:
        raise Forbidden("需要管理员权限")
    return uid


def region_covers(scope_code: str, code: str) -> bool:
    """Whether an editor of `scope_code` edits `code`: a province covers its cities and
    counties, a city its counties (adcodes share the leading digits of their parents)."""
    prefix = scope_code
    for _ in range(2):
        if prefix.endswith("00"):
            prefix = prefix[:-2]
    return code.startswith(prefix)


def is_region_editor(principal: Principal, region_codes: Iterable[str | None]) -> bool:
    if principal.is_admin:
        return True
    codes = [code for code in region_codes if code]
    return any(region_covers(scope, code)
               for scope in principal.edited_regions() for code in codes)


def require_region_editor(principal: Principal, region_codes: Iterable[str | None]) -> str:
    """An editor of a region holding the place (or an admin)."""
    uid = require_user(principal)
    if not is_region_editor(principal, region_codes):
        raise Forbidden("无权编辑该地区的内容")
    return uid
