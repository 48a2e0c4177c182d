"""One user's writes in order: the lock on their account row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.db import dialect_insert


def lock_account(session: Session, uid: str, now: datetime) -> None:
    """Take the user's lock: must be the first write of the transaction. One statement: the
    upsert locks the row on PostgreSQL (also when it was just inserted by a racing
    transaction, which it waits for) and takes the write lock on SQLite."""
    statement = dialect_insert(session)(Account).values(uid=uid, created_at=now, last_seen_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["uid"], set_={"last_seen_at": statement.excluded.last_seen_at}))
