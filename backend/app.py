"""The composition root: settings, database, the domains' wiring, then each package's
`init_app(app)` (the GraphQL view, the REST routes, the CLI groups)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import MappingProxyType

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend import cli as db_cli
from backend.accounts import cli as accounts_cli
from backend.accounts.grants import ScopeChecks
from backend.accounts.tokens import TokenVerifier
from backend.booking import cli as booking_cli
from backend.booking.handlers import HANDLERS as BOOKING_HANDLERS
from backend.booking.rules import BookingRules
from backend.booking.windows import window_exists
from backend.config import Settings
from backend.core.events import EventHandlers
from backend.core.unit_of_work import UnitOfWork
from backend.db import make_engine, make_read_session_factory, make_session_factory
from backend.fixtures import cli as fixtures_cli
from backend.guidance.handlers import HANDLERS as GUIDANCE_HANDLERS
from backend.notify import cli as notify_cli
from backend.notify.handlers import HANDLERS as NOTIFY_HANDLERS
from backend.places import cli as places_cli
from backend.places.geocoding import GeocoderConfig
from backend.places.grid import init_engine as init_places_engine
from backend.places.regions import region_exists
from backend.places.store import SpatialStore, store_for
from mobile_api import graphql as graphql_api
from mobile_api import http_policy, request_log, rest, web

# Who acts on which domain event, in this order (backend/core/events.py).
EVENT_HANDLERS = EventHandlers(GUIDANCE_HANDLERS, BOOKING_HANDLERS, NOTIFY_HANDLERS)
# Whether a role grant's scope exists, asked of the domain that owns it.
SCOPE_CHECKS: ScopeChecks = MappingProxyType({"staff": window_exists, "editor": region_exists})


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    store: SpatialStore
    rules: BookingRules
    verifier: TokenVerifier
    geocoder: GeocoderConfig = GeocoderConfig()
    handlers: EventHandlers = EVENT_HANDLERS
    scope_checks: ScopeChecks = field(default_factory=lambda: SCOPE_CHECKS)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.handlers)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.validate()
    logging.basicConfig(level=logging.INFO)

    app = Flask(__name__, instance_relative_config=True)
    engine = make_engine(settings.database_url,
                         sqlite_write_queue=settings.sqlite_write_queue)
    init_places_engine(engine)
    services = Services(settings, engine, make_session_factory(engine),
                        make_read_session_factory(engine), store_for(engine),
                        BookingRules.from_settings(settings), TokenVerifier(settings),
                        GeocoderConfig.from_settings(settings))
    app.extensions["servicemap"] = services

    request_log.init_app(app, settings.log_user_salt)  # first: it times every other hook
    http_policy.init_app(app, settings)
    graphql_api.init_app(app, services)
    rest.init_app(app)
    for package in (db_cli, fixtures_cli, places_cli, accounts_cli, booking_cli, notify_cli):
        package.init_app(app)
    web.init_app(app)  # the resident app; its history fallback is registered last
    return app
