"""What the places domain records on the unit of work when places change."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class PlacesWritten(Event):
    """Places were created, or their name or address changed: what is searched for them
    (guidance adds the items they handle) must be computed again."""

    place_ids: tuple[int, ...]
