"""The outbox dispatcher: claims due notifications, pushes them through a provider, records
what happened (DESIGN.md §6 "Notifications").

Guarantees, with any number of workers on either store:
- A notification is claimed by one worker at a time: a claim is one UPDATE that sets a lease
  (PostgreSQL picks the rows with FOR UPDATE SKIP LOCKED; SQLite has one writer at a time).
  A claim counts as an attempt, so a message that kills its workers ends dead too.
- What was pushed is recorded per token (`notification_delivery`) right after each provider
  call; a retry pushes only to the tokens with no record. A worker killed mid-batch loses
  nothing: when its lease ends, another worker claims the notification and pushes what was not
  recorded. Only a push that left between the provider's answer and that record, or one FCM
  accepted after our request had timed out, can go twice (the collapse key makes the phone
  show it once).
- Transient failures are retried with exponential backoff and jitter, never sooner than the
  provider's Retry-After; after `max_attempts` claims the notification is dead with its error.
- Non-urgent notifications due in quiet hours wait for their end; reminders of an appointment
  that is no longer booked, or has begun, are dropped, and so is an event message of an
  appointment that has a newer one (it stays in the inbox, unpushed).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.booking.models import Appointment, Slot
from backend.config import Settings
from backend.core.clock import BUSINESS_TZ, as_utc, utcnow
from backend.db import insert_ignoring_conflicts, session_scope
from backend.notify import outbox
from backend.notify.devices import forget_tokens, prune_devices
from backend.notify.models import Delivery, Device, Notification
from backend.notify.providers.base import Outcome, PushMessage, PushProvider, PushResult

log = logging.getLogger("servicemap.notify")

NO_DEVICE = "没有已登记的推送设备"
STALE_REMINDER = "预约已开始、已取消或已改期，不再提醒"
SUPERSEDED = "同一预约已有更新的通知，不再推送"
MAX_ERROR_LENGTH = 1000


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """NOTIFY_QUIET_HOURS ("22:00-07:00", validated by Settings; "" for none) as times."""
    if not text:
        return None
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = Settings.notify_batch_size
    lease: timedelta = timedelta(seconds=Settings.notify_lease_seconds)
    max_attempts: int = Settings.notify_max_attempts
    retry_base: timedelta = timedelta(seconds=Settings.notify_retry_base_seconds)
    retry_max: timedelta = timedelta(seconds=Settings.notify_retry_max_seconds)
    # No provider call starts when less than this is left of the lease.
    send_margin: timedelta = timedelta(seconds=Settings.notify_http_timeout_seconds)
    quiet_hours: tuple[time, time] | None = parse_quiet_hours(Settings.notify_quiet_hours)
    device_ttl: timedelta = timedelta(days=Settings.notify_device_ttl_days)

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchPolicy:
        return cls(
            batch_size=settings.notify_batch_size,
            lease=timedelta(seconds=settings.notify_lease_seconds),
            max_attempts=settings.notify_max_attempts,
            retry_base=timedelta(seconds=settings.notify_retry_base_seconds),
            retry_max=timedelta(seconds=settings.notify_retry_max_seconds),
            send_margin=timedelta(seconds=settings.notify_http_timeout_seconds),
            quiet_hours=parse_quiet_hours(settings.notify_quiet_hours),
            device_ttl=timedelta(days=settings.notify_device_ttl_days),
        )

    def backoff(self, attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
        """Wait before the next attempt: base·2^(attempts-1) capped, half of it jittered
        (so workers that failed together do not retry together), at least Retry-After."""
        ceiling = min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_max)
        wait = ceiling / 2 + ceiling / 2 * rng.random()
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        return wait

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours `now` falls in (UTC), or None outside them."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = as_utc(now).astimezone(BUSINESS_TZ)
        clock = local.time()
        inside = (start <= clock < end) if start <= end else (clock >= start or clock < end)
        if not inside:
            return None
        day = local.date() if clock < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=BUSINESS_TZ).astimezone(UTC)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0            # notifications now sent
    retrying: int = 0        # put back for a later attempt
    dead: int = 0
    dropped: int = 0         # stale reminders
    deferred: int = 0        # quiet hours
    pushes: int = 0          # messages the provider accepted
    tokens_removed: int = 0
    lease_lost: int = 0      # results another worker's claim had overtaken

    def add(self, other: DispatchReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return ", ".join(f"{name} {getattr(self, name)}" for name in self.__dataclass_fields__)


@dataclass
class _Progress:
    """What one claim of one notification came to."""

    row: Notification
    sent_before: bool
    pushed: int = 0
    errors: list[str] = field(default_factory=list)
    retry: bool = False
    retry_after: float | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, session_factory: sessionmaker[Session], provider: PushProvider,
                 policy: DispatchPolicy | None = None, *, worker_id: str | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.session_factory = session_factory
        self.provider = provider
        self.policy = policy or DispatchPolicy()
        self.worker_id = worker_id or default_worker_id()
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch_size = min(self.policy.batch_size, provider.max_batch)

    # ---- loops -------------------------------------------------------------------------

    def run_once(self) -> DispatchReport:
        """Push everything that is due now, then return (`notify worker --once`)."""
        report = DispatchReport()
        report.tokens_removed += self.prune_devices()
        while (batch := self.dispatch_batch()).claimed:
            report.add(batch)
        return report

    def run(self, stop: threading.Event, poll_seconds: float = 2.0,
            prune_every: timedelta = timedelta(hours=1)) -> DispatchReport:
        """Until `stop` is set: claim and push; sleep `poll_seconds` when nothing is due."""
        report = DispatchReport()
        next_prune = self.clock()
        while not stop.is_set():
            if self.clock() >= next_prune:
                report.tokens_removed += self.prune_devices()
                next_prune = self.clock() + prune_every
            try:
                batch = self.dispatch_batch()
            except Exception:  # a database restart must not end the worker
                log.exception("dispatch failed; retrying in %.0f s", poll_seconds)
                stop.wait(poll_seconds)
                continue
            report.add(batch)
            if batch.claimed:
                log.info("dispatched: %s", batch)
            else:
                stop.wait(poll_seconds)
        return report

    def prune_devices(self) -> int:
        with session_scope(self.session_factory) as session:
            removed = prune_devices(session, self.policy.device_ttl, self.clock())
        if removed:
            log.info("pruned %d devices unseen for %s", removed, self.policy.device_ttl)
        return removed

    # ---- one batch ---------------------------------------------------------------------

    def dispatch_batch(self) -> DispatchReport:
        report = DispatchReport()
        now = self.clock()
        lease_until = now + self.policy.lease
        with session_scope(self.session_factory) as session:
            claimed = self._claim(session, now, lease_until)
        report.claimed = len(claimed)
        if not claimed:
            return report
        with session_scope(self.session_factory) as session:
            rows, devices, delivered = self._load(session, claimed)
            stale = self._stale_reminders(session, rows, now)
            superseded = self._superseded(session, rows)
        quiet_end = self.policy.quiet_until(now)
        deferred = [row for row in rows
                    if quiet_end is not None and not row.is_urgent
                    and row.id not in stale and row.id not in superseded]
        if stale or superseded or deferred:
            self._set_aside(stale, superseded, deferred, quiet_end, report)
        waiting = {row.id for row in deferred} | stale | superseded
        progress = {row.id: _Progress(row, sent_before=any(
                        status == "sent" for status in delivered[row.id].values()))
                    for row in rows if row.id not in waiting}
        messages = [
            self._message(row, device)
            for state in progress.values() for row in [state.row]
            for device in devices[row.uid] if device.token not in delivered[row.id]
        ]
        for start in range(0, len(messages), self.batch_size):
            chunk = messages[start:start + self.batch_size]
            if self.clock() + self.policy.send_margin >= lease_until:
                # Too little lease left for another call: these go back for a later claim.
                for message in chunk:
                    state = progress[message.notification_id]
                    state.retry = True
                    state.errors.append("租约将到期，留待下次发送")
                continue
            results = self._send(chunk)
            self._record(chunk, results, progress, report)
        self._finish(progress, report)
        return report

    def _claim(self, session: Session, now: datetime, lease_until: datetime) -> list[int]:
        due = (select(Notification.id)
               .where(Notification.status == "pending", Notification.next_attempt_at <= now,
                      or_(Notification.lease_until.is_(None), Notification.lease_until <= now))
               .order_by(Notification.next_attempt_at, Notification.id)
               .limit(self.batch_size))
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        claimed = session.scalars(
            update(Notification)
            .where(Notification.id.in_(due))
            .values(lease_owner=self.worker_id, lease_until=lease_until,
                    attempts=Notification.attempts + 1)
            .returning(Notification.id)
        ).all()
        return sorted(claimed)

    def _load(self, session: Session, ids: list[int]):  # noqa: ANN202
        rows = list(session.scalars(select(Notification).where(Notification.id.in_(ids))
                                    .order_by(Notification.id)))
        devices: dict[str, list[Device]] = defaultdict(list)
        for device in session.scalars(select(Device)
                                      .where(Device.uid.in_({row.uid for row in rows}))
                                      .order_by(Device.id)):
            devices[device.uid].append(device)
        delivered: dict[int, dict[str, str]] = defaultdict(dict)
        for notification_id, token, status in session.execute(
                select(Delivery.notification_id, Delivery.token, Delivery.status)
                .where(Delivery.notification_id.in_(ids))):
            delivered[notification_id][token] = status
        return rows, devices, delivered

    def _stale_reminders(self, session: Session, rows: list[Notification],
                         now: datetime) -> set[int]:
        reminders = {row.id: row.appointment_id for row in rows
                     if row.kind in outbox.REMINDER_KINDS}
        if not reminders:
            return set()
        current = {
            appointment_id
            for appointment_id, status, starts_at in session.execute(
                select(Appointment.id, Appointment.status, Slot.starts_at)
                .join(Slot, Slot.id == Appointment.slot_id)
                .where(Appointment.id.in_({key for key in reminders.values() if key})))
            if status == "booked" and as_utc(starts_at) > now
        }
        return {row_id for row_id, appointment_id in reminders.items()
                if appointment_id not in current}

    def _superseded(self, session: Session, rows: list[Notification]) -> set[int]:
        """Event messages (not reminders) of an appointment that has a newer event message to
        the same user: a confirmation held back by quiet hours must not reach the phone after
        the cancellation that followed it."""
        events = {row.id: (row.appointment_id, row.uid) for row in rows
                  if row.appointment_id and row.kind not in outbox.REMINDER_KINDS}
        if not events:
            return set()
        newest = {(appointment_id, uid): newest_id for appointment_id, uid, newest_id in
                  session.execute(
                      select(Notification.appointment_id, Notification.uid,
                             func.max(Notification.id))
                      .where(Notification.appointment_id.in_(
                                 {key for key, _ in events.values()}),
                             Notification.kind.not_in(outbox.REMINDER_KINDS))
                      .group_by(Notification.appointment_id, Notification.uid))}
        return {row_id for row_id, key in events.items() if newest.get(key, row_id) > row_id}

    def _set_aside(self, stale: set[int], superseded: set[int], deferred: list[Notification],
                   quiet_end: datetime | None, report: DispatchReport) -> None:
        mine = (Notification.lease_owner == self.worker_id, Notification.status == "pending")
        with session_scope(self.session_factory) as session:
            for ids, reason in ((stale, STALE_REMINDER), (superseded, SUPERSEDED)):
                if ids:
                    report.dropped += session.execute(
                        update(Notification).where(Notification.id.in_(ids), *mine)
                        .values(status="dropped", last_error=reason, lease_owner=None,
                                lease_until=None)).rowcount
            if deferred:
                # Waiting out quiet hours is not an attempt.
                report.deferred += session.execute(
                    update(Notification)
                    .where(Notification.id.in_([row.id for row in deferred]), *mine)
                    .values(next_attempt_at=quiet_end, attempts=Notification.attempts - 1,
                            lease_owner=None, lease_until=None)).rowcount

    def _message(self, row: Notification, device: Device) -> PushMessage:
        ahead = outbox.REMINDER_AHEAD.get(row.kind)
        return PushMessage(
            notification_id=row.id, token=device.token, platform=device.platform,
            title=row.title, body=row.body,
            data={str(key): str(value) for key, value in (row.data or {}).items()},
            collapse_key=(f"appointment-{row.appointment_id}" if row.appointment_id
                          else f"notification-{row.id}"),
            ttl=None if ahead is None else as_utc(row.due_at) + ahead - self.clock(),
            high_priority=row.is_urgent or row.kind == outbox.REMINDER_1H,
        )

    def _send(self, chunk: list[PushMessage]) -> list[PushResult]:
        try:
            results = self.provider.send(chunk)
        except Exception as error:  # nothing is known to have gone out: all are retried
            log.warning("push provider %s failed: %r", self.provider.name, error)
            failure = PushResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")
            return [failure] * len(chunk)
        if len(results) != len(chunk):
            raise RuntimeError(f"provider {self.provider.name} answered {len(results)} results "
                               f"for {len(chunk)} messages")
        return results

    def _record(self, chunk: list[PushMessage], results: list[PushResult],
                progress: dict[int, _Progress], report: DispatchReport) -> None:
        """Write down at once what this call did, whoever holds the lease now: a recorded
        push is never pushed again."""
        now = self.clock()
        records, gone = [], []
        for message, result in zip(chunk, results, strict=True):
            state = progress[message.notification_id]
            if result.outcome is Outcome.SENT:
                state.pushed += 1
                report.pushes += 1
            elif result.outcome is Outcome.RETRY:
                state.retry = True
                state.errors.append(_short(result.error))
                if result.retry_after is not None:
                    state.retry_after = max(state.retry_after or 0.0, result.retry_after)
                continue
            else:
                state.errors.append(_short(result.error))
                if result.outcome is Outcome.TOKEN_GONE:
                    gone.append(message.token)
            records.append({
                "notification_id": message.notification_id, "token": message.token,
                "platform": message.platform,
                "status": "sent" if result.outcome is Outcome.SENT else "failed",
                "provider_message_id": result.message_id,
                "error": None if result.outcome is Outcome.SENT else _short(result.error),
                "at": now,
            })
        with session_scope(self.session_factory) as session:
            insert_ignoring_conflicts(session, Delivery, records, ["notification_id", "token"])
            report.tokens_removed += forget_tokens(session, sorted(set(gone)))

    def _finish(self, progress: dict[int, _Progress], report: DispatchReport) -> None:
        if not progress:
            return
        now = self.clock()
        changes = []
        for state in progress.values():
            row, any_sent = state.row, state.sent_before or state.pushed > 0
            error = "; ".join(dict.fromkeys(state.errors))[:MAX_ERROR_LENGTH] or None
            change = {"row_id": row.id, "next_at": row.next_attempt_at, "sent_at": None,
                      "error": error}
            if state.retry and row.attempts < self.policy.max_attempts:
                change.update(status="pending", next_at=now + self.policy.backoff(
                    row.attempts, state.retry_after, self.rng))
                report.retrying += 1
            elif any_sent:
                change.update(status="sent", sent_at=now)
                report.sent += 1
            else:
                if state.retry:
                    error = f"{row.attempts} 次尝试后放弃：{error}"[:MAX_ERROR_LENGTH]
                # Nothing left to push to: the error that got it here, else "no device".
                change.update(status="dead", error=error or row.last_error or NO_DEVICE)
                report.dead += 1
            changes.append(change)
        table = Notification.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.status == "pending",
                   table.c.lease_owner == self.worker_id)
            .values(status=bindparam("status"), next_attempt_at=bindparam("next_at"),
                    sent_at=bindparam("sent_at"), last_error=bindparam("error"),
                    lease_owner=None, lease_until=None)
        )
        with session_scope(self.session_factory) as session:
            updated = session.connection().execute(statement, changes).rowcount
        if updated != len(changes):
            # Our lease ran out and another worker claimed some of these: its results stand.
            report.lease_lost += len(changes) - max(updated, 0)
            log.warning("lease of %s ran out before %d results were written",
                        self.worker_id, len(changes) - max(updated, 0))


def _short(text: str | None) -> str:
    return (text or "未知错误")[:MAX_ERROR_LENGTH]
