"""The permission matrix of editing places, over HTTP /graphql with real signed ID tokens, on
both stores. Hall A is in 西湖区 (330106) of Hangzhou (330100), hall B in Nanjing.

Policy: an editor of a region edits the places in it (a city grant covers its counties, a
county grant only that county), and may put a place only in a county it covers; admins edit
everywhere; anyone else signed in gets FORBIDDEN, anonymous UNAUTHENTICATED — as GraphQL
errors, and nothing is written (no place change, revision, outbox row or grid change)."""

from __future__ import annotations

import pytest

from tests.booking.conftest import ADMIN, EDITOR, RESIDENT, STAFF, World
from tests.helpers import grant_role, operation
from tests.places.editing_helpers import (
    GONGSHU,
    MUTATIONS,
    NANJING,
    OTHER_EDITOR,
    XIHU,
    new_place_input,
    send,
    snapshot,
)

COUNTY_EDITOR = "editor-xihu"
PRINCIPALS = {"anonymous": None, "resident": RESIDENT, "staff": STAFF, "city_editor": EDITOR,
              "county_editor": COUNTY_EDITOR, "other_city_editor": OTHER_EDITOR,
              "admin": ADMIN}
HANGZHOU_EDITORS = {"city_editor", "county_editor", "admin"}


@pytest.fixture
def grants(world: World) -> World:
    with world.session() as session:
        grant_role(session, COUNTY_EDITOR, "editor", region_code=XIHU)
        grant_role(session, OTHER_EDITOR, "editor", region_code=NANJING)
    return world


def _version(world: World, place_id: int) -> int:
    return snapshot(world, place_id)["place"]["version"]


def _archive_first(world: World) -> dict:
    body = send(world, operation("ArchivePlace"), {"id": str(world.hall_a), "version": 1,
                                        "reason": "搬迁"}, ADMIN)
    assert body["data"]["archivePlace"]["errors"] == [], body
    return {"id": str(world.hall_a), "version": 2}


def _changed_by_admin(world: World) -> dict:
    body = send(world, operation("UpdatePlace"), {"id": str(world.hall_a), "version": 1,
                                                  "input": {"phone": "0571-88880001"}}, ADMIN)
    assert body["data"]["updatePlace"]["errors"] == [], body
    return {"id": str(world.hall_a), "toVersion": 1, "version": 2}


CASES = {
    # name: (document, variables(world), principals allowed)
    "revert hall A": ("RevertPlace", _changed_by_admin, HANGZHOU_EDITORS),
    "create in 西湖区": ("CreatePlace", lambda w: {"input": new_place_input()},
                      HANGZHOU_EDITORS),
    "update hall A": ("UpdatePlace", lambda w: {"id": str(w.hall_a), "version": 1,
                                                "input": {"phone": "0571-88880000"}},
                      HANGZHOU_EDITORS),
    "archive hall A": ("ArchivePlace", lambda w: {"id": str(w.hall_a), "version": 1,
                                                  "reason": "装修停业"}, HANGZHOU_EDITORS),
    "restore hall A": ("RestorePlace", _archive_first, HANGZHOU_EDITORS),
    "items of hall A": ("SetPlaceServiceItems",
                        lambda w: {"id": str(w.hall_a), "version": 1,
                                   "serviceItemIds": [str(w.item)]}, HANGZHOU_EDITORS),
    "update hall B": ("UpdatePlace", lambda w: {"id": str(w.hall_b), "version": 1,
                                                "input": {"phone": "025-88880000"}},
                      {"other_city_editor", "admin"}),
    # into a county of the same city: the city's editor only (the county editor's grant
    # does not cover 拱墅区)
    "move hall A to 拱墅区": ("UpdatePlace", lambda w: {
        "id": str(w.hall_a), "version": 1, "regionCode": GONGSHU,
        "input": {"location": {"lat": 30.3190, "lon": 120.1420}, "regionCode": GONGSHU},
        "acknowledge": ["LARGE_MOVE"]}, {"city_editor", "admin"}),
}


@pytest.mark.parametrize("principal", sorted(PRINCIPALS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_editing__permission_matrix(grants: World, case: str, principal: str):
    world = grants
    document, variables_of, allowed = CASES[case]
    variables = variables_of(world)
    variables.pop("regionCode", None)
    before = snapshot(world, world.hall_a)

    body = send(world, operation(document), variables, PRINCIPALS[principal])

    if principal in allowed:
        assert "errors" not in body, body
        result = next(iter(body["data"].values()))
        assert result["errors"] == [] and result["place"] is not None, result
    else:
        expected = "UNAUTHENTICATED" if principal == "anonymous" else "FORBIDDEN"
        assert [e["extensions"]["code"] for e in body["errors"]] == [expected], body
        assert body["data"] is None
        assert snapshot(world, world.hall_a) == before


@pytest.mark.parametrize("principal", sorted(PRINCIPALS))
def test_revisions__editors_of_the_region_only(grants: World, principal: str):
    body = send(grants, operation("EditPlace"), {"id": str(grants.hall_a)}, PRINCIPALS[principal])
    if principal in HANGZHOU_EDITORS:
        assert "errors" not in body, body
        assert body["data"]["place"]["revisions"]["edges"] == []
    else:
        expected = "UNAUTHENTICATED" if principal == "anonymous" else "FORBIDDEN"
        assert [e["extensions"]["code"] for e in body["errors"]] == [expected]
        assert [e["path"] for e in body["errors"]] == [["place", "revisions"]]


def test_editing__every_place_mutation__in_the_matrix():
    from backend.schema.schema import schema

    documents = {operation(document) for document, _, _ in CASES.values()}
    covered = {name for name in MUTATIONS if any(f"{name}(" in text for text in documents)}
    # importPlaces answers rows outside the editor's regions in its report, not FORBIDDEN:
    # its permissions are tested in test_import_api.py; upsertServiceItem's in
    # tests/guidance/test_item_editing.py.
    assert covered == MUTATIONS - {"importPlaces", "upsertServiceItem"}
    assert set(schema.graphql_schema.mutation_type.fields) >= MUTATIONS
