"""REST routes beside GraphQL: health checks, the app's configuration (and the development
sign-in), and an appointment's calendar file and QR code."""

from __future__ import annotations

from flask import Flask

from mobile_api.rest.app_config import app_config
from mobile_api.rest.appointment_files import appointment_files
from mobile_api.rest.health import health


def init_app(app: Flask) -> None:
    app.register_blueprint(health)
    app.register_blueprint(appointment_files)
    app.register_blueprint(app_config)
