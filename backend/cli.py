"""Flask CLI: `flask --app wsgi <group> <command>` (DESIGN.md §8)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend.db import migration_status, session_scope, upgrade
from backend.errors import DomainError
from backend.places.demo_data import generate_demo_places, read_amap_service_halls
from backend.places.importing import (
    export_geojson,
    read_geojson_places,
    seed_regions,
    upsert_places,
)
from backend.places.models import Place
from backend.places.search import build_filters

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
seed_cli = AppGroup("seed", help="Reference and demo data.")
places_cli = AppGroup("places", help="Import and export places.")


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
        records = generate_demo_places(_region_records())
        result = upsert_places(session, records)
        click.echo(f"regions: {regions}; generated places: {result.created} created, "
                   f"{result.updated} updated, {result.unchanged} unchanged")
        if amap_file is not None:
            amap = upsert_places(session, read_amap_service_halls(amap_file))
            click.echo(f"amap places: {amap.created} created, {amap.updated} updated, "
                       f"{amap.unchanged} unchanged")
    click.echo(f"seeded in {time.perf_counter() - started:.1f} s")


def _region_records():
    from geodata.regions import load_yrd_regions

    return load_yrd_regions()


@seed_cli.command("regions")
def seed_regions_command() -> None:
    """Only the province, city and county regions."""
    with session_scope(_services().session_factory) as session:
        click.echo(f"regions: {seed_regions(session)}")


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
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


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


def register_commands(app: Flask) -> None:
    for group in (db_cli, seed_cli, places_cli):
        app.cli.add_command(group)
