"""Health checks for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from backend.db import migration_status

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    return jsonify(status="ok")


@health.get("/readyz")
def readyz():
    services = current_app.extensions["servicemap"]
    try:
        current, head = migration_status(services.engine)
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", error=type(exc).__name__), 503
    if current != head:
        return jsonify(status="migrations pending", current=current, head=head), 503
    return jsonify(status="ready", revision=current)
