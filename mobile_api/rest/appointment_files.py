"""REST helpers for a booked appointment (DESIGN.md §2 mobile_api): the appointment as an
RFC 5545 calendar event, and its check-in code as a QR image. Both are for the appointment's
owner only: staff of the window and admins read appointments through GraphQL, not these files.

    GET /m/v1/appointments/<id>.ics      text/calendar, one VEVENT with a reminder
    GET /m/v1/appointments/<id>/qr.svg   image/svg+xml, the check-in code

Identity comes from `Authorization: Bearer <ID token>`. Refusals are JSON
`{"error": {"code", "message"}}` with the codes of the GraphQL API: 401 UNAUTHENTICATED (with
`WWW-Authenticate: Bearer`), 403 FORBIDDEN, 404 NOT_FOUND (also for an id that is not a positive
32-bit integer, so that no id shape is distinguishable from a missing row)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify, request

if TYPE_CHECKING:
    import icalendar

from backend.accounts.principal import Forbidden, Principal, Unauthenticated
from backend.booking.appointments import own_appointment_details
from backend.booking.errors import BookingError
from backend.booking.events import AppointmentDetails
from backend.booking.models import ACTIVE_STATUSES, Appointment
from backend.core.clock import as_utc, utcnow
from backend.core.ids import api_id
from mobile_api.identity import identify
from mobile_api.request_log import note_error_codes

appointment_files = Blueprint("appointment_files", __name__, url_prefix="/m/v1")

PRODID = "-//servicemap//政务服务地图 预约//ZH"
UID_DOMAIN = "servicemap"
REMINDER_BEFORE = timedelta(hours=1)
# A QR code needs a quiet zone of 4 modules; 8 px per module is sharp on any phone screen.
QR_ERROR = "m"
QR_SCALE = 8
QR_BORDER = 4
NOT_FOUND_MESSAGE = "未找到该预约"


class _NotFound(Exception):
    pass


def _parse_id(text: str) -> int:
    key = api_id(text)
    if key is None:
        raise _NotFound
    return key


def _error(status: int, code: str, message: str, principal: Principal | None = None) -> Response:
    note_error_codes([code])
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    if status == 401:
        # RFC 6750 §3: say which scheme, and that a sent token was refused.
        refused = principal is not None and principal.token_problem is not None
        response.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if refused else "Bearer")
    return response


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Authorization"
    return response


def _owned(render: Callable[[Appointment, AppointmentDetails], Response],
           appointment_id: str) -> Response:
    """Run `render(appointment, details)` for the caller's own appointment, or refuse."""
    services = current_app.extensions["servicemap"]
    principal: Principal | None = None
    try:
        principal = identify(services.verifier, services.read_session_factory,
                             request.headers.get("Authorization"))
        with services.read_session_factory() as session:
            appointment, details = own_appointment_details(session, principal,
                                                           _parse_id(appointment_id))
            response = render(appointment, details)
    except Unauthenticated as refused:
        response = _error(401, refused.code, refused.message, principal)
    except Forbidden as refused:
        response = _error(403, refused.code, refused.message)
    except _NotFound:
        response = _error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
    except BookingError as refused:
        if refused.code != "NOT_FOUND":
            raise
        response = _error(404, refused.code, refused.message)
    return _private(response)


def calendar_of(appointment: Appointment, details: AppointmentDetails,
                now: datetime | None = None) -> icalendar.Calendar:
    """The appointment as a calendar with one event, times in UTC (unambiguous in every
    client, which shows them in the phone's own time zone)."""
    # Loaded on first use: a worker that never serves a calendar does not carry it.
    from icalendar import Alarm, Calendar, Event

    slot, window, place, item = details.slot, details.window, details.place, details.item
    cancelled = appointment.status == "cancelled"

    description = [f"窗口：{window.name}", f"核验码：{appointment.code}"]
    if place.phone:
        description.append(f"咨询电话：{place.phone}")
    if cancelled:
        description.insert(0, "该预约已取消")
    location = " ".join(part for part in (place.name, place.address) if part)

    event = Event()
    event.add("uid", f"appointment-{appointment.id}@{UID_DOMAIN}")
    event.add("dtstamp", as_utc(now or utcnow()))
    event.add("created", as_utc(appointment.created_at))
    event.add("last-modified", as_utc(appointment.updated_at))
    # Each reschedule bumps the revision; the cancellation is one more change of the event.
    event.add("sequence", appointment.revision + (1 if cancelled else 0))
    event.add("dtstart", as_utc(slot.starts_at))
    event.add("dtend", as_utc(slot.ends_at))
    event.add("summary", f"预约办理：{item.name}")
    event.add("location", location)
    event.add("geo", (round(place.lat, 6), round(place.lon, 6)))
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if not cancelled:  # no reminder of a visit that will not take place
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{item.name}：1 小时后在{place.name}办理")
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # A published copy (no organizer, no attendees): a client updates its copy by UID and
    # SEQUENCE when the file is imported again.
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar


def check_in_svg(code: str) -> bytes:
    """The check-in code as a QR image, what the window's scanner reads."""
    import segno

    buffer = io.BytesIO()
    segno.make_qr(code, error=QR_ERROR).save(buffer, kind="svg", scale=QR_SCALE,
                                              border=QR_BORDER, title=f"核验码 {code}")
    return buffer.getvalue()


def _ics(appointment: Appointment, details: AppointmentDetails) -> Response:
    body = calendar_of(appointment, details).to_ical()
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="appointment-{appointment.id}.ics"')
    return response


def _qr(appointment: Appointment, _details: AppointmentDetails) -> Response:
    if appointment.status not in ACTIVE_STATUSES:
        # A code is unique among active appointments only: once this one is over, the same
        # code may belong to someone else's booking.
        return _error(410, "GONE", "该预约已结束，核验码已失效")
    return Response(check_in_svg(appointment.code), content_type="image/svg+xml")


@appointment_files.get("/appointments/<appointment_id>.ics")
def appointment_ics(appointment_id: str) -> Response:
    return _owned(_ics, appointment_id)


@appointment_files.get("/appointments/<appointment_id>/qr.svg")
def appointment_qr(appointment_id: str) -> Response:
    return _owned(_qr, appointment_id)
