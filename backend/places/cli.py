"""`flask places …` (import, export, the map grid) and `flask calendar …` (holidays)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.accounts.grants import principal_for
from backend.core.clock import local_text
from backend.core.errors import DomainError
from backend.places import calendar as holiday_calendar
from backend.places.calendar import seed_calendar
from backend.places.grid import rebuild_place_grid
from backend.places.import_file import import_places_file
from backend.places.import_rows import FORMATS, guess_format
from backend.places.importing import export_csv, export_geojson
from backend.places.models import Place
from backend.places.search import build_filters
from geodata.crs import CRS

places_cli = AppGroup("places", help="Import and export places.")
calendar_cli = AppGroup("calendar", help="Holiday calendar: 放假 and 调休上班 days.")


def _services():
    return current_app.extensions["servicemap"]


@places_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(FORMATS),
              help="File format (default: from the file name: .csv, .xlsx, else GeoJSON).")
@click.option("--crs", type=click.Choice([c.value for c in CRS]),
              help="Datum of the coordinates (default: the file's own, else WGS84).")
@click.option("--source", help="Source name the rows are matched by with their external_id.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--sync", is_flag=True,
              help="Archive the places of the source that the file no longer lists.")
@click.option("--force", is_flag=True, help="With --sync: archive even more than 40 %.")
@click.option("--as", "as_uid", help="Import as this user (their editor regions apply).")
def places_import(path: Path, file_format: str | None, crs: str | None, source: str | None,
                  dry_run: bool, sync: bool, force: bool, as_uid: str | None) -> None:
    """Import places from CSV, Excel, GeoJSON or an Amap POI file (one report, all errors)."""
    services = _services()
    principal = None
    if as_uid is not None:
        with services.session_factory() as session:
            principal = principal_for(session, as_uid)
    bar = _Progress()
    report = import_places_file(
        services.unit_of_work(), principal, path.read_bytes(), file_name=path.name,
        file_format=file_format or guess_format(path.name), crs=None if crs is None else CRS(crs),
        source=source, dry_run=dry_run, sync=sync, force=force, origin="cli-import",
        progress=bar)
    bar.close()
    for line in report_lines(report):
        click.echo(line, err=not report.ok)
    if not report.ok:
        sys.exit(1)


class _Progress:
    """A progress bar for files of more than a few hundred rows (on standard error)."""

    THRESHOLD = 300

    def __init__(self) -> None:
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if total <= self.THRESHOLD:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="检查", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def report_lines(report) -> list[str]:  # noqa: ANN001
    if not report.ok:
        more = "（仅列出前 200 处）" if report.truncated else ""
        return [f"导入失败：{report.file_name} 有 {len(report.errors)} 处错误{more}，"
                "未写入任何数据", *(f"  {error}" for error in report.errors)]
    verb = "would be" if report.dry_run else "were"
    lines = [f"{report.file_name} (source {report.source}): {len(report.created)} created, "
             f"{len(report.updated)} updated, {report.unchanged} unchanged, "
             f"{len(report.archived)} archived" + (" — dry run, nothing written"
                                                   if report.dry_run else "")]
    for label, ids in (("created", report.created), ("updated", report.updated),
                       ("archived", report.archived)):
        if ids:
            shown = ", ".join(ids[:20]) + (f" … (+{len(ids) - 20})" if len(ids) > 20 else "")
            lines.append(f"  {label} ({verb}): {shown}")
    lines += [f"  提示：{warning}" for warning in report.warnings]
    if not report.dry_run and (report.created or report.updated or report.archived):
        lines.append("map grid: rebuilt")
    return lines


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
@click.option("--format", "file_format", type=click.Choice(["geojson", "csv"]),
              default="geojson", show_default=True)
def places_export(output: Path | None, region_code: str | None, file_format: str) -> None:
    """Write the live places as GeoJSON (RFC 7946) or CSV, WGS-84: what `import` reads."""
    with _services().session_factory() as session:
        try:
            filters, _ = build_filters(session, None, region_code, None)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        places = list(session.scalars(select(Place).where(*filters.conditions())
                                      .order_by(Place.id)))
        text = (export_csv(places) if file_format == "csv" else
                json.dumps(export_geojson(places), ensure_ascii=False, indent=1) + "\n")
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(places)} places written to {output}")


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
    try:
        change = holiday_calendar.set_calendar_day(
            _services().unit_of_work(), holiday_calendar.parse_day(day), kind, name or "")
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{change.day.isoformat()}  {_WEEKDAYS[change.day.weekday()]}  "
               f"{_KIND_LABELS[change.kind]}  {change.name}  {change.source}")
    _echo_follow_through(change)


@calendar_cli.command("clear")
@click.argument("day")
def calendar_clear(day: str) -> None:
    """Make DAY (YYYY-MM-DD) an ordinary day, for good (seeding keeps it)."""
    try:
        change = holiday_calendar.clear_calendar_day(_services().unit_of_work(),
                                                     holiday_calendar.parse_day(day))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    if change.changed:
        click.echo(f"{change.day.isoformat()} 已恢复为普通日期")
        _echo_follow_through(change)
    else:
        click.echo(f"{change.day.isoformat()} 本来就是普通日期，未改动")


def _echo_follow_through(change: holiday_calendar.CalendarChange) -> None:
    """What the change did to the windows' slots, and the appointments staff must look at."""
    done = change.follow_through
    click.echo(f"号源：{done.windows} 个窗口，新增 {done.slots_created}，"
               f"删除 {done.slots_removed}，停约 {done.slots_closed}，恢复 {done.slots_reopened}")
    if done.appointments:
        click.echo(f"以下 {len(done.appointments)} 个预约落在节假日"
                   "（未自动取消，已通知窗口人员）：")
    for booked in done.appointments:
        click.echo(f"  预约 {booked.appointment_id}  {local_text(booked.starts_at)}  "
                   f"{booked.place_name}（{booked.window_name}）「{booked.service_item_name}」")


def init_app(app: Flask) -> None:
    app.cli.add_command(places_cli)
    app.cli.add_command(calendar_cli)
