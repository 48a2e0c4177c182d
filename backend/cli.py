"""`flask db …`: the database schema (Alembic migrations). The other command groups live with
their packages (each `cli.py`), registered by the composition root."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from backend.db import migration_status, upgrade

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database named by DATABASE_URL."""
    engine = current_app.extensions["servicemap"].engine
    upgrade(engine, revision)
    current, _ = migration_status(engine)
    click.echo(f"database at revision {current}")


@db_cli.command("current")
def db_current() -> None:
    """Show the database revision and the code's head revision."""
    current, head = migration_status(current_app.extensions["servicemap"].engine)
    click.echo(f"current: {current}  head: {head}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
