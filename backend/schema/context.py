"""Per-request context: one database session, the spatial store, and batch loaders."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.grants import principal_for
from backend.accounts.principal import ANONYMOUS, Principal, Unauthenticated
from backend.accounts.tokens import TokenVerifier, bearer_token
from backend.booking.rules import BookingRules
from backend.booking.windows import items_of_windows, windows_at
from backend.db import session_scope
from backend.guidance.queries import items_handled_at
from backend.places.hours import OpenAt
from backend.places.regions import regions_by_code
from backend.places.store import SpatialStore


class BatchLoader:
    """A synchronous DataLoader: keys announced with `want` are fetched in one batch on the
    first `load`, so a page of results costs one query per relation, not one per row."""

    def __init__(self, batch: Callable[[set], dict]) -> None:
        self._batch = batch
        self._cache: dict[Hashable, Any] = {}
        self._pending: set[Hashable] = set()

    def want(self, keys: Iterable[Hashable]) -> None:
        self._pending.update(key for key in keys if key is not None and key not in self._cache)

    def load(self, key: Hashable) -> Any:
        if key is None:
            return None
        if key not in self._cache:
            wanted, self._pending = self._pending | {key}, set()
            # The batch may announce the next keys (e.g. the parents of what it loaded).
            found = self._batch(wanted)
            for wanted_key in wanted:
                self._cache[wanted_key] = found.get(wanted_key)
        return self._cache[key]


class RequestContext:
    def __init__(self, session_factory: sessionmaker[Session], store: SpatialStore, *,
                 rules: BookingRules | None = None, verifier: TokenVerifier | None = None,
                 authorization: str | None = None,
                 read_session_factory: sessionmaker[Session] | None = None) -> None:
        self._session_factory = session_factory
        self._read_session_factory = read_session_factory or session_factory
        self._session: Session | None = None
        self.store = store
        self.rules = rules or BookingRules()
        self._verifier = verifier
        self._authorization = authorization
        self._principal: Principal | None = None
        self.regions = BatchLoader(self._load_regions)
        self.handled_items = BatchLoader(lambda ids: items_handled_at(self.session, ids))
        self.windows = BatchLoader(lambda ids: windows_at(self.session, ids))
        self.window_items = BatchLoader(lambda ids: items_of_windows(self.session, ids))
        self._rows: dict[type, BatchLoader] = {}
        self._open_at: dict[datetime, OpenAt] = {}

    @property
    def principal(self) -> Principal:
        """Who sent the request, from its Authorization header (verified once per request).
        A refused token makes the request anonymous, remembering why."""
        if self._principal is None:
            self._principal = self._identify()
        return self._principal

    def _identify(self) -> Principal:
        try:
            token = bearer_token(self._authorization)
            if token is None:
                return ANONYMOUS
            if self._verifier is None:
                raise Unauthenticated("服务未配置登录验证")
            uid = self._verifier.verify(token)
        except Unauthenticated as refused:
            return Principal(uid=None, token_problem=refused.message)
        # A session of its own, closed at once: asked for inside a mutation's unit of work,
        # the request's read session would be a second connection held at the same time.
        with self._session_factory() as session:
            return principal_for(session, uid)

    def rows(self, model: type) -> BatchLoader:
        """A loader of rows of one table by primary key (one query per batch)."""
        if model not in self._rows:
            def batch(ids: set) -> dict:
                return {row.id: row for row in self.session.scalars(
                    select(model).where(model.id.in_(ids)))}

            self._rows[model] = BatchLoader(batch)
        return self._rows[model]

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work of its own for one mutation: committed, or rolled back on error.
        The request's read connection goes back to the pool first: a request never holds two
        connections, so a full pool cannot leave every request waiting for a second one."""
        self.close()
        with session_scope(self._session_factory) as session:
            yield session

    def open_at(self, at: datetime) -> OpenAt:
        """One evaluator per instant: the calendar is read once for a page of places."""
        if at not in self._open_at:
            self._open_at[at] = OpenAt(self.session, at)
        return self._open_at[at]

    def _load_regions(self, codes: set) -> dict:
        found = regions_by_code(self.session, codes)
        # A page that shows region { parent { parent } } then costs one query per level.
        self.regions.want(region.parent_code for region in found.values())
        return found

    @property
    def session(self) -> Session:
        """The request's session for reads (autocommit on PostgreSQL): a mutation writes in
        its own unit of work, `write()`."""
        if self._session is None:
            self._session = self._read_session_factory()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
