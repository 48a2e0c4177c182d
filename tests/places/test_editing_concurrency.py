"""Two editors save the same version of a place at the same moment (real threads released by a
barrier, each with its own unit of work), on SQLite and PostgreSQL: exactly one wins, the other
gets STALE_VERSION naming the winner's version, and one revision is written."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from backend.accounts.grants import principal_for
from backend.places import editing
from backend.places.errors import PlaceError
from backend.places.models import Place, PlaceRevision
from backend.places.search import GeoPoint
from tests.booking.conftest import ADMIN, EDITOR, World
from tests.places.editing_helpers import XIHU_POINT, create

ROUNDS = 4
BARRIER_TIMEOUT = 60

INPUTS = {
    # a small update (no grid lock) and a move (the grid state is locked first)
    "beds": lambda i, n: editing.PlaceInput(available_beds=10 + 2 * i + n),
    "move": lambda i, n: editing.PlaceInput(location=GeoPoint(
        XIHU_POINT["lat"] + 0.0005 * (n + 1), XIHU_POINT["lon"] + 0.0005 * i)),
}


@pytest.mark.parametrize("change", sorted(INPUTS))
def test_update__same_version_at_once__one_wins_one_stale(world: World, change: str):
    place_id = int(create(world, EDITOR)["id"])
    with world.session() as session:
        principals = [principal_for(session, EDITOR), principal_for(session, ADMIN)]

    for round_ in range(ROUNDS):
        version = round_ + 1
        barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

        def save(n: int, version: int = version, round_: int = round_, barrier=barrier):  # noqa: ANN001, ANN202
            uow = world.services.unit_of_work()
            barrier.wait()
            try:
                result = editing.update_place(
                    uow, principals[n], place_id=place_id, version=version,
                    data=INPUTS[change](round_, n), acknowledge=["DUPLICATE_SUSPECTED"])
                return "ok", result.place.version
            except PlaceError as error:
                return error.code, error.message

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(save, range(2)))

        assert sorted(code for code, _ in outcomes) == ["STALE_VERSION", "ok"], outcomes
        winner = next(value for code, value in outcomes if code == "ok")
        loser = next(value for code, value in outcomes if code == "STALE_VERSION")
        assert winner == version + 1 and f"当前版本为 {version + 1}" in loser
        with world.session() as session:
            assert session.get(Place, place_id).version == version + 1
            assert session.scalars(select(PlaceRevision.version).where(
                PlaceRevision.place_id == place_id).order_by(PlaceRevision.version)
            ).all() == list(range(1, version + 2))
