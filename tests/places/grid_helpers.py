"""What the map grid holds, for the tests that compare it: its rows (sums rounded, since the
database may add a cell's parts in another order), and the invariant of its all-kinds rows."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import select

from backend.places.clusters import ALL_KINDS
from backend.places.models import PlaceGrid


def grid_rows(session) -> list[tuple]:  # noqa: ANN001
    rows = session.execute(select(PlaceGrid).order_by(
        PlaceGrid.zoom, PlaceGrid.ix, PlaceGrid.iy, PlaceGrid.kind)).scalars()
    return [(r.zoom, r.ix, r.iy, r.kind, r.count, round(r.lat_sum, 9), round(r.lon_sum, 9),
             r.south, r.west, r.north, r.east, r.first_id) for r in rows]


def assert_all_kinds_rows_sum_kinds(session) -> None:  # noqa: ANN001
    """Every cell of every zoom holding places has one all-kinds row, and it is the sum of
    the cell's per-kind rows: count and sums added, bounds and first id the extremes."""
    kinds: dict[tuple, list] = defaultdict(list)
    every: dict[tuple, object] = {}
    for row in session.execute(select(PlaceGrid)).scalars():
        if row.kind == ALL_KINDS:
            every[row.zoom, row.ix, row.iy] = row
        else:
            kinds[row.zoom, row.ix, row.iy].append(row)
    assert set(every) == set(kinds)
    for key, parts in kinds.items():
        row = every[key]
        assert row.count == sum(p.count for p in parts), key
        assert row.lat_sum == pytest.approx(sum(p.lat_sum for p in parts), abs=1e-9), key
        assert row.lon_sum == pytest.approx(sum(p.lon_sum for p in parts), abs=1e-9), key
        assert (row.south, row.west, row.north, row.east, row.first_id) == (
            min(p.south for p in parts), min(p.west for p in parts),
            max(p.north for p in parts), max(p.east for p in parts),
            min(p.first_id for p in parts)), key
