"""What the places domain records on the unit of work when places change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
