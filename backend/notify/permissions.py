"""Who may do what in notify: a user's devices and inbox are their own (register, unregister,
list, read, mark read); nobody reads another user's. Staff alerts reach a window's staff as
their own inbox messages."""

from __future__ import annotations

from backend.accounts.permissions import require_user
from backend.accounts.principal import Principal


def require_recipient(principal: Principal) -> str:
    """The signed-in user whose devices and messages these are."""
    return require_user(principal)
