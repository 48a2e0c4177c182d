"""Who may do what in booking — every rule of the domain in one place. The use cases call
these (so GraphQL, REST and the CLI share them); README "Permissions" lists them."""

from __future__ import annotations

from backend.accounts.permissions import (
    is_window_staff,
    require_region_editor,
    require_user,
    require_window_staff,
)
from backend.accounts.principal import Forbidden, Principal
from backend.booking.errors import BookingError
from backend.booking.models import Appointment
from backend.places.models import Place

# Someone else's appointment answers exactly like a missing one: ids are sequential, and a
# different answer would tell who may probe which ids exist.
NOT_FOUND_MESSAGE = "未找到该预约"


def not_found(field: str | None = "id") -> BookingError:
    return BookingError("NOT_FOUND", NOT_FOUND_MESSAGE, field)


def require_resident(principal: Principal) -> str:
    """Book, list one's appointments, read free slots, or see one's own: any signed-in user."""
    return require_user(principal)


def require_owner(principal: Principal, appointment: Appointment,
                  field: str | None = "id") -> str:
    """Reschedule, the calendar file and the QR code: the appointment's resident only
    (anyone else: NOT_FOUND, as for a missing one)."""
    uid = require_user(principal)
    if appointment.uid != uid:
        raise not_found(field)
    return uid


def require_owner_or_window_staff(principal: Principal, appointment: Appointment) -> bool:
    """Cancel: its resident (until the cutoff), or the staff of its window and admins (any
    time, and the resident is told why); anyone else: NOT_FOUND. True when it is the
    resident."""
    uid = require_user(principal)
    if appointment.uid == uid:
        return True
    if not is_window_staff(principal, appointment.window_id):
        raise not_found()
    return False


def require_clerk_of(principal: Principal, appointment: Appointment, field: str,
                     message: str = NOT_FOUND_MESSAGE) -> None:
    """No-show, completion and check-in of an appointment: staff of its window and admins;
    staff of another window get NOT_FOUND, as for a missing one (the role itself is checked
    first, by `require_some_window_clerk`)."""
    if not is_window_staff(principal, appointment.window_id):
        raise BookingError("NOT_FOUND", message, field)


def may_read(principal: Principal, appointment: Appointment) -> bool:
    """An appointment is seen by its resident, the staff of the window it is at now, and
    admins — wherever it is reached from (a notification about it included)."""
    return principal.uid is not None and (
        appointment.uid == principal.uid or is_window_staff(principal, appointment.window_id))


def require_window_clerk(principal: Principal, window_id: int) -> str:
    """A window's templates, slots, closures, capacity, its day's list, check-in, no-show and
    completion of its appointments: its staff and admins."""
    return require_window_staff(principal, window_id)


def require_some_window_clerk(principal: Principal) -> str:
    """Typing a check-in code: staff of some window (the code then says which, and
    `require_window_clerk` decides) or an admin."""
    uid = require_user(principal)
    if not principal.is_admin and not principal.staffed_windows():
        raise Forbidden("只有窗口人员可以核验预约")
    return uid


def require_hall_editor(principal: Principal, hall: Place) -> str:
    """Create or change a hall's booking windows: editors of a region holding the hall (a
    province covers its cities and counties, a city its counties) and admins."""
    return require_region_editor(principal, [hall.county_code, hall.city_code,
                                             hall.province_code])
