"""The outbox of the dispatch bench: a fresh database per store, the pending notifications
and devices of a run (bulk inserted), and what the outbox holds afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from collections import defaultdict
from pathlib import Path

from databases import PG_HOST, PG_PORT, PG_USER, pg_admin
from paths import DATA

PG_DATABASE = "bench_dispatch"
SQLITE_PATH = DATA / "dispatch.sqlite3"
UID_PREFIX = "bench-dispatch-"


def fresh_database(store: str) -> str:
    """A new empty database for the store; its URL."""
    DATA.mkdir(parents=True, exist_ok=True)
    if store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_PATH}"
    with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
        pass
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"


def token_of(n: int, d: int) -> str:
    """An FCM-registration-token-like string (~160 characters), deterministic."""
    digest = hashlib.sha256(f"{n}-{d}".encode()).hexdigest()
    return f"bd{n:07d}x{d}:APA91b{(digest * 3)[:142]}"


def seed(engine, count: int, per_user: int, round_tag: str) -> None:
    """`count` pending notifications, one resident each, with `per_user` devices each."""
    from sqlalchemy import insert

    from backend.core.clock import utcnow
    from backend.notify import outbox
    from backend.notify.models import Device, Notification

    now = utcnow()
    due = now - dt.timedelta(seconds=1)
    day = (now + dt.timedelta(days=3)).strftime("%m月%d日")
    notifications, devices = [], []
    for n in range(count):
        uid = f"{UID_PREFIX}{n:07d}"
        notifications.append({
            "uid": uid, "kind": outbox.BOOKING_CONFIRMED,
            "dedupe_key": f"{UID_PREFIX}{round_tag}-{n}",
            "title": "预约成功",
            "body": (f"您已预约{day} {9 + n % 8:02d}:{(n * 2) % 60:02d} 在杭州市民之家办理"
                     "社会保障卡申领，请携带身份证按时到场。"),
            "data": {"kind": outbox.BOOKING_CONFIRMED, "appointmentId": str(100_000 + n)},
            "appointment_id": None, "is_urgent": False, "due_at": due,
            "next_attempt_at": due, "status": "pending", "attempts": 0, "created_at": now,
        })
        for d in range(per_user):
            devices.append({"token": token_of(n, d), "uid": uid,
                            "platform": "android" if (n + d) % 10 < 7 else "ios",
                            "locale": "zh-CN", "created_at": now, "last_seen_at": now})
    with engine.begin() as conn:
        conn.execute(insert(Device.__table__), devices)
        conn.execute(insert(Notification.__table__), notifications)
    analyze(engine)


def clear(engine) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for table in ("notification_delivery", "notification", "device"):
            conn.execute(text(f"DELETE FROM {table}"))
    analyze(engine, vacuum=True)


def analyze(engine, vacuum: bool = False) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.commit()
        else:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            tables = "notification, notification_delivery, device"
            conn.execute(text(f"{'VACUUM ' if vacuum else ''}ANALYZE {tables}"))
            if vacuum:
                conn.execute(text("CHECKPOINT"))


def expected_pairs(session_factory) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from backend.notify.models import Device, Notification

    with session_factory() as session:
        rows = session.execute(select(Device.token, Notification.id)
                               .join(Notification, Notification.uid == Device.uid)).all()
    return sorted((token, str(notification_id)) for token, notification_id in rows)


def push_messages(session_factory, provider) -> list:
    """The pushes of every notification as the dispatcher builds them (same rows, devices)."""
    from sqlalchemy import select

    from backend.notify.dispatcher import Dispatcher
    from backend.notify.models import Device, Notification

    with session_factory() as session:
        devices = defaultdict(list)
        for device in session.scalars(select(Device).order_by(Device.id)):
            devices[device.uid].append(device)
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        build = Dispatcher(session_factory, provider)._message
        return [build(row, device) for row in rows for device in devices[row.uid]]


def outbox_state(session_factory) -> dict:
    from sqlalchemy import func, select

    from backend.notify.models import Delivery, Notification

    with session_factory() as session:
        statuses = dict(session.execute(select(Notification.status, func.count())
                                        .group_by(Notification.status)).all())
        deliveries = dict(session.execute(select(Delivery.status, func.count())
                                          .group_by(Delivery.status)).all())
    return {"notifications": statuses, "deliveries": deliveries}
