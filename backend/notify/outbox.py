"""Writing notifications into the outbox, inside the caller's transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from backend.core.clock import utcnow
from backend.db import insert_construct, insert_ignoring_conflicts
from backend.notify.models import Notification

# Kinds of messages, stable: apps may switch on them.
BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_CHANGED = "booking_changed"
BOOKING_CANCELLED = "booking_cancelled"
REMINDER_24H = "reminder_24h"
REMINDER_1H = "reminder_1h"
# To the staff of a window: a resident booked, cancelled or moved one of today's appointments.
WINDOW_TODAY_CHANGED = "window_today_changed"
# To the staff of a window: a day with appointments booked became a holiday (calendar change).
WINDOW_HOLIDAY_BOOKED = "window_holiday_booked"
# To a resident who reported wrong place information (纠错): the editors fixed it or not.
PLACE_REPORT_RESOLVED = "place_report_resolved"
PLACE_REPORT_DISMISSED = "place_report_dismissed"
REMINDER_KINDS = (REMINDER_24H, REMINDER_1H)
# How long before the appointment each reminder is due (and so how long it stays worth pushing).
REMINDER_AHEAD = {REMINDER_24H: timedelta(hours=24), REMINDER_1H: timedelta(hours=1)}


@dataclass(frozen=True)
class OutgoingMessage:
    uid: str
    kind: str
    dedupe_key: str
    title: str
    body: str
    due_at: datetime
    appointment_id: int | None = None
    is_urgent: bool = False
    data: dict = field(default_factory=dict)


_COLUMNS = ("uid", "kind", "dedupe_key", "title", "body", "data", "appointment_id",
            "is_urgent", "due_at", "next_attempt_at", "status", "attempts", "created_at")
# Up to this many messages go as one prepared multi-row INSERT (a booking queues 1–3 and its
# window's staff); more go through the generic batched insert.
PREPARED_ROWS = 8


@functools.lru_cache(maxsize=2 * PREPARED_ROWS)
def _insert_rows(store: str, count: int):  # noqa: ANN202
    """INSERT of `count` messages … ON CONFLICT (dedupe_key) DO NOTHING, built once per store
    and count with bound parameters `<column>_<row>`: building and rendering the batched
    insert per booking cost more than sending it (the booking rush's profile)."""
    table = Notification.__table__
    rows = [{column: bindparam(f"{column}_{row}", type_=table.c[column].type)
             for column in _COLUMNS} for row in range(count)]
    return (insert_construct(store)(table).values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]))


def enqueue(session: Session, messages: list[OutgoingMessage]) -> int:
    """Queue messages; one whose dedupe key is already queued is not queued again. Returns
    how many were queued."""
    now = utcnow()
    if 0 < len(messages) <= PREPARED_ROWS:
        parameters = {}
        for row, message in enumerate(messages):
            parameters.update({
                f"uid_{row}": message.uid, f"kind_{row}": message.kind,
                f"dedupe_key_{row}": message.dedupe_key, f"title_{row}": message.title,
                f"body_{row}": message.body,
                f"data_{row}": {"kind": message.kind, **message.data},
                f"appointment_id_{row}": message.appointment_id,
                f"is_urgent_{row}": message.is_urgent, f"due_at_{row}": message.due_at,
                f"next_attempt_at_{row}": message.due_at, f"status_{row}": "pending",
                f"attempts_{row}": 0, f"created_at_{row}": now,
            })
        # One statement: its rowcount is the rows written on both stores.
        statement = _insert_rows(session.get_bind().dialect.name, len(messages))
        return session.execute(statement, parameters).rowcount
    rows = [
        {
            "uid": message.uid, "kind": message.kind, "dedupe_key": message.dedupe_key,
            "title": message.title, "body": message.body,
            "data": {"kind": message.kind, **message.data},
            "appointment_id": message.appointment_id, "is_urgent": message.is_urgent,
            "due_at": message.due_at, "next_attempt_at": message.due_at,
            "status": "pending", "attempts": 0, "created_at": now,
        }
        for message in messages
    ]
    return insert_ignoring_conflicts(session, Notification, rows, ["dedupe_key"])


def drop_pending_reminders(session: Session, appointment_id: int) -> int:
    """Reminders of an appointment that was cancelled or moved are not sent."""
    result = session.execute(
        update(Notification)
        .where(Notification.appointment_id == appointment_id,
               Notification.kind.in_(REMINDER_KINDS),
               Notification.status == "pending")
        .values(status="dropped", last_error="预约已取消或改期")
    )
    return result.rowcount
