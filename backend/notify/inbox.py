"""The resident's inbox: every notification that is due, pushed or not, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.core.clock import as_utc, utcnow
from backend.core.errors import InvalidInput
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.notify.errors import NotifyError
from backend.notify.models import Notification
from backend.notify.outbox import REMINDER_KINDS
from backend.notify.permissions import require_recipient

MAX_MARK_READ = 100
CURSOR_ORDER = "n"


@dataclass(frozen=True)
class InboxPage:
    rows: list[Notification]
    has_next_page: bool
    has_previous_page: bool
    unread_count: int

    @staticmethod
    def cursor(row: Notification) -> str:
        return encode_cursor({"o": CURSOR_ORDER, "i": row.id,
                              "t": as_utc(row.due_at).isoformat()})


def _visible(uid: str, now: datetime) -> tuple:
    """A notification is in the inbox from its due time; a dropped reminder (its appointment
    was cancelled or moved first) never is. A dropped event message (not pushed because a newer
    one superseded it) is: it is part of the appointment's history."""
    return (Notification.uid == uid, Notification.due_at <= now,
            or_(Notification.status != "dropped", Notification.kind.not_in(REMINDER_KINDS)))


def _after(cursor: str) -> tuple[datetime, int]:
    key = decode_cursor(cursor, CURSOR_ORDER)
    try:
        due = datetime.fromisoformat(key["t"])
        if due.tzinfo is None:
            raise ValueError("cursor time without offset")
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput("after 游标无效：请使用上一页返回的 cursor", "after") from error
    return as_utc(due), key["i"]


def inbox_page(session: Session, principal: Principal, *, first: int | None = None,
               after: str | None = None, unread_only: bool = False,
               now: datetime | None = None) -> InboxPage:
    uid = require_recipient(principal)
    limit = validate_page_size(first)
    now = now or utcnow()
    conditions = list(_visible(uid, now))
    if unread_only:
        conditions.append(Notification.read_at.is_(None))
    if after is not None:
        due, row_id = _after(after)
        conditions.append(or_(Notification.due_at < due,
                              and_(Notification.due_at == due, Notification.id < row_id)))
    rows = list(session.scalars(
        select(Notification).where(*conditions)
        .order_by(Notification.due_at.desc(), Notification.id.desc()).limit(limit + 1)))
    return InboxPage(rows[:limit], has_next_page=len(rows) > limit,
                     has_previous_page=after is not None,
                     unread_count=unread_count(session, uid, now))


def unread_count(session: Session, uid: str, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(*_visible(uid, now), Notification.read_at.is_(None)))


@transactional
def mark_read(uow: UnitOfWork, principal: Principal, ids: list[int],
              now: datetime | None = None) -> tuple[list[Notification], int]:
    """Mark the caller's notifications read (all or none); already read ones keep their time.
    Returns them and the caller's unread count after."""
    session = uow.session
    uid = require_recipient(principal)
    now = now or utcnow()
    if not 1 <= len(ids) <= MAX_MARK_READ:
        raise NotifyError("INVALID_INPUT", f"一次可标记 1–{MAX_MARK_READ} 条消息", "ids")
    wanted = sorted(set(ids))
    rows = list(session.scalars(select(Notification)
                                .where(Notification.id.in_(wanted), *_visible(uid, now))
                                .order_by(Notification.id)))
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {row.id for row in rows})
        raise NotifyError("NOT_FOUND", f"未找到消息：{', '.join(map(str, missing))}", "ids")
    # The ORM applies the same change to `rows` it has loaded (synchronize_session).
    session.execute(update(Notification)
                    .where(Notification.id.in_(wanted), Notification.read_at.is_(None))
                    .values(read_at=now))
    return rows, unread_count(session, uid, now)
