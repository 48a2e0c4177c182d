"""Loaders of what a page of places shows: regions, items handled, bookable windows."""

from __future__ import annotations

from collections.abc import Sequence

from backend.booking.windows import every_window_at, windows_at
from backend.guidance.queries import items_handled_at
from backend.places.models import Place
from backend.places.regions import regions_by_code
from backend.schema.core.dataloaders import DataLoader, RowById


class RegionByCode(DataLoader):
    def batch_load(self, codes: Sequence[str]) -> list:
        found = regions_by_code(self.context.session, set(codes))
        return [found.get(code) for code in codes]


class PlaceById(RowById):
    model = Place


class ItemsHandledAt(DataLoader):
    def batch_load(self, place_ids: Sequence[int]) -> list:
        found = items_handled_at(self.context.session, place_ids)
        return [found.get(key, []) for key in place_ids]


class WindowsAt(DataLoader):
    def batch_load(self, place_ids: Sequence[int]) -> list:
        found = windows_at(self.context.session, place_ids)
        return [found.get(key, []) for key in place_ids]


class EveryWindowAt(DataLoader):
    """Inactive windows too, for the hall's editors (the domain checks who asks)."""

    def batch_load(self, place_ids: Sequence[int]) -> list:
        session = self.context.session
        places = [session.get(Place, key) for key in dict.fromkeys(place_ids)]
        found = every_window_at(session, self.context.principal, places)
        return [found.get(key, []) for key in place_ids]
