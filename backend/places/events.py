"""What the places domain records on the unit of work when places change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from backend.core.events import Event


@dataclass(frozen=True)
class PlacesWritten(Event):
    """Places were created, or their name or address changed: what is searched for them
    (guidance adds the items they handle) must be computed again."""

    place_ids: tuple[int, ...]


@dataclass(frozen=True)
class PlaceArchived(Event):
    """A place left the map: booking closes its future slots and cancels what was booked
    there (notify tells the residents)."""

    place_id: int
    reason: str
    at: datetime


@dataclass(frozen=True)
class PlaceRestored(Event):
    """An archived place came back: booking reopens the slots its archiving closed."""

    place_id: int
    at: datetime


@dataclass(frozen=True)
class HolidayAppointment:
    """A booked appointment on a day that became a holiday (plain values: places knows no
    appointments; booking fills these in)."""

    appointment_id: int
    window_id: int
    window_name: str
    place_name: str
    service_item_name: str
    starts_at: datetime


@dataclass
class CalendarFollowThrough:
    """What booking did about a calendar change, filled in by its handler in the same unit of
    work, so the use case can answer with it."""

    windows: int = 0
    slots_created: int = 0
    slots_removed: int = 0
    slots_closed: int = 0
    slots_reopened: int = 0
    appointments: list[HolidayAppointment] = field(default_factory=list)


@dataclass(frozen=True)
class CalendarDayChanged(Event):
    """A day of the holiday calendar was set or cleared by hand: booking makes the day's free
    slots follow it (kind None: an ordinary day) and reports what stays booked on a holiday."""

    day: date
    kind: str | None
    name: str
    at: datetime
    follow_through: CalendarFollowThrough = field(default_factory=CalendarFollowThrough)


@dataclass(frozen=True)
class PlaceReportHandled(Event):
    """An editor resolved (with an edit) or dismissed a resident's report: notify tells the
    resident who filed it."""

    report_id: int
    uid: str
    place_id: int
    place_name: str
    reason_label: str
    outcome: str  # "resolved" or "dismissed"
    note: str | None
    at: datetime
