"""Who is asking: the principal of a request, and the permission checks every domain uses.

Checks live here and are called by the domain functions themselves (not only by resolvers), so
the CLI, the REST helpers and GraphQL are all covered by the same rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.core.errors import DomainError


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


@dataclass(frozen=True)
class Grant:
    role: str  # staff | editor | admin
    scope: str  # window id (staff), region code (editor), "" (admin)


@dataclass(frozen=True)
class Principal:
    """A verified user (uid and grants), or anonymous (uid None). `token_problem` says why a
    token that was sent was refused: such a request is anonymous for public data, and told
    so when it asks for anything private."""

    uid: str | None
    grants: frozenset[Grant] = field(default_factory=frozenset)
    token_problem: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.uid is not None

    @property
    def is_admin(self) -> bool:
        return Grant("admin", "") in self.grants

    def staffed_windows(self) -> set[int]:
        return {int(grant.scope) for grant in self.grants if grant.role == "staff"}

    def edited_regions(self) -> set[str]:
        return {grant.scope for grant in self.grants if grant.role == "editor"}


ANONYMOUS = Principal(uid=None)


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
