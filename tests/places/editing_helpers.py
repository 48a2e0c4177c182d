"""Shared helpers of the editing tests: the console's documents sent as a user, and what the
database holds of a place (to show a refused change wrote nothing)."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.notify.models import Notification
from backend.places.models import Place, PlaceGrid, PlaceGridState, PlaceRevision
from tests.booking.conftest import World
from tests.helpers import operation

OTHER_EDITOR = "editor-nanjing"
NANJING = "320100"
XIHU, GONGSHU, BINJIANG = "330106", "330105", "330108"
# A point in 西湖区 (Hangzhou), WGS-84, away from hall A.
XIHU_POINT = {"lat": 30.2592, "lon": 120.1300}


# The mutations whose permissions tests/places/test_editing_permissions.py checks (and
# test_import_api.py for importPlaces, tests/guidance/test_item_editing.py for
# upsertServiceItem); the booking matrix checks the others.
MUTATIONS = {"createPlace", "updatePlace", "archivePlace", "restorePlace",
             "setPlaceServiceItems", "revertPlace", "importPlaces", "upsertServiceItem"}


def send(world: World, document: str, variables: dict, uid: str | None) -> dict:
    """A document (of graphql/operations/: `operation(name)`) as `uid`; the body."""
    return world.gql(document, variables, uid=uid)


def payload(world: World, document: str, variables: dict, uid: str | None) -> dict:
    """The mutation's payload; the request itself must not fail."""
    body = send(world, document, variables, uid)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def codes(result: dict) -> list[str]:
    return [error["code"] for error in result["errors"]]


def snapshot(world: World, place_id: int | None = None) -> dict:
    """What a refused change must leave as it was: the place's row, the number of places,
    revisions and outbox rows, and the map grid."""
    with world.session() as session:
        row = session.get(Place, place_id) if place_id is not None else None
        return {
            "place": None if row is None else {
                column.name: getattr(row, column.name) for column in Place.__table__.columns},
            "places": session.scalar(select(func.count()).select_from(Place)),
            "revisions": session.scalar(select(func.count()).select_from(PlaceRevision)),
            "outbox": session.scalar(select(func.count()).select_from(Notification)),
            "grid": sorted(session.execute(select(PlaceGrid.zoom, PlaceGrid.ix, PlaceGrid.iy,
                                                  PlaceGrid.kind, PlaceGrid.count)).all()),
            "grid_state": session.execute(select(PlaceGridState.version,
                                                 PlaceGridState.built_version)).one(),
        }


def new_place_input(**overrides) -> dict:  # noqa: ANN003
    data = {"name": "西湖区社区养老服务中心", "kind": "ELDERLY_CARE",
            "address": "杭州市西湖区文三路 1 号", "phone": "0571-87654321",
            "location": XIHU_POINT, "regionCode": XIHU,
            "openingHours": "Mo-Su 08:00-18:00", "beds": 120, "availableBeds": 30,
            "acceptsNonLocal": True, "careLevels": ["自理", "半失能"]}
    data.update(overrides)
    return data


def create(world: World, uid: str, **overrides) -> dict:  # noqa: ANN003
    result = payload(world, operation("CreatePlace"), {"input": new_place_input(**overrides)},
                     uid)
    assert result["errors"] == [], result
    return result["place"]
