"""The unit of work (Cosmic Python's): one transaction, and the events recorded in it.

A use case owns its transaction: `with uow: …; uow.commit()`. Leaving the block without a
commit, or with an error, rolls everything back. `commit()` first hands the recorded events
to their handlers, in the same transaction; a handler may record further events. A use case
called inside another's block joins that transaction (only the outermost block commits)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from backend.core.events import NO_HANDLERS, Event, EventHandlers


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session],
                 handlers: EventHandlers = NO_HANDLERS) -> None:
        self._session_factory = session_factory
        self._handlers = handlers
        self._session: Session | None = None
        self._depth = 0
        self._events: list[Event] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._session = self._session_factory()
            self._events = []
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._depth -= 1
        if self._depth:
            return
        try:
            self.rollback()
        finally:
            self.session.close()
            self._session = None

    def record(self, *events: Event) -> None:
        self._events.extend(events)

    def commit(self) -> None:
        """Run the handlers of what was recorded, then commit (the outermost block only)."""
        self.publish()
        if self._depth == 1:
            self.session.commit()

    def publish(self) -> None:
        while self._events:
            event = self._events.pop(0)
            for handler in self._handlers.for_event(event):
                handler(self, event)

    def rollback(self) -> None:
        self._events.clear()
        self.session.rollback()


P = ParamSpec("P")
R = TypeVar("R")


def transactional(use_case: Callable[Concatenate[UnitOfWork, P], R]
                  ) -> Callable[Concatenate[UnitOfWork, P], R]:
    """A use case written against `uow.session`, run as one transaction of its unit of work:
    committed when it returns, rolled back when it raises."""

    @functools.wraps(use_case)
    def run(uow: UnitOfWork, *args: P.args, **kwargs: P.kwargs) -> R:
        with uow:
            result = use_case(uow, *args, **kwargs)
            uow.commit()
        return result

    return run
