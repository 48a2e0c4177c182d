"""Relay pagination: PageInfo from a domain page's bounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import graphene

from backend.core.paging import Page, PageBounds


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()

    @classmethod
    def of(cls, page: Page, items: Sequence,
           cursor_of: Callable[[Any], str] = attrgetter("cursor")) -> PageBounds:
        """A page's flags, and the cursors of its first and last items."""
        return PageBounds.of(page, items, cursor_of)


class HitsConnection(graphene.ObjectType):
    """A connection over a domain page whose `hits` are the edges (each hit has its `cursor`).
    Subclasses declare `edges, page_info = HitsConnection.fields(PlaceEdge)` (in that order:
    the printed schema lists edges first)."""

    class Meta:
        abstract = True

    @staticmethod
    def fields(edge_type: type[graphene.ObjectType]) -> tuple[graphene.List, graphene.Field]:
        return (graphene.List(graphene.NonNull(edge_type), required=True),
                graphene.Field(PageInfo, required=True))

    @staticmethod
    def resolve_edges(page, info):
        return page.hits

    @staticmethod
    def resolve_page_info(page, info):
        return PageInfo.of(page, page.hits)
