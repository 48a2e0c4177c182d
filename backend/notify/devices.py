"""Push tokens of signed-in users: registered by the app, moved, refreshed and pruned."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.accounts.locking import lock_account
from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.db import dialect_insert
from backend.notify.errors import NotifyError
from backend.notify.models import MAX_TOKEN_LENGTH, PLATFORMS, Device
from backend.notify.permissions import require_recipient

# A user signs in on a few phones and browsers; the least recently seen go beyond this.
MAX_DEVICES_PER_USER = 10
# BCP 47 language tags as apps send them: zh-CN, zh-Hans-CN, en.
LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
MAX_LOCALE_LENGTH = 35


def _check_token(token: object) -> str:
    if (not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_LENGTH
            or not token.isascii() or not token.isprintable() or " " in token):
        raise NotifyError("INVALID_INPUT",
                          f"推送令牌须为 1–{MAX_TOKEN_LENGTH} 个不含空格的 ASCII 可见字符", "token")
    return token


def _check_locale(locale: str | None) -> str | None:
    if locale is None:
        return None
    if len(locale) > MAX_LOCALE_LENGTH or not LOCALE.fullmatch(locale):
        raise NotifyError("INVALID_INPUT", "语言区域格式应如 zh-CN", "locale")
    return locale


@transactional
def register_device(uow: UnitOfWork, principal: Principal, *, token: str, platform: str,
                    locale: str | None = None, now: datetime | None = None) -> Device:
    """Register (or refresh) the caller's push token. A token registered by another user
    moves to the caller: a phone has one signed-in user at a time."""
    session = uow.session
    uid = require_recipient(principal)
    token = _check_token(token)
    if platform not in PLATFORMS:
        raise NotifyError("INVALID_INPUT", "平台应为 ANDROID、IOS 或 WEB", "platform")
    locale = _check_locale(locale)
    now = now or utcnow()
    # One user's registrations one at a time: each deletes the user's oldest devices, and two
    # at once would lock the same rows in opposite orders (a deadlock on PostgreSQL).
    lock_account(session, uid, now)
    insert = dialect_insert(session)
    statement = insert(Device).values(token=token, uid=uid, platform=platform, locale=locale,
                                      created_at=now, last_seen_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["token"],
        set_={"uid": uid, "platform": platform, "locale": locale, "last_seen_at": now},
    ))
    _keep_newest(session, uid, token)
    return session.scalars(select(Device).where(Device.token == token)
                           .execution_options(populate_existing=True)).one()


def _keep_newest(session: Session, uid: str, registered: str) -> None:
    """The token just registered, and the most recently seen others up to the limit. (By
    `last_seen_at` alone, a concurrent registration of the same user with a later clock
    could make this one's own row the oldest, deleted before it was read back.)"""
    others = Device.token != registered
    kept = (select(Device.id).where(Device.uid == uid, others)
            .order_by(Device.last_seen_at.desc(), Device.id.desc())
            .limit(MAX_DEVICES_PER_USER - 1))
    session.execute(delete(Device).where(Device.uid == uid, others, Device.id.not_in(kept)))


@transactional
def unregister_device(uow: UnitOfWork, principal: Principal, *, token: str) -> Device:
    """Remove the caller's token (signing out on that phone). Another user's token is not
    found, whoever asks."""
    session = uow.session
    uid = require_recipient(principal)
    token = _check_token(token)
    device = session.scalars(select(Device).where(Device.token == token, Device.uid == uid)
                             .with_for_update()).one_or_none()
    if device is None:
        raise NotifyError("NOT_FOUND", "该设备未登记", "token")
    session.delete(device)
    session.flush()
    return device


def my_devices(session: Session, principal: Principal) -> list[Device]:
    uid = require_recipient(principal)
    return list(session.scalars(select(Device).where(Device.uid == uid)
                                .order_by(Device.last_seen_at.desc(), Device.id.desc())))


def forget_tokens(session: Session, tokens: list[str]) -> int:
    """Tokens the push service says are dead or not ours."""
    if not tokens:
        return 0
    return session.execute(delete(Device).where(Device.token.in_(tokens))).rowcount


def prune_devices(session: Session, ttl: timedelta, now: datetime | None = None) -> int:
    """Devices not seen for `ttl` (an app refreshes its registration when it starts)."""
    cutoff = (now or utcnow()) - ttl
    return session.execute(delete(Device).where(Device.last_seen_at < cutoff)).rowcount
