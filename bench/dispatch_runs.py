"""The two paths of one dispatch run, timed and checked: the outbox dispatcher (its steps
timed by a subclass) and the bare `messaging.send_each` loop over the same messages."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict

from dispatch_outbox import expected_pairs, outbox_state


class PoolDiscards(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings: a
    connection opened beyond the adapter's pool_maxsize is closed after one request."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


def timed_dispatcher_class():
    from backend.notify.dispatcher import Dispatcher

    class TimedDispatcher(Dispatcher):
        """The dispatcher with the time of its steps added up (`_send` = provider.send)."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.phases: dict[str, float] = defaultdict(float)

        @contextlib.contextmanager
        def _phase(self, name: str):
            started = time.perf_counter()
            try:
                yield
            finally:
                self.phases[name] += time.perf_counter() - started

        def prune_devices(self) -> int:
            with self._phase("prune"):
                return super().prune_devices()

        def _claim(self, *args):
            with self._phase("claim"):
                return super()._claim(*args)

        def _load(self, *args):
            with self._phase("load"):
                return super()._load(*args)

        def _stale_reminders(self, *args):
            with self._phase("load"):
                return super()._stale_reminders(*args)

        def _superseded(self, *args):
            with self._phase("load"):
                return super()._superseded(*args)

        def _send(self, chunk):
            with self._phase("provider.send"):
                return super()._send(chunk)

        def _record(self, *args):
            with self._phase("record"):
                return super()._record(*args)

        def _finish(self, *args):
            with self._phase("finish"):
                return super()._finish(*args)

    return TimedDispatcher


class Failure(Exception):
    pass


class CpuMeter:
    """CPU seconds used by this process (all its threads) and by the fake's process."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.ours, self.fakes = time.process_time(), fake.cpu_seconds()

    def done(self, seconds: float) -> dict:
        ours = time.process_time() - self.ours
        fakes = self.fake.cpu_seconds()
        fake_s = None if fakes is None or self.fakes is None else fakes - self.fakes
        used = ours + (fake_s or 0.0)
        return {"cpu_s_here": round(ours, 3),
                "cpu_s_fake": None if fake_s is None else round(fake_s, 3),
                "cores_busy": round(used / seconds, 2)}


def run_dispatcher(session_factory, provider, batch_size: int, fake, discards: PoolDiscards,
                   count: int, per_user: int) -> dict:
    from backend.notify.dispatcher import DispatchPolicy

    expected = expected_pairs(session_factory)
    dispatcher = timed_dispatcher_class()(
        session_factory, provider, DispatchPolicy(batch_size=batch_size, quiet_hours=None))
    fake.reset()
    discards.count = 0
    cpu = CpuMeter(fake)
    started = time.perf_counter()
    report = dispatcher.run_once()
    seconds = time.perf_counter() - started
    cpu_used = cpu.done(seconds)
    pool_discards = discards.count
    stats = fake.stats()
    state = outbox_state(session_factory)
    pushes = count * per_user
    problems = []
    if state["notifications"] != {"sent": count}:
        problems.append(f"notification statuses {state['notifications']} (want sent: {count})")
    if state["deliveries"] != {"sent": pushes}:
        problems.append(f"deliveries {state['deliveries']} (want sent: {pushes})")
    if report.sent != count or report.pushes != pushes:
        problems.append(f"report: {report}")
    if stats["ok"] != pushes or stats["not_ok"]:
        problems.append(f"fake answered OK {stats['ok']} (want {pushes}), "
                        f"not OK {stats['not_ok']}")
    if stats["pairs"] != expected:
        problems.append("the fake's (token, notificationId) pairs differ from the outbox's")
    if problems:
        raise Failure("dispatcher: " + "; ".join(problems))
    phases = dict(dispatcher.phases)
    provider_s = phases.get("provider.send", 0.0)
    phases["other"] = seconds - sum(v for k, v in phases.items())
    return {
        "seconds": round(seconds, 4),
        "notifications_per_s": round(count / seconds, 1),
        "pushes_per_s": round(pushes / seconds, 1),
        "provider_send_s": round(provider_s, 4),
        "provider_share": round(provider_s / seconds, 4),
        "outside_provider_s": round(seconds - provider_s, 4),
        "phases_s": {k: round(v, 4) for k, v in phases.items()},
        "report": {k: getattr(report, k) for k in report.__dataclass_fields__},
        "fake_connections": stats["connections"],
        "pool_discards": pool_discards,
        **cpu_used,
    }


def run_bare(messages: list, app, batch_size: int, fake, discards: PoolDiscards) -> dict:
    from firebase_admin import messaging

    from backend.notify.providers.fcm import fcm_message

    fake.reset()
    discards.count = 0
    build_s = send_s = 0.0
    ok = 0
    cpu = CpuMeter(fake)
    started = time.perf_counter()
    for start in range(0, len(messages), batch_size):
        t0 = time.perf_counter()
        chunk = [fcm_message(message) for message in messages[start:start + batch_size]]
        t1 = time.perf_counter()
        batch = messaging.send_each(chunk, app=app)
        build_s += t1 - t0
        send_s += time.perf_counter() - t1
        ok += batch.success_count
    seconds = time.perf_counter() - started
    cpu_used = cpu.done(seconds)
    pool_discards = discards.count
    stats = fake.stats()
    expected = sorted((m.token, str(m.notification_id)) for m in messages)
    problems = []
    if ok != len(messages):
        problems.append(f"send_each succeeded for {ok} of {len(messages)}")
    if stats["ok"] != len(messages) or stats["not_ok"]:
        problems.append(f"fake answered OK {stats['ok']} (want {len(messages)}), "
                        f"not OK {stats['not_ok']}")
    if stats["pairs"] != expected:
        problems.append("the fake's (token, notificationId) pairs differ from the messages'")
    if problems:
        raise Failure("bare send_each: " + "; ".join(problems))
    return {
        "seconds": round(seconds, 4),
        "messages_per_s": round(len(messages) / seconds, 1),
        "build_s": round(build_s, 4),
        "send_each_s": round(send_s, 4),
        "fake_connections": stats["connections"],
        "pool_discards": pool_discards,
        **cpu_used,
    }
