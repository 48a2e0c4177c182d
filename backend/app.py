"""The application factory: wires settings, database, the GraphQL view, health checks, CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.tokens import TokenVerifier
from backend.booking.rules import BookingRules
from backend.config import Settings
from backend.db import make_engine, make_read_session_factory, make_session_factory
from backend.places.store import SpatialStore, store_for
from backend.schema.context import RequestContext
from backend.schema.schema import schema
from mobile_api import web
from mobile_api.app_config import app_config
from mobile_api.appointments import appointment_files
from mobile_api.graphql_view import ServiceMapGraphQLView
from mobile_api.health import health

MAX_REQUEST_BYTES = 256 * 1024


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    store: SpatialStore
    rules: BookingRules
    verifier: TokenVerifier

    def request_context(self, authorization: str | None = None) -> RequestContext:
        return RequestContext(self.session_factory, self.store, rules=self.rules,
                              verifier=self.verifier, authorization=authorization,
                              read_session_factory=self.read_session_factory)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.validate()
    logging.basicConfig(level=logging.INFO)

    app = Flask(__name__, instance_relative_config=True)
    # A GraphQL document from an app is a few kilobytes; refuse bodies that are not (HTTP 413).
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    engine = make_engine(settings.database_url)
    services = Services(settings, engine, make_session_factory(engine),
                        make_read_session_factory(engine), store_for(engine),
                        BookingRules.from_settings(settings), TokenVerifier(settings))
    app.extensions["servicemap"] = services

    app.add_url_rule(
        "/graphql",
        view_func=ServiceMapGraphQLView.as_view(
            "graphql",
            schema=schema.graphql_schema,
            context_factory=services.request_context,
            graphiql=settings.graphiql_enabled,
        ),
    )
    app.register_blueprint(health)
    app.register_blueprint(appointment_files)
    app.register_blueprint(app_config)
    web.init_app(app)  # the resident app; its history fallback is registered last

    @app.teardown_request
    def _close_graphql_context(_exc: BaseException | None) -> None:
        context = g.pop("graphql_context", None)
        if context is not None:
            context.close()

    from backend.cli import register_commands

    register_commands(app)
    return app
