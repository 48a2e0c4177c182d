"""Guidance's part in what happens to places: a place's search text names the items it handles."""

from __future__ import annotations

from backend.core.unit_of_work import UnitOfWork
from backend.guidance.handling import refresh_place_search_text
from backend.places.events import PlacesWritten


def on_places_written(uow: UnitOfWork, event: PlacesWritten) -> None:
    refresh_place_search_text(uow.session, event.place_ids)


# Wired by the composition root (backend/app.py).
HANDLERS = {PlacesWritten: [on_places_written]}
