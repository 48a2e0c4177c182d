"""One user's writes in order: the lock on their account row."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.db import insert_construct

_ACCOUNT = Account.__table__


@functools.cache
def _lock_statement(store: str):  # noqa: ANN202
    # Built once per store (bound parameters): a booking takes this lock on every request.
    statement = insert_construct(store)(_ACCOUNT).values(
        uid=bindparam("p_uid"), created_at=bindparam("p_now"), last_seen_at=bindparam("p_now"))
    return statement.on_conflict_do_update(
        index_elements=["uid"], set_={"last_seen_at": statement.excluded.last_seen_at})


def lock_statement(store: str):  # noqa: ANN201
    """The lock as a statement with parameters `p_uid` and `p_now`: on PostgreSQL a use case
    may send it as a data-modifying CTE of its first read (one round trip for both)."""
    return _lock_statement(store)


def lock_account(session: Session, uid: str, now: datetime) -> None:
    """Take the user's lock: must be the first write of the transaction. One statement: the
    upsert locks the row on PostgreSQL (also when it was just inserted by a racing
    transaction, which it waits for) and takes the write lock on SQLite."""
    session.execute(_lock_statement(session.get_bind().dialect.name),
                    {"p_uid": uid, "p_now": now})
