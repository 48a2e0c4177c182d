"""`flask places …` (import, export, the map grid) and `flask calendar …` (holidays)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.core.errors import DomainError
from backend.places import calendar as holiday_calendar
from backend.places.amap import read_amap_service_halls
from backend.places.calendar import seed_calendar
from backend.places.grid import rebuild_place_grid
from backend.places.importing import export_geojson, import_places, read_geojson_places
from backend.places.models import Place
from backend.places.search import build_filters

places_cli = AppGroup("places", help="Import and export places.")
calendar_cli = AppGroup("calendar", help="Holiday calendar: 放假 and 调休上班 days.")


def _services():
    return current_app.extensions["servicemap"]


@places_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["geojson", "amap"]),
              default="geojson", show_default=True)
def places_import(path: Path, file_format: str) -> None:
    """Upsert places from a GeoJSON file (our export format, WGS-84) or an Amap POI file."""
    try:
        records = (read_amap_service_halls(path) if file_format == "amap"
                   else read_geojson_places(path))
        result = import_places(_services().unit_of_work(), records)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    if result.created or result.updated:
        click.echo("map grid: rebuilt")


@places_cli.command("rebuild-grid")
def places_rebuild_grid() -> None:
    """Recount the map-cluster grid from the places (after writes that made it stale)."""
    with _services().unit_of_work() as uow:
        rows = rebuild_place_grid(uow.session)
        uow.commit()
    click.echo(f"map grid: {rows} cells")


@places_cli.command("export")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--region", "region_code", help="Only places in this region code.")
def places_export(output: Path | None, region_code: str | None) -> None:
    """Write places as a GeoJSON FeatureCollection (WGS-84)."""
    with _services().session_factory() as session:
        try:
            filters, _ = build_filters(session, None, region_code, None)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        statement = select(Place).where(*filters.conditions()).order_by(Place.id)
        collection = export_geojson(session.scalars(statement))
    text = json.dumps(collection, ensure_ascii=False, indent=1)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"{len(collection['features'])} places written to {output}")


_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_KIND_LABELS = {holiday_calendar.HOLIDAY: "放假", holiday_calendar.WORKDAY: "调休上班",
                holiday_calendar.ORDINARY: "普通日期（手动）"}


@calendar_cli.command("seed")
@click.option("--from-year", type=int, default=holiday_calendar.DEFAULT_YEARS.start,
              show_default=True)
@click.option("--to-year", type=int, default=holiday_calendar.DEFAULT_YEARS.stop - 1,
              show_default=True)
def calendar_seed(from_year: int, to_year: int) -> None:
    """Holidays and make-up working days from the `holidays` package; manual days are kept."""
    if from_year > to_year:
        raise click.ClickException(f"起始年份 {from_year} 晚于结束年份 {to_year}")
    try:
        with _services().unit_of_work() as uow:
            written = seed_calendar(uow.session, range(from_year, to_year + 1))
            uow.commit()
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"节假日日历 {from_year}–{to_year} 年：写入 {written} 行"
               f"（来源 {holiday_calendar.package_source()}）")


@calendar_cli.command("list")
@click.option("--year", type=int, required=True)
def calendar_list(year: int) -> None:
    """One line per listed day: date, weekday, kind, name, source."""
    try:
        with _services().session_factory() as session:
            days = holiday_calendar.list_days(session, year)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    for row in days:
        click.echo(f"{row.day.isoformat()}  {_WEEKDAYS[row.day.weekday()]}  "
                   f"{_KIND_LABELS.get(row.kind, row.kind)}  {row.name}  {row.source}")
    if not days:
        click.echo(f"{year} 年没有节假日或调休记录（可用 calendar seed 导入）")


@calendar_cli.command("set")
@click.argument("day")
@click.option("--holiday", "kind", flag_value=holiday_calendar.HOLIDAY, help="放假")
@click.option("--workday", "kind", flag_value=holiday_calendar.WORKDAY, help="调休上班")
@click.option("--name", help="如 国庆节；--workday 默认为 调休上班")
def calendar_set(day: str, kind: str | None, name: str | None) -> None:
    """Mark DAY (YYYY-MM-DD) by hand, e.g. from a new State Council notice; seeding keeps it."""
    if kind is None:
        raise click.ClickException("请指定 --holiday（放假）或 --workday（调休上班）")
    if name is None and kind == holiday_calendar.WORKDAY:
        name = holiday_calendar.MAKEUP_WORKDAY_NAME
    try:
        with _services().unit_of_work() as uow:
            row = holiday_calendar.set_day(
                uow.session, holiday_calendar.parse_day(day), kind, name or ""
            )
            uow.commit()
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{row.day.isoformat()}  {_WEEKDAYS[row.day.weekday()]}  "
               f"{_KIND_LABELS[row.kind]}  {row.name}  {row.source}")


@calendar_cli.command("clear")
@click.argument("day")
def calendar_clear(day: str) -> None:
    """Make DAY (YYYY-MM-DD) an ordinary day, for good (seeding keeps it)."""
    try:
        parsed = holiday_calendar.parse_day(day)
        with _services().unit_of_work() as uow:
            cleared = holiday_calendar.clear_day(uow.session, parsed)
            uow.commit()
    except DomainError as error:
        raise click.ClickException(error.message) from error
    if cleared:
        click.echo(f"{parsed.isoformat()} 已恢复为普通日期")
    else:
        click.echo(f"{parsed.isoformat()} 本来就是普通日期，未改动")


def init_app(app: Flask) -> None:
    app.cli.add_command(places_cli)
    app.cli.add_command(calendar_cli)
