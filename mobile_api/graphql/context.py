"""Per-request context of a GraphQL request: who asks, the read session, the loaders, and
units of work for mutations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.grants import ScopeChecks
from backend.accounts.principal import Principal
from backend.accounts.tokens import TokenVerifier
from backend.booking.rules import BookingRules
from backend.core.clock import utcnow
from backend.core.events import NO_HANDLERS, EventHandlers
from backend.core.unit_of_work import UnitOfWork
from backend.places.geocoding import GeocoderConfig
from backend.places.hours import OpenAt
from backend.places.store import SpatialStore
from backend.schema.core.dataloaders import Loaders
from mobile_api.identity import identify


class RequestContext:
    def __init__(self, session_factory: sessionmaker[Session], store: SpatialStore, *,
                 rules: BookingRules | None = None, verifier: TokenVerifier | None = None,
                 authorization: str | None = None,
                 read_session_factory: sessionmaker[Session] | None = None,
                 handlers: EventHandlers = NO_HANDLERS, eager_loaders: bool = False,
                 geocoder: GeocoderConfig | None = None,
                 scope_checks: ScopeChecks | None = None) -> None:
        self._session_factory = session_factory
        self._read_session_factory = read_session_factory or session_factory
        self._session: Session | None = None
        self._handlers = handlers
        self.store = store
        self.rules = rules or BookingRules()
        self.geocoder = geocoder or GeocoderConfig()
        # Whether a grant's window or region exists (the composition root's SCOPE_CHECKS).
        self.scope_checks: ScopeChecks = scope_checks or {}
        self._verifier = verifier
        self._authorization = authorization
        self._principal: Principal | None = None
        self.loaders = Loaders(self, eager=eager_loaders)
        self._open_at: dict[datetime, OpenAt] = {}
        # When a query must stop (time.monotonic()); set by the view for queries.
        self.deadline: float | None = None
        # "Now" of this request: every `isOpen` without `at` asks about the same instant.
        self.now = utcnow()

    @property
    def principal(self) -> Principal:
        """Who sent the request, from its Authorization header (verified once per request).
        A refused token makes the request anonymous, remembering why."""
        if self._principal is None:
            self._principal = identify(self._verifier, self._read_session_factory,
                                       self._authorization)
        return self._principal

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work of its own for one mutation. The request's read connection goes
        back to the pool first: a request never holds two connections, so a full pool cannot
        leave every request waiting for a second one."""
        self.close()
        return UnitOfWork(self._session_factory, self._handlers)

    def open_at(self, at: datetime | None = None) -> OpenAt:
        """One evaluator per instant (by default the request's minute: opening hours change
        on whole minutes, so it answers as `now` does): the calendar is read once for a page
        of places, whichever of isOpen and openingStatus it asks for."""
        if at is None:
            at = self.now.replace(second=0, microsecond=0)
        if at not in self._open_at:
            self._open_at[at] = OpenAt(self.session, at)
        return self._open_at[at]

    @property
    def session(self) -> Session:
        """The request's session for reads (autocommit on PostgreSQL): a mutation writes in
        its own unit of work."""
        if self._session is None:
            self._session = self._read_session_factory()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
