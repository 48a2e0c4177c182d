"""`flask notify worker`: the outbox dispatcher."""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from backend.config import ConfigError
from backend.notify.dispatcher import Dispatcher, DispatchPolicy
from backend.notify.providers import make_provider

notify_cli = AppGroup("notify", help="Push notifications: the outbox dispatcher.")


@notify_cli.command("worker")
@click.option("--once", is_flag=True,
              help="Send everything that is due now, then exit (cron, tests).")
@click.option("--poll-seconds", type=click.FloatRange(0.05, 600), default=2.0, show_default=True,
              help="Sleep this long when nothing is due.")
@click.option("--worker-id", help="Name in the leases (default host:pid:random).")
def notify_worker(once: bool, poll_seconds: float, worker_id: str | None) -> None:
    """Push due notifications through PUSH_PROVIDER. Start as many workers as needed: each
    notification is claimed by one of them; SIGTERM / Ctrl-C ends a worker after its batch."""
    services = current_app.extensions["servicemap"]
    settings = services.settings
    if settings.is_production and settings.push_provider == "log":
        raise click.ClickException("PUSH_PROVIDER=log only logs pushes: refusing to run a "
                                   "production worker with it (set PUSH_PROVIDER=fcm)")
    try:
        provider = make_provider(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    dispatcher = Dispatcher(services.session_factory, provider,
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


def init_app(app: Flask) -> None:
    app.cli.add_command(notify_cli)
