"""SQLite's writers queued in the process (backend/db.py WriterQueue, SQLITE_WRITE_QUEUE): a
rush of real threads through the API on a SQLite file goes through the queue one write
transaction at a time, with no overbooking and no outbox row lost or written twice; the queue
is left on commit, rollback, a failed write and an autocommit write, and never makes a thread
wait for itself."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from backend.booking.models import ACTIVE_STATUSES, Appointment, Slot
from backend.config import ConfigError, Settings
from backend.db import WriterQueue, make_engine, writer_queue
from backend.notify.models import Notification
from tests.booking.test_concurrency import (
    BOOK,
    add_slot_at,
    call,
    headers_for,
    outcomes,
    together,
)

SLOTS = 4
CAPACITY = 3
RESIDENTS = 24


class _Watched:
    """Counts the turns taken in a queue and the most holders it ever had at once."""

    def __init__(self, queue: WriterQueue) -> None:
        self.queue, self.turns, self.holding, self.most = queue, 0, 0, 0
        self._lock = threading.Lock()
        self._enter, self._leave = queue.enter, queue.leave

    def enter(self) -> bool:
        entered = self._enter()
        if entered:
            with self._lock:
                self.turns += 1
                self.holding += 1
                self.most = max(self.most, self.holding)
        return entered

    def leave(self) -> None:
        with self._lock:
            self.holding -= 1
        self._leave()


def test_rush__threads_through_the_api__one_writer_at_a_time_no_overbooking_no_lost_outbox(
        world, monkeypatch):
    engine = world.services.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the writer queue is SQLite's")
    world.gql("{ me { uid } }", uid="warm-up")  # token certificates fetched before the rush
    queue = writer_queue(str(Path(engine.url.database).resolve()))
    watched = _Watched(queue)
    monkeypatch.setattr(queue, "enter", watched.enter)
    monkeypatch.setattr(queue, "leave", watched.leave)
    # given: 4 slots of 3 places (12 places) and 24 residents, each booking one slot
    slots = [add_slot_at(world, world.window_a1, 180 + 30 * n, CAPACITY, minutes=30)
             for n in range(SLOTS)]
    uids = [f"queue-{n:02d}" for n in range(RESIDENTS)]
    headers = headers_for(world, uids)

    # when: all of them book at once, each from a thread of its own
    answers = together(world.app, [
        partial(call, query=BOOK, variables={"slot": str(slots[n % SLOTS]),
                                             "item": str(world.item), "key": f"key-{uid}"},
                headers=headers[uid], field="bookAppointment")
        for n, uid in enumerate(uids)])

    # then: every place taken once, the others SLOT_FULL, nothing else
    assert outcomes(answers) == {"ok": SLOTS * CAPACITY,
                                 "SLOT_FULL": RESIDENTS - SLOTS * CAPACITY}
    booked = {answer.appointment_id for answer in answers if answer.outcome == "ok"}
    with world.session() as session:
        for slot_id in slots:
            slot = session.get(Slot, slot_id)
            active = session.scalar(select(func.count()).select_from(Appointment).where(
                Appointment.slot_id == slot_id, Appointment.status.in_(ACTIVE_STATUSES)))
            assert (slot.booked, active) == (CAPACITY, CAPACITY)
        rows = set(session.scalars(select(Appointment.id).where(Appointment.slot_id.in_(slots))))
        assert rows == booked
        # the outbox: one confirmation per appointment, and the same messages for each (the
        # slots are on one day: the same reminders are due), none twice
        per_appointment = Counter(session.scalars(select(Notification.appointment_id).where(
            Notification.appointment_id.in_(rows))))
        kinds = Counter(session.scalars(select(Notification.kind).where(
            Notification.appointment_id.in_(rows))))
    assert set(per_appointment) == rows
    assert len(set(per_appointment.values())) == 1
    assert kinds["booking_confirmed"] == len(rows)
    # and the writes went through the queue, one transaction at a time: each booking's (and
    # each refusal's: the resident's lock is a write) at least
    assert watched.turns >= RESIDENTS
    assert watched.most == 1
    assert watched.holding == 0


@pytest.fixture
def queued_engine(tmp_path):  # noqa: ANN201
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield engine, writer_queue(str((tmp_path / "queue.sqlite3").resolve()))
    engine.dispose()


def _free(queue: WriterQueue) -> bool:
    """Whether another thread would get the queue at once."""
    result = []
    thread = threading.Thread(target=lambda: result.append(queue._lock.acquire(blocking=False)))
    thread.start()
    thread.join()
    if result[0]:
        queue._lock.release()
    return result[0]


def test_queue__held_from_the_first_write_to_commit_or_rollback(queued_engine):
    engine, queue = queued_engine
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM t"))
        assert _free(queue)  # reads do not queue
        connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert not _free(queue)
        connection.execute(text("INSERT INTO t (v) VALUES ('b')"))
        connection.commit()
        assert _free(queue)
        connection.execute(text("UPDATE t SET v = 'c'"))
        assert not _free(queue)
        connection.rollback()
        assert _free(queue)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT group_concat(v) FROM t")).scalar() == "a,b"


def test_queue__failed_write_then_rollback__left(queued_engine):
    engine, queue = queued_engine
    with engine.connect() as connection:
        with pytest.raises(Exception, match="NOT NULL"):
            connection.execute(text("INSERT INTO t (v) VALUES (NULL)"))
        connection.rollback()
        assert _free(queue)


def test_queue__connection_returned_to_the_pool_mid_transaction__left(queued_engine):
    engine, queue = queued_engine
    connection = engine.connect()
    connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
    assert not _free(queue)
    connection.close()  # the pool rolls it back
    assert _free(queue)


def test_queue__autocommit_write__left_at_once(queued_engine):
    engine, queue = queued_engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert _free(queue)


def test_queue__same_thread_second_connection__does_not_wait_for_itself():
    queue = WriterQueue(timeout=60)
    assert queue.enter() is True
    assert queue.enter() is False  # not queued: SQLite's own lock decides, as without a queue
    queue.leave()
    assert _free(queue)


def test_queue__not_moving__writer_goes_ahead_without_it():
    queue = WriterQueue(timeout=0.01)
    assert queue.enter() is True
    other = []
    thread = threading.Thread(target=lambda: other.append(queue.enter()))
    thread.start()
    thread.join()
    assert other == [False]
    queue.leave()


def test_setting__off__plain_sqlite_connections(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}", sqlite_write_queue=False)
    with engine.connect() as connection:
        assert type(connection.connection.dbapi_connection) is sqlite3.Connection
    engine.dispose()
    assert Settings.from_env({"SQLITE_WRITE_QUEUE": "0"}).sqlite_write_queue is False
    assert Settings.from_env({}).sqlite_write_queue is True
    with pytest.raises(ConfigError, match="SQLITE_WRITE_QUEUE"):
        Settings.from_env({"SQLITE_WRITE_QUEUE": "yes please"})


def test_queue__forked_child__has_its_own_turn():
    """gunicorn forks its workers from the preloaded app: a turn the parent's thread holds at
    the fork is no thread's in the child."""
    queue = writer_queue("/nonexistent/forked.sqlite3")
    assert queue.enter() is True
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reports whether it gets the turn at once, then leaves
        got = queue._lock.acquire(blocking=False)
        os.write(write, b"1" if got else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    queue.leave()
    assert answer == b"1"
