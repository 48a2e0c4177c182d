"""Loaders of guidance's types: the places that handle each item of a page."""

from __future__ import annotations

from collections.abc import Sequence

from backend.guidance.queries import pages_of_places_handling
from backend.schema.core.dataloaders import DataLoader


class PlacesHandlingItem(DataLoader):
    """Keys are (item id, the search's criteria as sorted pairs): items asked with the same
    criteria share one batched search."""

    def batch_load(self, keys: Sequence[tuple[int, tuple]]) -> list:
        by_criteria: dict[tuple, list[int]] = {}
        for item_id, criteria in keys:
            by_criteria.setdefault(criteria, []).append(item_id)
        pages = {}
        for criteria, item_ids in by_criteria.items():
            found = pages_of_places_handling(self.context.session, self.context.store,
                                             item_ids, **dict(criteria))
            pages.update(((item_id, criteria), page) for item_id, page in found.items())
        return [pages[key] for key in keys]
