"""The dispatcher under load and concurrency, through the real firebase-admin against the fake
FCM server, on both stores: random faults with two workers at once, a race of two workers, a
worker killed mid-batch (a real `flask notify worker` process), and a lease held by a live
worker. The oracle is what the fake FCM answered, compared with what the outbox recorded."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from backend.core.clock import utcnow
from backend.notify.dispatcher import Dispatcher, DispatchPolicy, DispatchReport
from backend.notify.models import Delivery, Device, Notification
from backend.notify.providers.base import Outcome, PushMessage, PushProvider, PushResult
from tests.booking.conftest import World
from tests.notify.fake_fcm import (
    INTERNAL,
    INVALID_ARGUMENT,
    OK,
    SENDER_ID_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    FakeFcm,
    Received,
    Reply,
    quota_exceeded,
    slow,
)

# firebase-admin 7.7 deprecates Message.token (for Message.fid); the provider still uses it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Message.token is deprecated:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("android", "ios", "web")
# Answers that end a (notification, token) pair for good: a `failed` delivery row.
PERMANENT_CODES = {reply.error_code for reply in (UNREGISTERED, SENDER_ID_MISMATCH,
                                                  INVALID_ARGUMENT)}
GONE_CODES = {UNREGISTERED.error_code, SENDER_ID_MISMATCH.error_code}


# -- helpers ----------------------------------------------------------------------------------


def _policy(**overrides) -> DispatchPolicy:  # noqa: ANN003
    values = {"batch_size": 200, "lease": timedelta(seconds=60), "max_attempts": 6,
              "retry_base": timedelta(0), "retry_max": timedelta(0),
              "send_margin": timedelta(seconds=2), "quiet_hours": None}
    return DispatchPolicy(**{**values, **overrides})


def _seed(world: World, devices: dict[str, list[str]], owners: list[str]) -> list[int]:
    """Devices (uid -> tokens, platforms in turn) and one notification per entry of `owners`
    (its uid), all due now; returns the notification ids in the order of `owners`."""
    now = utcnow()
    device_rows = [{"token": token, "uid": uid, "platform": PLATFORMS[n % len(PLATFORMS)],
                    "created_at": now, "last_seen_at": now}
                   for n, (uid, tokens) in enumerate(devices.items()) for token in tokens]
    notification_rows = [
        {"uid": uid, "kind": "booking_confirmed", "dedupe_key": f"concurrency-{n:05d}",
         "title": "预约成功", "body": f"西湖区政务服务中心，第 {n} 号", "data":
         {"kind": "booking_confirmed"}, "due_at": now, "next_attempt_at": now,
         "is_urgent": False, "status": "pending", "attempts": 0, "created_at": now}
        for n, uid in enumerate(owners)
    ]
    with world.session() as session:
        if device_rows:
            session.execute(insert(Device), device_rows)
        session.execute(insert(Notification), notification_rows)
    with world.session() as session:
        ids = dict(session.execute(select(Notification.dedupe_key, Notification.id)).all())
    return [ids[f"concurrency-{n:05d}"] for n in range(len(owners))]


def _rows(world: World) -> dict[int, Notification]:
    with world.session() as session:
        return {row.id: row for row in session.scalars(select(Notification))}


def _deliveries(world: World) -> list[Delivery]:
    with world.session() as session:
        return list(session.scalars(select(Delivery)))


def _pending(world: World) -> int:
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.status == "pending"))


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _notification_id(received: Received) -> int:
    return int(received.message["data"]["notificationId"])


def _oks_by_notification(fake: FakeFcm) -> Counter[int]:
    return Counter(_notification_id(r) for r in fake.requests if r.reply.ok)


def _wait_for(condition: Callable[[], bool], timeout: float,
              what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            what = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def _drain(world: World, dispatcher: Dispatcher, max_rounds: int = 2000) -> DispatchReport:
    """run_once() until no notification is pending (the other worker may hold the rest)."""
    total = DispatchReport()
    for _ in range(max_rounds):
        if _pending(world) == 0:
            return total
        report = dispatcher.run_once()
        total.add(report)
        if not report.claimed:
            time.sleep(0.02)
    raise AssertionError(f"{dispatcher.worker_id}: still {_pending(world)} pending after "
                         f"{max_rounds} rounds ({total})")


def _in_threads(*jobs: Callable[[], DispatchReport]) -> list[DispatchReport]:
    """Runs the jobs at once, each in its own thread; re-raises a job's exception."""
    barrier = threading.Barrier(len(jobs))

    def start(job: Callable[[], DispatchReport]) -> DispatchReport:
        barrier.wait(timeout=30)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(start, job) for job in jobs]
        return [future.result(timeout=150) for future in futures]


class FaultInjector:
    """A fake FCM `script`: a seeded random choice of replies (thread-safe), counting the
    slow ones it hands out (the fake records those only after their delay)."""

    def __init__(self, seed: int, weighted: list[tuple[Reply, int]]) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._replies = [reply for reply, _ in weighted]
        self._weights = [weight for _, weight in weighted]
        self.slow = 0

    def __call__(self, message: dict) -> Reply:
        with self._lock:
            reply = self._rng.choices(self._replies, self._weights)[0]
            if reply.delay:
                self.slow += 1
        return reply


class Aborted(BaseException):
    """Out of time: a BaseException, so that the dispatcher does not take it for a failed
    push (and retry it forever), but ends run_once() with it."""


class Recording:
    """The provider as the dispatcher sees it: it passes every call on and keeps each message
    with the result the dispatcher got back (None: the call raised). After `seconds` it
    raises Aborted instead: a dispatcher that never ends fails the test, not hangs it."""

    def __init__(self, provider: PushProvider, seconds: float = 90) -> None:
        self.provider = provider
        self.name, self.max_batch = provider.name, provider.max_batch
        self.deadline = time.monotonic() + seconds
        self._lock = threading.Lock()
        self.seen: list[tuple[PushMessage, PushResult | None]] = []

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        if time.monotonic() > self.deadline:
            raise Aborted(f"still sending after the deadline ({len(self.seen)} pushes)")
        try:
            results = self.provider.send(messages)
        except Exception:
            with self._lock:
                self.seen.extend((message, None) for message in messages)
            raise
        with self._lock:
            self.seen.extend(zip(messages, results, strict=True))
        return results

    def close(self) -> None:
        self.provider.close()


# -- 1. random faults, two workers ------------------------------------------------------------


def test_dispatch__1200_notifications_with_random_faults__each_sent_once_or_dead_with_reason(
        world: World, fake_fcm: FakeFcm, fcm_provider, fcm_settings: dict):
    rng = random.Random(20240601)
    timeout = fcm_settings["notify_http_timeout_seconds"]
    max_attempts = 6
    users = [f"user-{n:03d}" for n in range(400)]
    devices = {uid: [f"tok-{uid}-{k}" for k in range(1 + (rng.random() < 0.3))] for uid in users}
    all_tokens = [token for tokens in devices.values() for token in tokens]
    special = rng.sample(all_tokens, 45)
    unregistered, mismatch, unavailable = special[:20], special[20:30], special[30:]
    for token in unregistered:
        fake_fcm.always(token, UNREGISTERED)
    for token in mismatch:
        fake_fcm.always(token, SENDER_ID_MISMATCH)
    for token in unavailable:  # never accepted: its notifications exhaust their attempts
        fake_fcm.always(token, UNAVAILABLE)
    gone = set(unregistered) | set(mismatch)
    # Per mille. A slow answer outlasts the client's timeout (DeadlineExceededError): rare,
    # since every call of up to 200 pushes with one of them waits the whole timeout.
    injector = FaultInjector(7, [(OK, 725), (INTERNAL, 80), (UNAVAILABLE, 80),
                                 (quota_exceeded(0), 60), (slow(3), 15),
                                 (INVALID_ARGUMENT, 40)])
    fake_fcm.script = injector
    owners = [users[n % len(users)] for n in range(1200)]
    ids = _seed(world, devices, owners)
    owner_of = dict(zip(ids, owners, strict=True))
    provider = Recording(fcm_provider)
    policy = _policy(max_attempts=max_attempts)
    workers = [Dispatcher(world.services.session_factory, provider, policy,
                          worker_id=f"worker-{n}", rng=random.Random(n)) for n in (1, 2)]

    # when
    reports = _in_threads(*[lambda worker=worker: _drain(world, worker) for worker in workers])

    # then: the replies delayed past the client's timeout are recorded by the fake late
    _wait_for(lambda: sum(1 for r in fake_fcm.requests if r.reply.delay) == injector.slow,
              timeout=3 * timeout, what="the fake to answer its slow requests")
    requests = fake_fcm.requests
    rows = _rows(world)
    deliveries = _deliveries(world)
    # What FCM answered, and what the dispatcher saw, per (notification, token).
    answered: dict[tuple[int, str], list[Reply]] = defaultdict(list)
    ok_names: dict[tuple[int, str], set[str]] = defaultdict(set)
    for received in requests:
        pair = (_notification_id(received), received.token)
        answered[pair].append(received.reply)
        if received.reply.ok:
            ok_names[pair].add(received.name)
    seen: dict[tuple[int, str], list[PushResult | None]] = defaultdict(list)
    for message, result in provider.seen:
        seen[(message.notification_id, message.token)].append(result)

    def timed_out(result: PushResult | None) -> bool:  # FCM may or may not have taken it
        return result is None or (result.error or "").startswith("DeadlineExceededError")

    def final(result: PushResult | None) -> bool:  # recorded: never pushed again
        return result is not None and result.outcome is not Outcome.RETRY

    accepted = {pair: {r.message_id for r in results if r and r.outcome is Outcome.SENT}
                for pair, results in seen.items()}
    timeouts = {pair: sum(map(timed_out, results)) for pair, results in seen.items()}

    # every notification ended, within its attempts, its lease released
    assert sorted(rows) == sorted(ids)
    assert Counter(row.status for row in rows.values()).keys() <= {"sent", "dead"}
    assert [row.id for row in rows.values() if row.lease_owner or row.lease_until] == []
    assert all(1 <= row.attempts <= max_attempts for row in rows.values())

    # the provider saw FCM's answers: one result per request; every slow answer a timeout
    assert answered.keys() == seen.keys()
    assert [p for p in seen if len(seen[p]) != len(answered[p])] == []
    assert [p for p in seen if sum(r.delay >= timeout for r in answered[p]) > timeouts[p]] == []
    assert [p for p in seen if not accepted[p] <= ok_names[p]] == []
    spurious = sum(timeouts.values()) - injector.slow  # answers late for want of CPU, not slow

    # nothing is pushed again once its result is recorded (sent or failed for good)
    assert [p for p, results in seen.items()
            if [n for n, r in enumerate(results) if final(r)] not in ([], [len(results) - 1])
            ] == []
    # no double send on our account: an OK the dispatcher saw is the only one; more than one
    # OK at FCM only where an answer came after our timeout
    assert [p for p in seen if len(accepted[p]) > 1] == []
    assert [p for p in seen if len(ok_names[p] - accepted[p]) > timeouts[p]] == []
    twice = [p for p in seen if len(ok_names[p]) > 1]

    # the delivery rows are exactly what FCM answered and the dispatcher saw
    sent_rows = {(d.notification_id, d.token, d.provider_message_id)
                 for d in deliveries if d.status == "sent"}
    assert sent_rows == {(*p, name) for p, names in accepted.items() for name in names}
    failed_rows = {(d.notification_id, d.token) for d in deliveries if d.status == "failed"}
    assert failed_rows == {p for p, results in seen.items()
                           if any(r and r.outcome in (Outcome.TOKEN_GONE, Outcome.REJECTED)
                                  for r in results)}
    assert all(p in failed_rows for p, replies in answered.items()
               if any(r.error_code in PERMANENT_CODES for r in replies) and not timeouts[p])
    assert all(d.error for d in deliveries if d.status == "failed")
    assert all(d.platform == PLATFORMS[users.index(owner_of[d.notification_id]) % 3]
               for d in deliveries)

    # sent: each live token of the user got it exactly once, unless the attempts ran out
    oks = {pair: len(names) for pair, names in accepted.items()}
    short = []
    for row in rows.values():
        tokens = [t for t in devices[row.uid] if t not in gone]
        if row.status == "sent":
            assert any(oks.get((row.id, t)) for t in devices[row.uid]), row.id
            for token in tokens:
                if (row.id, token) in failed_rows:
                    continue
                if oks.get((row.id, token), 0) != 1:
                    assert oks.get((row.id, token), 0) == 0, (row.id, token)
                    assert row.attempts == max_attempts, (row.id, token, row.attempts)
                    short.append((row.id, token))
        else:
            assert row.last_error, row.id
            assert not any(oks.get((row.id, t)) for t in devices[row.uid]), row.id
            assert not any(ok_names[(row.id, t)] for t in devices[row.uid]
                           if not timeouts.get((row.id, t))), row.id
            if any((row.id, token) not in failed_rows for token in tokens):
                assert row.attempts == max_attempts, (row.id, row.attempts, row.last_error)
                assert row.last_error.startswith(f"{max_attempts} 次尝试后放弃"), row.last_error

    # the always-UNAVAILABLE tokens: a user with only that token never gets it (dead after
    # the last attempt); a user with another token gets it there, the notification sent
    for token in unavailable:
        for notification_id in (n for n, uid in owner_of.items() if token in devices[uid]):
            row = rows[notification_id]
            assert row.attempts == max_attempts
            assert answered[(row.id, token)] == [UNAVAILABLE] * max_attempts
            if devices[row.uid] == [token]:
                assert row.status == "dead"
                assert "UnavailableError" in row.last_error
    assert {(n, t) for n, t in short if t in unavailable} == {
        (n, t) for n, uid in owner_of.items() for t in devices[uid]
        if t in unavailable and rows[n].status == "sent"}
    assert any(t in unavailable for _, t in short)

    # dead or mismatched tokens are forgotten; no other device is
    with world.session() as session:
        remaining = set(session.scalars(select(Device.token)))
    assert remaining == set(all_tokens) - gone
    assert {r.token for r in requests if r.reply.error_code in GONE_CODES} == gone

    # the workers' reports add up to what happened
    total = DispatchReport()
    for report in reports:
        total.add(report)
    assert all(report.claimed > 0 for report in reports)
    assert total.claimed == sum(row.attempts for row in rows.values())
    assert total.pushes == len(sent_rows)
    assert total.sent == sum(row.status == "sent" for row in rows.values())
    assert total.dead == sum(row.status == "dead" for row in rows.values())
    assert total.tokens_removed == len(gone)
    assert total.lease_lost == 0 and total.dropped == 0 and total.deferred == 0

    # every kind of fault was exercised
    kinds = Counter((r.reply.status, r.reply.delay > 0) for r in requests)
    assert all(kinds[key] > 0 for key in [(200, False), (200, True), (400, False),
                                          (403, False), (404, False), (429, False),
                                          (500, False), (503, False)]), kinds
    assert injector.slow > 0 and twice
    dead_random = [row.id for row in rows.values() if row.status == "dead"
                   and not set(devices[row.uid]) & set(unavailable)]
    assert dead_random, "no notification died of a permanent failure"
    print(f"\n{len(requests)} requests, {kinds}; slow answers: {injector.slow}, other "
          f"timeouts: {spurious}, pushes taken twice by FCM: {len(twice)}; dead: {total.dead};"
          f" reports: {reports}")


# -- 2. two workers racing --------------------------------------------------------------------


def test_dispatch__two_workers_at_once__never_double_send(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    users = [f"racer-{n:03d}" for n in range(600)]
    ids = _seed(world, {uid: [f"tok-{uid}"] for uid in users}, users)
    fake_fcm.script = lambda message: slow(0.01)
    # Batches of 50: twelve claims to share, so that the workers interleave on SQLite too.
    policy = _policy(batch_size=50)
    workers = [Dispatcher(world.services.session_factory, fcm_provider, policy,
                          worker_id=f"racer-{n}") for n in (1, 2)]

    # when
    reports = _in_threads(*[worker.run_once for worker in workers])

    # then
    requests = fake_fcm.requests
    assert _oks_by_notification(fake_fcm) == Counter(ids)
    assert len(requests) == 600
    assert sorted(r.token for r in requests) == sorted(f"tok-{uid}" for uid in users)
    deliveries = _deliveries(world)
    assert len(deliveries) == 600 and {d.status for d in deliveries} == {"sent"}
    assert ({(d.notification_id, d.token, d.provider_message_id) for d in deliveries}
            == {(_notification_id(r), r.token, r.name) for r in requests})
    rows = _rows(world)
    assert {(row.status, row.attempts, row.lease_owner) for row in rows.values()} == {
        ("sent", 1, None)}
    assert [report.claimed for report in reports if report.claimed == 0] == []
    assert sum(report.claimed for report in reports) == 600
    assert sum(report.pushes for report in reports) == 600
    assert sum(report.sent for report in reports) == 600
    assert all(report.lease_lost == 0 for report in reports)


# -- 3. a worker killed mid-batch -------------------------------------------------------------


def test_dispatch__worker_killed_mid_batch__another_sends_the_rest_nothing_lost(
        world: World, fake_fcm: FakeFcm, fcm_provider, fcm_settings: dict, tmp_path: Path):
    users = [f"victim-{n:03d}" for n in range(300)]
    ids = _seed(world, {uid: [f"tok-{uid}"] for uid in users}, users)
    batch = 25
    # Every push is answered in 0.05 s, but those the doomed worker sends after the 60th are
    # held until it is killed (at most 1.8 s, less than its 2 s timeout): when 60 answers are
    # in and all of its third batch (pushes 51–75) has arrived, the worker is waiting for that
    # batch's answers, and it is killed there.
    lock, arrivals, killed = threading.Lock(), [0], threading.Event()

    def script(message: dict) -> Reply:
        with lock:
            arrivals[0] += 1
            held = arrivals[0] > 60 and not killed.is_set()
        if held:
            killed.wait(1.8)
        return slow(0.05)

    fake_fcm.script = script
    env = {**os.environ, "DATABASE_URL": world.services.settings.database_url,
           "APP_ENV": "test", "PUSH_PROVIDER": "fcm",
           "FIREBASE_PROJECT_ID": fcm_settings["firebase_project_id"],
           "GOOGLE_APPLICATION_CREDENTIALS": fcm_settings["google_application_credentials"],
           "FCM_ENDPOINT": fcm_settings["fcm_endpoint"],
           "NOTIFY_BATCH_SIZE": str(batch), "NOTIFY_LEASE_SECONDS": "6",
           "NOTIFY_HTTP_TIMEOUT_SECONDS": "2", "NOTIFY_QUIET_HOURS": "",
           "NOTIFY_MAX_ATTEMPTS": "8"}
    env.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    output = tmp_path / "worker.log"
    with output.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "notify", "worker", "--once",
             "--worker-id", "doomed-worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def third_batch_held() -> bool:
            if worker.poll() is not None:
                raise AssertionError(f"the worker exited ({worker.returncode}) before it was "
                                     f"killed:\n{output.read_text(errors='replace')}")
            return len(fake_fcm.requests) >= 60 and arrivals[0] >= 3 * batch

        _wait_for(third_batch_held, timeout=60,
                  what=lambda: f"60 answers ({len(fake_fcm.requests)}) and 75 requests "
                               f"({arrivals[0]}) of the worker")
        os.kill(worker.pid, signal.SIGKILL)
        killed.set()
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    answered_before_kill = len(fake_fcm.requests)

    # what the killed worker left: two batches recorded and finished, the third claimed
    recorded = {d.notification_id for d in _deliveries(world) if d.status == "sent"}
    rows = _rows(world)
    assert answered_before_kill == 60
    assert recorded == set(ids[:2 * batch])
    assert {(rows[n].status, rows[n].attempts, rows[n].lease_owner)
            for n in ids[:2 * batch]} == {("sent", 1, None)}
    in_flight = ids[2 * batch:3 * batch]
    assert {(rows[n].status, rows[n].attempts, rows[n].lease_owner) for n in in_flight} == {
        ("pending", 1, "doomed-worker")}
    assert {(rows[n].status, rows[n].attempts, rows[n].lease_owner)
            for n in ids[3 * batch:]} == {("pending", 0, None)}
    # the held pushes of the third batch reach FCM although nobody hears the answers
    _wait_for(lambda: len(fake_fcm.requests) == 3 * batch, timeout=5,
              what=lambda: f"the held pushes of the killed worker "
                           f"({len(fake_fcm.requests)} answers of {arrivals[0]} requests)")

    # when: another worker, once the dead worker's leases have run out
    survivor = Dispatcher(world.services.session_factory, fcm_provider,
                          _policy(batch_size=100), worker_id="survivor",
                          clock=lambda: utcnow() + timedelta(seconds=10))
    report = survivor.run_once()

    # then
    oks = _oks_by_notification(fake_fcm)
    rows = _rows(world)
    assert {(row.status, row.lease_owner) for row in rows.values()} == {("sent", None)}
    assert {n: rows[n].attempts for n in in_flight} == dict.fromkeys(in_flight, 2)
    assert {rows[n].attempts for n in ids[3 * batch:]} == {1}
    assert set(oks) == set(ids) and min(oks.values()) >= 1
    assert {n: oks[n] for n in recorded} == dict.fromkeys(recorded, 1)
    doubled = sorted(n for n, count in oks.items() if count > 1)
    assert len(doubled) <= batch
    assert doubled == in_flight  # exactly the batch in flight at the kill, each twice
    assert max(oks.values()) == 2
    assert report.claimed == 300 - 2 * batch and report.pushes == 300 - 2 * batch
    assert report.sent == 300 - 2 * batch and report.lease_lost == 0
    deliveries = _deliveries(world)
    assert len(deliveries) == 300 and {d.status for d in deliveries} == {"sent"}


# -- 4. a live lease --------------------------------------------------------------------------


def test_dispatch__lease_held_by_a_live_worker__not_claimed_until_it_ends(
        world: World, fake_fcm: FakeFcm, fcm_provider):
    (notification_id,) = _seed(world, {"leased-user": ["tok-leased"]}, ["leased-user"])
    now = utcnow()
    lease_until = now + timedelta(seconds=60)
    with world.session() as session:
        row = session.get(Notification, notification_id)
        row.lease_owner, row.lease_until, row.attempts = "other", lease_until, 1

    def dispatcher(at: datetime) -> Dispatcher:
        return Dispatcher(world.services.session_factory, fcm_provider, _policy(),
                          worker_id="me", clock=lambda: at)

    # when: the other worker's lease is running
    early = dispatcher(now).run_once()
    almost = dispatcher(lease_until - timedelta(seconds=1)).run_once()

    # then
    assert early.claimed == 0 and almost.claimed == 0
    assert fake_fcm.requests == []
    row = _rows(world)[notification_id]
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 1, "other")
    assert _aware(row.lease_until) == lease_until

    # when: its lease has ended
    late = dispatcher(lease_until + timedelta(seconds=1)).run_once()

    # then
    assert (late.claimed, late.sent, late.pushes) == (1, 1, 1)
    assert [(r.token, _notification_id(r), r.reply.ok) for r in fake_fcm.requests] == [
        ("tok-leased", notification_id, True)]
    row = _rows(world)[notification_id]
    assert (row.status, row.attempts, row.lease_owner, row.lease_until) == (
        "sent", 2, None, None)
    assert [(d.notification_id, d.token, d.status) for d in _deliveries(world)] == [
        (notification_id, "tok-leased", "sent")]
