"""Loaders of what a page of places shows: regions, items handled, bookable windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from backend.booking.windows import every_window_at, windows_at
from backend.core.ids import api_id
from backend.guidance.queries import ItemView, items_handled_at, read_place
from backend.places.models import Place
from backend.places.regions import RegionRow, regions_by_code
from backend.schema.core.dataloaders import DataLoader, RowById
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode


class RegionByCode(DataLoader):
    """Answered at once: every region's row is kept per process (backend.places.regions), so a
    batch would save no statement, only cost a round of the executor per level of a chain."""

    def load(self, key: str | None) -> RegionRow | None:
        if key is None:
            return None
        if key not in self._values:
            self._values[key] = regions_by_code(self.context.session, (key,)).get(key)
        return self._values[key]

    def batch_load(self, codes: Sequence[str]) -> list:
        found = regions_by_code(self.context.session, set(codes))
        return [found.get(code) for code in codes]


class PlaceById(RowById):
    model = Place


class ItemsHandledAt(DataLoader):
    def batch_load(self, place_ids: Sequence[int]) -> list:
        found = items_handled_at(self.context.session, place_ids)
        return [found.get(key, []) for key in place_ids]


class WindowsAt(DataLoader):
    def batch_load(self, place_ids: Sequence[int]) -> list:
        found = windows_at(self.context.session, place_ids)
        return [found.get(key, []) for key in place_ids]


class EveryWindowAt(DataLoader):
    """Inactive windows too, for the hall's editors (the domain checks who asks)."""

    def batch_load(self, place_ids: Sequence[int]) -> list:
        session = self.context.session
        places = [session.get(Place, key) for key in dict.fromkeys(place_ids)]
        found = every_window_at(session, self.context.principal, places)
        return [found.get(key, []) for key in place_ids]


# Fields of ServiceItem that an ItemView answers (its attributes are the fields' names).
LIGHT_ITEM_FIELDS = frozenset({*ItemView._fields, "__typename"})


def _selected(info, nodes: Iterable[FieldNode]) -> dict[str, list[FieldNode]]:  # noqa: ANN001
    """The fields the selections of `nodes` ask for, by name (through fragments)."""
    found: dict[str, list[FieldNode]] = {}

    def collect(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.setdefault(selection.name.value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is None:  # not given to this executor's info: unknown fields
                    found.setdefault("...", [])
                else:
                    collect(fragment.selection_set)

    for node in nodes:
        collect(node.selection_set)
    return found


def place_by_id(info, place_id: str) -> Place | None:  # noqa: ANN001
    """`place(id)`: the row, and in the same statement what its selection asks next — the
    items it handles (`handled_items`) and, for `isOpen`, the calendar kind of the request's
    day, handed to its opening-hours evaluator — so a detail sheet costs one statement."""
    key = api_id(place_id)
    if key is None:
        return None
    fields = _selected(info, info.field_nodes)
    items = fields.get("serviceItems")
    light_items = items is not None and all(
        name in LIGHT_ITEM_FIELDS for name in _selected(info, items))
    # `isOpen` without `at` asks about the request's minute: its day's kind comes along.
    open_at = (info.context.open_at()
               if any(not node.arguments for node in fields.get("isOpen", ())) else None)
    read = read_place(info.context.session, key, items=items is not None,
                      light_items=light_items,
                      day=open_at.at.date() if open_at is not None else None)
    if read is None:
        return None
    if open_at is not None:
        open_at.prime_day_kind(read.day_kind)
    return read.place
