"""Loaders of what booking's types show: windows, slots, items, a window's items."""

from __future__ import annotations

from collections.abc import Sequence

from backend.booking.models import Appointment, ServiceWindow, Slot
from backend.booking.windows import items_of_windows
from backend.guidance.models import ServiceItem
from backend.schema.core.dataloaders import DataLoader, RowById


class WindowById(RowById):
    model = ServiceWindow


class SlotById(RowById):
    model = Slot


class AppointmentById(RowById):
    model = Appointment


class ServiceItemById(RowById):
    model = ServiceItem


class ItemsOfWindow(DataLoader):
    def batch_load(self, window_ids: Sequence[int]) -> list:
        found = items_of_windows(self.context.session, window_ids)
        return [found.get(key, []) for key in window_ids]
