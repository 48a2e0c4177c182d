"""Who is asking: the principal of a request (a verified uid and its grants), or anonymous."""

from __future__ import annotations

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
