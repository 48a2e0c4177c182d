"""`flask accounts …`: role grants (staff of a window, editor of a region, admin)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from backend.accounts.grants import grant_role, list_grants, revoke_role
from backend.accounts.models import ROLES
from backend.core.errors import DomainError

accounts_cli = AppGroup("accounts", help="Role grants: staff of a window, editor of a region.")


def _services():
    return current_app.extensions["servicemap"]


def _grant_options(command):
    """--uid, --role and the scope of the role: --window (staff) or --region (editor)."""
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
    services = _services()
    try:
        grant = grant_role(services.unit_of_work(), uid, role, window_id=window_id,
                           region_code=region_code, scope_checks=services.scope_checks)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"已授权：{_grant_line(grant.uid, grant.role, grant.scope)}")


@accounts_cli.command("revoke")
@_grant_options
def accounts_revoke(uid: str, role: str, window_id: int | None, region_code: str | None) -> None:
    """Take a role away from a user."""
    try:
        removed = revoke_role(_services().unit_of_work(), uid, role, window_id=window_id,
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
    with _services().session_factory() as session:
        grants = [(g.uid, g.role, g.scope) for g in list_grants(session, uid)]
    for grant in grants:
        click.echo(_grant_line(*grant))
    if not grants:
        click.echo("没有角色授权")


def init_app(app: Flask) -> None:
    app.cli.add_command(accounts_cli)
