"""Flask CLI: `flask --app wsgi <group> <command>` (DESIGN.md §8)."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.booking.rules import business_date
from backend.booking.schedule import (
    GenerationResult,
    generate_for_windows,
    windows_with_templates,
)
from backend.booking.windows import create_demo_windows
from backend.config import ConfigError
from backend.db import migration_status, session_scope, upgrade
from backend.errors import DomainError
from backend.guidance.catalog import DEMO_CATALOG, read_catalog, upsert_service_items
from backend.guidance.handling import assign_demo_items, refresh_place_search_text
from backend.places import calendar as holiday_calendar
from backend.places.calendar import seed_calendar
from backend.places.clusters import rebuild_place_grid
from backend.places.demo_data import generate_demo_places, read_amap_service_halls
from backend.places.importing import (
    export_geojson,
    read_geojson_places,
    seed_regions,
    upsert_places,
)
from backend.places.models import Place, utcnow
from backend.places.search import build_filters

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
seed_cli = AppGroup("seed", help="Reference and demo data.")
places_cli = AppGroup("places", help="Import and export places.")
calendar_cli = AppGroup("calendar", help="Holiday calendar: 放假 and 调休上班 days.")
slots_cli = AppGroup("slots", help="Booking slots of the service windows.")
accounts_cli = AppGroup("accounts", help="Role grants: staff of a window, editor of a region.")
notify_cli = AppGroup("notify", help="Push notifications: the outbox dispatcher.")


def _services():
    return current_app.extensions["servicemap"]


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database named by DATABASE_URL."""
    upgrade(_services().engine, revision)
    current, _ = migration_status(_services().engine)
    click.echo(f"database at revision {current}")


@db_cli.command("current")
def db_current() -> None:
    """Show the database revision and the code's head revision."""
    current, head = migration_status(_services().engine)
    click.echo(f"current: {current}  head: {head}")


@seed_cli.command("demo")
@click.option("--amap-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also import the real Hangzhou Amap POIs (never committed to the repo).")
def seed_demo(amap_file: Path | None) -> None:
    """Regions of the 41 YRD cities and the generated demo places (idempotent)."""
    started = time.perf_counter()
    with session_scope(_services().session_factory) as session:
        regions = seed_regions(session)
        days = seed_calendar(session)
        created, updated = upsert_service_items(session, read_catalog())
        click.echo(f"regions: {regions}; calendar days: {days}; "
                   f"service items: {created} created, {updated} updated")
        records = generate_demo_places(_region_records())
        result = upsert_places(session, records)
        click.echo(f"generated places: {result.created} created, "
                   f"{result.updated} updated, {result.unchanged} unchanged")
        if amap_file is not None:
            amap = upsert_places(session, read_amap_service_halls(amap_file))
            click.echo(f"amap places: {amap.created} created, {amap.updated} updated, "
                       f"{amap.unchanged} unchanged")
        links = assign_demo_items(session)
        reindexed = refresh_place_search_text(session)
        click.echo(f"place–item links: {links}; places re-indexed: {reindexed}")
        windows = create_demo_windows(session)
        generated = _generate_horizon(session, windows_with_templates(session))
        click.echo(f"booking windows: {len(windows)} created; slots: {generated.created} "
                   f"created for the next {_services().rules.generation_days} days")
        _rebuild_grid(session)
    click.echo(f"seeded in {time.perf_counter() - started:.1f} s")


@seed_cli.command("items")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEMO_CATALOG, show_default=True,
              help="A service-item catalog (JSON, the format of the demo catalog).")
@click.option("--demo/--no-demo", "is_demo", default=True, show_default=True,
              help="Mark the guides as demonstration content.")
def seed_items(path: Path, is_demo: bool) -> None:
    """Upsert service items and their guides by code (validated before anything is written)."""
    try:
        records = read_catalog(path)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    with session_scope(_services().session_factory) as session:
        created, updated = upsert_service_items(session, records, is_demo=is_demo)
        reindexed = refresh_place_search_text(session)
    click.echo(f"service items: {created} created, {updated} updated; "
               f"places re-indexed: {reindexed}")


def _region_records():
    from geodata.regions import load_yrd_regions

    return load_yrd_regions()


@seed_cli.command("regions")
def seed_regions_command() -> None:
    """Only the province, city and county regions."""
    with session_scope(_services().session_factory) as session:
        click.echo(f"regions: {seed_regions(session)}")


@seed_cli.command("bench")
@click.option("--places", "count", type=click.IntRange(min=0), required=True,
              help="How many places to generate (bench/ uses 10k, 100k and 1M).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed: the same seed and count give the same places.")
@click.option("--replace", is_flag=True,
              help="Delete the places of an earlier `seed bench` (source 'bench') first.")
def seed_bench_command(count: int, seed: int, replace: bool) -> None:
    """Regions and N generated benchmark places (source 'bench'), bulk-loaded."""
    from backend.places.bench_data import BenchDataExists, seed_bench_places

    started = time.perf_counter()
    with session_scope(_services().session_factory) as session:
        regions = seed_regions(session)
    click.echo(f"regions: {regions} ({time.perf_counter() - started:.1f} s)")
    try:
        report = seed_bench_places(
            _services().engine, count, seed=seed, replace=replace, echo=click.echo
        )
    except (BenchDataExists, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"bench places: {report.deleted} deleted, {report.inserted} inserted "
        f"(seed {seed}; generated in {report.generate_seconds:.1f} s, "
        f"loaded in {report.insert_seconds:.1f} s"
        f"{', with search_text' if report.search_text else ''})"
    )
    with session_scope(_services().session_factory) as session:
        _rebuild_grid(session)
    click.echo(f"seeded in {time.perf_counter() - started:.1f} s")


@places_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["geojson", "amap"]),
              default="geojson", show_default=True)
def places_import(path: Path, file_format: str) -> None:
    """Upsert places from a GeoJSON file (our export format, WGS-84) or an Amap POI file."""
    try:
        records = (read_amap_service_halls(path) if file_format == "amap"
                   else read_geojson_places(path))
        with session_scope(_services().session_factory) as session:
            result = upsert_places(session, records)
            if result.created or result.updated:
                _rebuild_grid(session)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


def _rebuild_grid(session) -> None:  # noqa: ANN001
    """After a bulk write of places: the map-cluster grid, which any place write makes stale."""
    started = time.perf_counter()
    rows = rebuild_place_grid(session)
    click.echo(f"map grid: {rows} cells ({time.perf_counter() - started:.1f} s)")


@places_cli.command("rebuild-grid")
def places_rebuild_grid() -> None:
    """Recount the map-cluster grid from the places (after writes that made it stale)."""
    with session_scope(_services().session_factory) as session:
        _rebuild_grid(session)


@places_cli.command("export")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--region", "region_code", help="Only places in this region code.")
def places_export(output: Path | None, region_code: str | None) -> None:
    """Write places as a GeoJSON FeatureCollection (WGS-84)."""
    with session_scope(_services().session_factory) as session:
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
        with session_scope(_services().session_factory) as session:
            written = seed_calendar(session, range(from_year, to_year + 1))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"节假日日历 {from_year}–{to_year} 年：写入 {written} 行"
               f"（来源 {holiday_calendar.package_source()}）")


@calendar_cli.command("list")
@click.option("--year", type=int, required=True)
def calendar_list(year: int) -> None:
    """One line per listed day: date, weekday, kind, name, source."""
    try:
        with session_scope(_services().session_factory) as session:
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
        with session_scope(_services().session_factory) as session:
            row = holiday_calendar.set_day(
                session, holiday_calendar.parse_day(day), kind, name or ""
            )
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
        with session_scope(_services().session_factory) as session:
            cleared = holiday_calendar.clear_day(session, parsed)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    if cleared:
        click.echo(f"{parsed.isoformat()} 已恢复为普通日期")
    else:
        click.echo(f"{parsed.isoformat()} 本来就是普通日期，未改动")



def _grant_options(command):
    """--uid, --role and the scope of the role: --window (staff) or --region (editor)."""
    from backend.accounts.models import ROLES

    for option in reversed([
        click.option("--uid", required=True, help="Firebase uid of the user."),
        click.option("--role", type=click.Choice(ROLES), required=True),
        click.option("--window", "window_id", type=int, help="Window id (role staff)."),
        click.option("--region", "region_code",
                     help="Region adcode, e.g. 330100 (role editor; covers its counties)."),
    ]):
        command = option(command)
    return command


def _grant_line(uid: str, role: str, scope: str) -> str:
    return f"{uid}  {role}  {scope or '*'}"


@accounts_cli.command("grant")
@_grant_options
def accounts_grant(uid: str, role: str, window_id: int | None, region_code: str | None) -> None:
    """Give a user a role (idempotent)."""
    from backend.accounts.grants import grant_role

    try:
        with session_scope(_services().session_factory) as session:
            grant = grant_role(session, uid, role, window_id=window_id, region_code=region_code)
            line = _grant_line(grant.uid, grant.role, grant.scope)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"已授权：{line}")


@accounts_cli.command("revoke")
@_grant_options
def accounts_revoke(uid: str, role: str, window_id: int | None, region_code: str | None) -> None:
    """Take a role away from a user."""
    from backend.accounts.grants import revoke_role

    try:
        with session_scope(_services().session_factory) as session:
            removed = revoke_role(session, uid, role, window_id=window_id,
                                  region_code=region_code)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    scope = str(window_id) if role == "staff" else (region_code or "").strip()
    line = _grant_line(uid.strip(), role, scope)
    click.echo(f"已撤销：{line}" if removed else f"没有这项授权，未改动：{line}")


@accounts_cli.command("list")
@click.option("--uid", help="Only this user's grants.")
def accounts_list(uid: str | None) -> None:
    """One line per grant: uid, role, scope (window id, region code, * for admin)."""
    from backend.accounts.grants import list_grants

    with session_scope(_services().session_factory) as session:
        grants = [(g.uid, g.role, g.scope) for g in list_grants(session, uid)]
    for grant in grants:
        click.echo(_grant_line(*grant))
    if not grants:
        click.echo("没有角色授权")


def _generate_horizon(session, window_ids: list[int]) -> GenerationResult:  # noqa: ANN001
    today = business_date(utcnow())
    return generate_for_windows(session, window_ids, today,
                                today + timedelta(days=_services().rules.generation_days))


@slots_cli.command("generate")
@click.option("--window", "window_ids", type=int, multiple=True,
              help="Window id (repeatable); default: every active window with a schedule.")
@click.option("--from", "start", help="First day (YYYY-MM-DD); default today (Beijing).")
@click.option("--to", "end", help="Last day; default: today + SLOT_GENERATION_DAYS.")
def slots_generate(window_ids: tuple[int, ...], start: str | None, end: str | None) -> None:
    """Generate slots from the weekly templates, skipping statutory holidays and opening on
    make-up working days; slots with bookings or staff changes are never touched. Run daily
    (cron) to keep the rolling horizon."""
    rules = _services().rules
    today = business_date(utcnow())
    try:
        first = holiday_calendar.parse_day(start) if start else today
        last = holiday_calendar.parse_day(end) if end else today + timedelta(
            days=rules.generation_days)
        if first < today or first > last:
            raise click.UsageError("--from must be today or later, and not after --to")
        with session_scope(_services().session_factory) as session:
            ids = list(window_ids) or windows_with_templates(session)
            result = generate_for_windows(session, ids, first, last)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    holidays = ", ".join(day.isoformat() for day in result.holidays) or "none"
    click.echo(f"windows: {len(ids)}; {first.isoformat()} – {last.isoformat()}: "
               f"{result.created} created, {result.updated} updated, {result.removed} removed, "
               f"{result.skipped} kept or skipped; holidays skipped: {holidays}")


@notify_cli.command("worker")
@click.option("--once", is_flag=True,
              help="Send everything that is due now, then exit (cron, tests).")
@click.option("--poll-seconds", type=click.FloatRange(0.05, 600), default=2.0, show_default=True,
              help="Sleep this long when nothing is due.")
@click.option("--worker-id", help="Name in the leases (default host:pid:random).")
def notify_worker(once: bool, poll_seconds: float, worker_id: str | None) -> None:
    """Push due notifications through PUSH_PROVIDER. Start as many workers as needed: each
    notification is claimed by one of them; SIGTERM / Ctrl-C ends a worker after its batch."""
    from backend.notify.dispatcher import Dispatcher, DispatchPolicy
    from backend.notify.providers import make_provider

    settings = _services().settings
    if settings.is_production and settings.push_provider == "log":
        raise click.ClickException("PUSH_PROVIDER=log only logs pushes: refusing to run a "
                                   "production worker with it (set PUSH_PROVIDER=fcm)")
    try:
        provider = make_provider(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    dispatcher = Dispatcher(_services().session_factory, provider,
                            DispatchPolicy.from_settings(settings), worker_id=worker_id)
    click.echo(f"notify worker {dispatcher.worker_id}: provider {provider.name}")
    try:
        if once:
            report = dispatcher.run_once()
        else:
            stop = threading.Event()
            for signal_number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signal_number, lambda *_: stop.set())
            report = dispatcher.run(stop, poll_seconds)
    finally:
        provider.close()
    click.echo(f"notify worker {dispatcher.worker_id} done: {report}")


def register_commands(app: Flask) -> None:
    for group in (db_cli, seed_cli, places_cli, calendar_cli, accounts_cli, slots_cli,
                  notify_cli):
        app.cli.add_command(group)
