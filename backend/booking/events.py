"""What booking records on the unit of work when an appointment changes (notify tells people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from backend.booking.models import Appointment, ServiceWindow, Slot
from backend.core.events import Event
from backend.guidance.models import ServiceItem
from backend.places.events import HolidayAppointment
from backend.places.models import Place


@dataclass(frozen=True)
class AppointmentDetails:
    """Where and what an appointment is, as messages and files name it."""

    place: Place
    window: ServiceWindow
    item: ServiceItem
    slot: Slot


@dataclass(frozen=True)
class AppointmentEvent(Event):
    appointment: Appointment
    details: AppointmentDetails
    at: datetime


@dataclass(frozen=True)
class AppointmentBooked(AppointmentEvent):
    pass


@dataclass(frozen=True)
class AppointmentCancelled(AppointmentEvent):
    reason: str
    by_window: bool  # staff closed the slot or cancelled it: the resident is told urgently


@dataclass(frozen=True)
class AppointmentMoved(AppointmentEvent):
    """Rescheduled by its resident; `details.slot` is the new slot."""

    old_window_id: int
    old_day: date
    old_starts_at: datetime


@dataclass(frozen=True)
class BookedOnHoliday(Event):
    """A day became a holiday while a window still has appointments booked on it: its staff
    are told (the residents are not cancelled automatically; staff decide)."""

    window_id: int
    day: date
    holiday_name: str
    appointments: tuple[HolidayAppointment, ...]
    at: datetime
