"""Booking rules (settings) and the business clock."""

from __future__ import annotations

from dataclasses import dataclass

from backend.config import Settings


@dataclass(frozen=True)
class BookingRules:
    """The booking settings the domain needs (defaults and ranges: backend.config)."""

    horizon_days: int = Settings.booking_horizon_days
    cutoff_minutes: int = Settings.booking_cutoff_minutes
    max_active: int = Settings.booking_max_active
    max_per_item_per_day: int = Settings.booking_max_per_item_per_day
    generation_days: int = Settings.slot_generation_days
    staff_horizon_days: int = Settings.staff_horizon_days

    @classmethod
    def from_settings(cls, settings: Settings) -> BookingRules:
        return cls(
            horizon_days=settings.booking_horizon_days,
            cutoff_minutes=settings.booking_cutoff_minutes,
            max_active=settings.booking_max_active,
            max_per_item_per_day=settings.booking_max_per_item_per_day,
            generation_days=settings.slot_generation_days,
            staff_horizon_days=settings.staff_horizon_days,
        )
