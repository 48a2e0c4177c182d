"""`flask slots …`: booking slots of the service windows."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from backend.booking.schedule import generate_for_windows, windows_with_templates
from backend.core.clock import business_date, utcnow
from backend.core.errors import DomainError
from backend.places import calendar as holiday_calendar

slots_cli = AppGroup("slots", help="Booking slots of the service windows.")


@slots_cli.command("generate")
@click.option("--window", "window_ids", type=int, multiple=True,
              help="Window id (repeatable); default: every active window with a schedule.")
@click.option("--from", "start", help="First day (YYYY-MM-DD); default today (Beijing).")
@click.option("--to", "end", help="Last day; default: today + SLOT_GENERATION_DAYS.")
def slots_generate(window_ids: tuple[int, ...], start: str | None, end: str | None) -> None:
    """Generate slots from the weekly templates, skipping statutory holidays and opening on
    make-up working days; slots with bookings or staff changes are never touched. Run daily
    (cron) to keep the rolling horizon."""
    services = current_app.extensions["servicemap"]
    today = business_date(utcnow())
    try:
        first = holiday_calendar.parse_day(start) if start else today
        last = holiday_calendar.parse_day(end) if end else today + timedelta(
            days=services.rules.generation_days)
        if first < today or first > last:
            raise click.UsageError("--from must be today or later, and not after --to")
        with services.session_factory() as session:
            ids = list(window_ids) or windows_with_templates(session)
        result = generate_for_windows(services.unit_of_work(), ids, first, last)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    holidays = ", ".join(day.isoformat() for day in result.holidays) or "none"
    click.echo(f"windows: {len(ids)}; {first.isoformat()} – {last.isoformat()}: "
               f"{result.created} created, {result.updated} updated, {result.removed} removed, "
               f"{result.skipped} kept or skipped; holidays skipped: {holidays}")


def init_app(app: Flask) -> None:
    app.cli.add_command(slots_cli)
