"""Which places handle which items, and the search tokens that follow from it.

A place's search document is its name, its address and the names and aliases of the items it
handles, so "社保" finds the halls with a 社会保障卡 window as well as the items.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from backend.guidance.models import PlaceServiceItem, ServiceItem
from backend.places.models import Place
from backend.places.text import search_document

BATCH = 2_000


def set_items_handled(session: Session, place_id: int, item_ids: Iterable[int]) -> None:
    """Replace the items a place handles, and re-index the place."""
    session.execute(delete(PlaceServiceItem).where(PlaceServiceItem.place_id == place_id))
    rows = [{"place_id": place_id, "service_item_id": item_id} for item_id in set(item_ids)]
    if rows:
        session.execute(insert(PlaceServiceItem), rows)
    refresh_place_search_text(session, [place_id])


def refresh_place_search_text(session: Session, place_ids: Iterable[int] | None = None) -> int:
    """Recompute the search tokens of these places (all when None); returns rows changed."""
    item_tokens = {
        item.id: item.search_text or "" for item in session.scalars(select(ServiceItem))
    }
    if place_ids is None:
        return _refresh(session, item_tokens, None)
    ids = list(place_ids)
    # In batches: an import of many places must not exceed SQLite's bound-parameter limit.
    return sum(_refresh(session, item_tokens, ids[start:start + BATCH])
               for start in range(0, len(ids), BATCH))


def _refresh(session: Session, item_tokens: dict[int, str], ids: list[int] | None) -> int:
    handled: dict[int, list[int]] = {}
    statement = select(PlaceServiceItem.place_id, PlaceServiceItem.service_item_id)
    places = select(Place.id, Place.name, Place.address, Place.search_text).order_by(Place.id)
    if ids is not None:
        statement = statement.where(PlaceServiceItem.place_id.in_(ids))
        places = places.where(Place.id.in_(ids))
    for place_id, item_id in session.execute(statement):
        handled.setdefault(place_id, []).append(item_id)
    changed = []
    for place_id, name, address, current in session.execute(places).all():
        tokens = dict.fromkeys(search_document(name, address).split())
        for item_id in sorted(handled.get(place_id, ())):
            tokens.update(dict.fromkeys(item_tokens[item_id].split()))
        document = " ".join(tokens)
        if document != current:
            changed.append({"id": place_id, "search_text": document})
    for start in range(0, len(changed), BATCH):
        session.execute(update(Place), changed[start:start + BATCH])
    return len(changed)
