"""Reading the catalog: items by id, text and category; a resident's personal checklist."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import Date, Select, bindparam, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.core.errors import InvalidInput
from backend.core.paging import decode_cursor, encode_cursor, validate_page_size
from backend.guidance.catalog import Guide, Material, Question
from backend.guidance.models import PlaceServiceItem, ServiceItem
from backend.places.calendar import day_kind_column
from backend.places.models import Place
from backend.places.search import (
    PlacePage,
    PlaceQuery,
    load_places,
    page_of,
    prepare_search,
    search_places,
)
from backend.places.store import PAGE_COLUMNS, SpatialStore, place_of_row
from backend.places.text import parse_text_query, ranked_matches

ITEM_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_ITEM_ID = 2**31 - 1


def get_service_item(session: Session, item_id: str) -> ServiceItem | None:
    """The item with this API id, or None for any id no item can have."""
    if not ITEM_ID.fullmatch(str(item_id)) or int(item_id) > MAX_ITEM_ID:
        return None
    return session.get(ServiceItem, int(item_id))


def require_service_item(session: Session, item_id: str, field: str = "id") -> ServiceItem:
    item = get_service_item(session, item_id)
    if item is None:
        raise InvalidInput(f"未知的办事事项：{item_id}", field)
    return item


def guide_of(item: ServiceItem) -> Guide:
    return Guide.from_json(item.guide)


def list_categories(session: Session) -> list[str]:
    return list(session.scalars(
        select(ServiceItem.category).distinct().order_by(ServiceItem.category)
    ))


def items_handled_at(session: Session, place_ids: Iterable[int]) -> dict[int, list[ServiceItem]]:
    """The items each place handles, by code order: two queries for a page of places (the
    links, then each distinct item once — a hall handles dozens of the same few items)."""
    result: dict[int, list[ServiceItem]] = {place_id: [] for place_id in place_ids}
    if not result:
        return result
    links = session.execute(
        select(PlaceServiceItem.place_id, PlaceServiceItem.service_item_id)
        .where(PlaceServiceItem.place_id.in_(list(result)))
    ).all()
    item_ids = {item_id for _, item_id in links}
    items = {item.id: item for item in session.scalars(
        select(ServiceItem).where(ServiceItem.id.in_(item_ids))
    )} if item_ids else {}
    for place_id, item_id in links:
        result[place_id].append(items[item_id])
    for handled in result.values():
        handled.sort(key=lambda item: item.code)
    return result


class ItemView(NamedTuple):
    """What a list of items shows of one (no guide): the row of an item read with its place."""

    id: int
    code: str
    name: str
    category: str
    aliases: list[str]


_ITEM_COLUMNS = tuple(ServiceItem.__table__.c[name] for name in ItemView._fields)


@dataclass(frozen=True)
class PlaceRead:
    # Read-only, in no session (`store.place_of_row`); `handled_items`: the items it handles
    # when they were read along (else None).
    place: Place
    day_kind: str | None  # the stored kind of the asked calendar day (None: no row, not asked)


@functools.cache
def _place_read_statement(items: bool, light_items: bool, day: bool) -> Select:
    # Built once per variant: every detail request sends the same shape.
    place, link, item = Place.__table__, PlaceServiceItem.__table__, ServiceItem.__table__
    columns: list = list(PAGE_COLUMNS)
    if items:
        columns += ([column.label(f"item_{column.key}") for column in _ITEM_COLUMNS]
                    if light_items else [ServiceItem])
    if day:
        columns.append(day_kind_column(bindparam("day", type_=Date)).label("day_kind"))
    statement = select(*columns).where(place.c.id == bindparam("place_id"))
    if items:
        statement = statement.select_from(
            place.outerjoin(link, link.c.place_id == place.c.id)
            .outerjoin(item, item.c.id == link.c.service_item_id))
    return statement


def read_place(session: Session, place_id: int, *, items: bool = False,
               light_items: bool = False, day: date | None = None) -> PlaceRead | None:
    """One place by id in one statement; with the items it handles when asked (in
    `items_handled_at`'s order; as ItemViews when `light_items`, else as ServiceItems), and
    the stored kind of a calendar day (`calendar.day_kind_column`) when asked. None when no
    place has this id."""
    statement = _place_read_statement(items, light_items, day is not None)
    parameters = {"place_id": place_id} if day is None else {"place_id": place_id, "day": day}
    rows = session.execute(statement, parameters).all()
    if not rows:
        return None
    width = len(PAGE_COLUMNS)
    handled = None
    if items and light_items:
        end = width + len(_ITEM_COLUMNS)
        handled = [ItemView._make(row[width:end]) for row in rows if row[width] is not None]
    elif items:
        handled = [row[width] for row in rows if row[width] is not None]
    if handled is not None:
        handled.sort(key=lambda handled_item: handled_item.code)
    first = rows[0]
    place = place_of_row(tuple(first[:width]))
    place.handled_items = handled
    return PlaceRead(place, first[-1] if day is not None else None)


@dataclass(frozen=True)
class ItemHit:
    item: ServiceItem
    cursor: str


@dataclass(frozen=True)
class ItemPage:
    hits: list[ItemHit]
    has_next_page: bool
    has_previous_page: bool


def search_service_items(
    session: Session,
    *,
    text: str | None = None,
    category: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> ItemPage:
    """Items matching the text (by relevance) or all (by id), optionally in one category."""
    limit = validate_page_size(first)
    query = parse_text_query(text)
    conditions = []
    if category is not None:
        conditions.append(ServiceItem.category == category)
    if query is None:
        if after is not None:
            conditions.append(ServiceItem.id > decode_cursor(after, "i")["i"])
        statement = (select(ServiceItem).where(*conditions)
                     .order_by(ServiceItem.id).limit(limit + 1))
        rows = [(None, item) for item in session.scalars(statement)]
    else:
        matches = ranked_matches(session.get_bind().dialect.name, "service_item", query)
        statement = (select(matches.c.score, ServiceItem)
                     .join(matches, matches.c.id == ServiceItem.id).where(*conditions))
        if after is not None:
            key = decode_cursor(after, "r")
            statement = statement.where(
                tuple_(matches.c.score, ServiceItem.id) > tuple_(float(key["d"]), key["i"])
            )
        statement = statement.order_by(matches.c.score, ServiceItem.id).limit(limit + 1)
        rows = [(float(score), item) for score, item in session.execute(statement)]
    hits = [
        ItemHit(item=item, cursor=encode_cursor(
            {"o": "i", "i": item.id} if score is None else {"o": "r", "d": score, "i": item.id}
        ))
        for score, item in rows[:limit]
    ]
    return ItemPage(hits=hits, has_next_page=len(rows) > limit,
                    has_previous_page=after is not None)


@dataclass(frozen=True)
class Checklist:
    """What one resident must bring, from their answers to the guide's questions."""

    materials: list[Material]
    # Questions still unanswered that decide further materials, and those materials.
    pending_questions: list[Question]
    conditional_materials: list[Material]


def checklist(item: ServiceItem, answers: Iterable[tuple[str, bool]]) -> Checklist:
    """The personal materials list; InvalidInput for unknown or contradictory answers."""
    guide = guide_of(item)
    known = {question.id for question in guide.questions}
    given: dict[str, bool] = {}
    for question_id, answer in answers:
        if question_id not in known:
            raise InvalidInput(f"事项 {item.name} 没有问题 {question_id}", "answers")
        if given.get(question_id, answer) != answer:
            raise InvalidInput(f"问题 {question_id} 的回答前后矛盾", "answers")
        given[question_id] = answer
    required, conditional = [], []
    for material in guide.materials:
        decided = material.required_for(given)
        if decided:
            required.append(material)
        elif decided is None:
            conditional.append(material)
    pending = {question for material in conditional for question in material.when
               if question not in given}
    return Checklist(
        materials=required,
        pending_questions=[q for q in guide.questions if q.id in pending],
        conditional_materials=conditional,
    )


def handles_item(session: Session, service_item_id: str) -> ColumnElement[bool]:
    """A place condition: handles this item; InvalidInput when the item is unknown."""
    item = require_service_item(session, service_item_id, "serviceItemId")
    return Place.id.in_(select(PlaceServiceItem.place_id)
                        .where(PlaceServiceItem.service_item_id == item.id))


def search_places_handling(session: Session, store: SpatialStore, service_item_id: str,
                           **criteria) -> PlacePage:
    """`search_places` among the places that handle an item (the criteria are its own)."""
    return search_places(session, store, conditions=(handles_item(session, service_item_id),),
                         **criteria)


def pages_of_places_handling(session: Session, store: SpatialStore, item_ids: Sequence[int],
                             *, first: int | None = None, **criteria) -> dict[int, PlacePage]:
    """For each item, the page `search_places_handling` gives it, in a few statements for the
    whole list however long it is: one search over the places that handle any of the items,
    shared out by item (each item's places keep the search's order), continued with a batch
    twice as large only while some item's page is short. Rounds grow the batch geometrically,
    so their number stays logarithmic in the places searched, not linear in the items."""
    limit = validate_page_size(first)
    wanted = limit + 1
    matches: dict[int, list] = {item_id: [] for item_id in item_ids}
    short = set(matches)
    first_query = None
    after = None
    batch = wanted * max(len(short), 1)
    while short:
        query = prepare_search(session, store, conditions=(_handles_any(short),), **criteria)
        if first_query is None:
            first_query, after = query, query.after_key
        candidates = query.fetch(after, batch)
        handled: dict[int, list[int]] = {}
        if len(short) == 1:  # every candidate handles the one item asked for
            handled = {candidate[1]: list(short) for candidate in candidates}
        elif candidates:
            for place_id, item_id in session.execute(
                select(PlaceServiceItem.place_id, PlaceServiceItem.service_item_id).where(
                    PlaceServiceItem.place_id.in_([candidate[1] for candidate in candidates]),
                    PlaceServiceItem.service_item_id.in_(short))
            ):
                handled.setdefault(place_id, []).append(item_id)
        for candidate in candidates:
            for item_id in handled.get(candidate[1], ()):
                if len(matches[item_id]) < wanted:
                    matches[item_id].append(candidate)
        short = {item_id for item_id in short if len(matches[item_id]) < wanted}
        if len(candidates) < batch:
            break
        after, batch = PlaceQuery.key_of(candidates[-1]), batch * 2
    if first_query is None:
        return {}
    rows = load_places(session, sorted({candidate[1] for found in matches.values()
                                        for candidate in found[:limit]}))
    return {item_id: page_of(session, first_query, found, limit, rows)
            for item_id, found in matches.items()}


def _handles_any(item_ids: set[int]) -> ColumnElement[bool]:
    return Place.id.in_(select(PlaceServiceItem.place_id)
                        .where(PlaceServiceItem.service_item_id.in_(sorted(item_ids))))
