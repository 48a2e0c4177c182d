"""Editors set which service items a place handles, and revert a place to an earlier version:
versioned changes of the place with their revisions, like any other edit
(backend.places.editing.write_change). Revert lives here because a place's history includes
the items it handles, which are guidance's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.unit_of_work import UnitOfWork
from backend.guidance.handling import set_items_handled
from backend.guidance.models import PlaceServiceItem, ServiceItem
from backend.places.editing import FIELDS, columns_of, load_for_edit, write_change
from backend.places.errors import PlaceError
from backend.places.events import PlaceArchived, PlaceRestored
from backend.places.models import Place, PlaceRevision
from backend.places.regions import region_codes_at
from backend.places.validation import check_kind_attributes

MAX_ITEMS = 200


def set_place_service_items(uow: UnitOfWork, principal: Principal, *, place_id: int,
                            version: int, service_item_ids: list[int],
                            source: str = "console") -> Place:
    with uow:
        session = uow.session
        place = load_for_edit(session, principal, place_id, version)
        wanted = sorted(set(service_item_ids))
        if len(wanted) > MAX_ITEMS:
            raise PlaceError("INVALID_INPUT", f"最多 {MAX_ITEMS} 个事项", "serviceItemIds")
        found = set(session.scalars(select(ServiceItem.id).where(ServiceItem.id.in_(wanted))))
        missing = [item_id for item_id in wanted if item_id not in found]
        if missing:
            raise PlaceError("NOT_FOUND", "未找到事项：" + "、".join(map(str, missing)),
                             "serviceItemIds")
        current = sorted(session.scalars(select(PlaceServiceItem.service_item_id).where(
            PlaceServiceItem.place_id == place.id)))
        if current != wanted:
            write_change(uow, principal, place, version, {},
                         [{"field": "serviceItems", "old": [str(i) for i in current],
                           "new": [str(i) for i in wanted]}], action="items", source=source)
            set_items_handled(session, place.id, wanted)
        uow.commit()
    return place


def _items_of(session: Session, place_id: int) -> list[int]:
    return sorted(session.scalars(select(PlaceServiceItem.service_item_id).where(
        PlaceServiceItem.place_id == place_id)))


def revert_place(uow: UnitOfWork, principal: Principal, *, place_id: int, to_version: int,
                 version: int, source: str = "console", now=None) -> Place:  # noqa: ANN001
    """Put back the values the place had at `to_version`, as a new revision (history is
    never rewritten); an archive or restore in between is undone with its consequences."""
    with uow:
        session = uow.session
        place = load_for_edit(session, principal, place_id, version)
        if not 1 <= to_version < place.version:
            raise PlaceError("INVALID_INPUT", f"toVersion 须在 1 到 {place.version - 1} 之间",
                             "toVersion")
        target: dict = {}
        for revision in session.scalars(select(PlaceRevision).where(
                PlaceRevision.place_id == place.id, PlaceRevision.version > to_version)
                .order_by(PlaceRevision.version.desc())):
            for change in revision.changes:
                target[change["field"]] = change["old"]
        columns = {column for column, api_field in FIELDS.items() if api_field in target}
        values = {column: target[FIELDS[column]] for column in columns}
        location = target.get("location")
        if location is not None:
            values.update(lat=location["lat"], lon=location["lon"],
                          **region_codes_at(session, location["lat"], location["lon"]))
        before = columns_of(place)
        check_kind_attributes({**before, **values})
        values = {column: value for column, value in values.items()
                  if value != before.get(column)}
        changes = [{"field": "location", "old": {"lat": place.lat, "lon": place.lon},
                    "new": location}] if "lat" in values or "lon" in values else []
        changes += [{"field": FIELDS[c], "old": before.get(c), "new": values[c]}
                    for c in FIELDS if c in values]
        items = None
        if "serviceItems" in target:
            items = sorted(int(i) for i in target["serviceItems"])
            current = _items_of(session, place.id)
            if items != current:
                changes.append({"field": "serviceItems", "old": [str(i) for i in current],
                                "new": [str(i) for i in items]})
            else:
                items = None
        if changes:
            write_change(uow, principal, place, version, values, changes, action="revert",
                         source=source)
            if items is not None:
                set_items_handled(session, place.id, items)
            if "archived" in values:
                at = now or utcnow()
                uow.record(PlaceArchived(place.id, place.archived_reason or "恢复到早期版本", at)
                           if place.archived else PlaceRestored(place.id, at))
        uow.commit()
    return place
