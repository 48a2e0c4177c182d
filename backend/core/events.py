"""Domain events: what a use case records on its unit of work, for higher domains to act on.

A lower domain never calls a higher one (booking does not know notify): it records what
happened, and the handlers the composition root wired (backend/app.py) run inside the same
transaction when the unit of work commits, so what they write commits or rolls back with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: the unit of work imports this module
    from backend.core.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Event:
    """Something that happened; subclasses carry what their handlers need."""


Handler = Callable[["UnitOfWork", Event], None]


class EventHandlers:
    """Which handlers run for which event type (and for its base classes), in wiring order."""

    def __init__(self, *tables: Mapping[type[Event], Sequence[Handler]]) -> None:
        self._handlers: dict[type[Event], list[Handler]] = {}
        for table in tables:
            for event_type, handlers in table.items():
                self._handlers.setdefault(event_type, []).extend(handlers)

    def for_event(self, event: Event) -> Iterable[Handler]:
        for event_type in type(event).__mro__:
            yield from self._handlers.get(event_type, ())


NO_HANDLERS = EventHandlers()
