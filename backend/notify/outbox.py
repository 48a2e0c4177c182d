"""Writing notifications into the outbox, inside the caller's transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.clock import utcnow
from backend.db import insert_construct
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


@functools.cache
def _insert_ignoring_key(store: str):  # noqa: ANN202
    """INSERT of a message … ON CONFLICT (dedupe_key) DO NOTHING, built once per store, sent
    with the messages as executemany parameters: without RETURNING neither store renders a
    batched statement per call (building and rendering one per booking cost more than
    sending it, in the booking rush's profile)."""
    return (insert_construct(store)(Notification.__table__)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]))


def enqueue(session: Session, messages: list[OutgoingMessage]) -> None:
    """Queue messages; one whose dedupe key is already queued is not queued again."""
    if not messages:
        return
    now = utcnow()
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
    session.execute(_insert_ignoring_key(session.get_bind().dialect.name), rows)


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
