"""Who may do what in notify: a user's devices and inbox are their own (register, unregister,
list, read, mark read); nobody reads another user's. Staff alerts reach a window's staff as
their own inbox messages."""

from __future__ import annotations

from backend.accounts.permissions import require_user
from backend.accounts.principal import Principal
from backend.booking.models import Appointment
from backend.booking.permissions import may_read


def require_recipient(principal: Principal) -> str:
    """The signed-in user whose devices and messages these are."""
    return require_user(principal)


def visible_appointment(principal: Principal, appointment: Appointment | None
                        ) -> Appointment | None:
    """The appointment a message is about, if its reader may still see it: a clerk told of
    a booking no longer sees it once it moved to another window."""
    return appointment if appointment is not None and may_read(principal, appointment) else None
