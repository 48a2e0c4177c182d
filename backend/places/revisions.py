"""Revisions of places: every change (edit, archive, restore, items, import, revert) is one
row, written by the use case that makes the change, in its transaction. The changes are
[{field, old, new}] — Open Referral HSDS `metadata` (field_name, previous_value,
replacement_value), with who (uid), when and the source (console, cli, import:<file>)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.places.models import Place, PlaceRevision
from backend.places.permissions import require_place_editor

Change = dict  # {"field": str, "old": JSON value, "new": JSON value}


def record_revision(session: Session, *, place_id: int, version: int, action: str,
                    uid: str | None, source: str, changes: list[Change]) -> PlaceRevision:
    revision = PlaceRevision(place_id=place_id, version=version, action=action, uid=uid,
                             source=source[:200], changes=changes, created_at=utcnow())
    session.add(revision)
    session.flush()
    return revision


@dataclass(frozen=True)
class RevisionPage:
    revisions: list[PlaceRevision]
    has_next_page: bool
    has_previous_page: bool

    def cursor(self, revision: PlaceRevision) -> str:
        return encode_cursor({"o": "v", "i": revision.version})


def list_revisions(session: Session, place_id: int, first: int | None,
                   after: str | None) -> RevisionPage:
    """A place's revisions, newest first."""
    limit = validate_page_size(first)
    statement = select(PlaceRevision).where(PlaceRevision.place_id == place_id)
    if after is not None:
        statement = statement.where(PlaceRevision.version < decode_cursor(after, "v")["i"])
    rows = list(session.scalars(statement.order_by(PlaceRevision.version.desc())
                                .limit(limit + 1)))
    return RevisionPage(rows[:limit], len(rows) > limit, after is not None)


def revision_at(session: Session, place_id: int, version: int) -> PlaceRevision | None:
    return session.scalar(select(PlaceRevision).where(PlaceRevision.place_id == place_id,
                                                      PlaceRevision.version == version))


def place_revisions(session: Session, principal: Principal, place: Place, first: int | None,
                    after: str | None) -> RevisionPage:
    """Who changed what: editors of the place's region and admins."""
    require_place_editor(principal, place)
    return list_revisions(session, place.id, first, after)
