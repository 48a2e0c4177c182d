"""upsertServiceItem for the editor console, on both stores: the whole item validated as the
catalog is, by code; revisions of what changed; the item searchable by its new words; refused
whole with a Chinese message and nothing written; editors and admins only."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import delete, func, select

from backend.guidance.catalog import DEMO_CATALOG, read_catalog, upsert_service_items
from backend.guidance.models import ServiceItem, ServiceItemRevision
from tests.booking.conftest import ADMIN, EDITOR, RESIDENT, STAFF, World
from tests.helpers import operation

UPSERT = operation("UpsertServiceItem")
CATALOG = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def demo_items_back(world: World):  # noqa: ANN201
    """The world's items are shared by the session: each test leaves them as the catalog has
    them, without revisions or items of its own."""
    yield
    with world.session() as session:
        session.execute(delete(ServiceItemRevision))
        session.execute(delete(ServiceItem).where(ServiceItem.code == "ZZ-901"))
        upsert_service_items(session, read_catalog())


def _document(world: World) -> dict:
    with world.session() as session:
        code = session.get(ServiceItem, world.item).code
    return copy.deepcopy(next(item for item in CATALOG["items"] if item["code"] == code))


def _upsert(world: World, item: dict | str, uid: str | None = EDITOR) -> dict:
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
    return world.gql(UPSERT, {"item": text}, uid=uid)


def _state(world: World) -> tuple:
    with world.session() as session:
        items = sorted((i.code, i.name, json.dumps(i.guide, ensure_ascii=False), i.is_demo)
                       for i in session.scalars(select(ServiceItem)))
        return items, session.scalar(select(func.count()).select_from(ServiceItemRevision))


def test_upsert__changed_guide__written_revised_and_searchable(world: World):
    item = _document(world)
    item["summary"] = "编辑修改后的办事指南摘要。"
    item["aliases"] = [*item["aliases"], "测试别名甲乙"]

    body = _upsert(world, item)

    assert "errors" not in body, body
    payload = body["data"]["upsertServiceItem"]
    assert payload["errors"] == []
    assert payload["serviceItem"]["guide"]["summary"] == "编辑修改后的办事指南摘要。"
    assert payload["serviceItem"]["guide"]["isDemoContent"] is False
    with world.session() as session:
        (revision,) = session.scalars(select(ServiceItemRevision)).all()
    assert revision.uid == EDITOR and revision.source == "console"
    assert {c["field"] for c in revision.changes} >= {"aliases", "guide.summary"}
    found = world.gql("{ serviceItems(text: \"测试别名甲乙\") { edges { node { id } } } }")
    assert [e["node"]["id"] for e in found["data"]["serviceItems"]["edges"]] == [
        str(world.item)]


def test_upsert__new_code__created_with_a_revision(world: World):
    item = _document(world)
    item["code"], item["name"] = "ZZ-901", "测试新事项"
    payload = _upsert(world, item, uid=ADMIN)["data"]["upsertServiceItem"]
    assert payload["errors"] == [] and payload["serviceItem"]["code"] == "ZZ-901"
    with world.session() as session:
        revision = session.scalar(select(ServiceItemRevision).join(
            ServiceItem, ServiceItem.id == ServiceItemRevision.service_item_id).where(
            ServiceItem.code == "ZZ-901"))
    assert revision.uid == ADMIN
    assert revision.changes[0] == {"field": "code", "old": None, "new": "ZZ-901"}


def _broken(world: World, change) -> dict:  # noqa: ANN001
    item = _document(world)
    change(item)
    return item


BROKEN = {
    "unknown e-certificate": (lambda i: i["materials"][0].update(e_certificate="NO_SUCH"),
                              "e_certificate"),
    "http online url": (lambda i: i.update(online_url="http://example.cn"), "online_url"),
    "no materials": (lambda i: i.update(materials=[]), "materials"),
    "empty name": (lambda i: i.update(name=""), "name"),
    "unknown handling mode": (lambda i: i.update(handling_modes=["BY_PIGEON"]),
                              "handling_modes"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_upsert__invalid_item__refused_whole_nothing_written(world: World, case: str):
    change, field = BROKEN[case]
    before = _state(world)
    payload = _upsert(world, _broken(world, change))["data"]["upsertServiceItem"]
    (error,) = payload["errors"]
    assert error["code"] == "INVALID_GUIDE" and field in error["message"], error
    assert payload["serviceItem"] is None
    assert _state(world) == before


@pytest.mark.parametrize("text", ["{not json", "[]", "\"x\""])
def test_upsert__not_an_item__refused(world: World, text: str):
    before = _state(world)
    body = _upsert(world, text)
    codes = [e["code"] for e in body["data"]["upsertServiceItem"]["errors"]] if body.get(
        "data") else [e["extensions"]["code"] for e in body["errors"]]
    assert codes in (["INVALID_GUIDE"], ["BAD_USER_INPUT"])
    assert _state(world) == before


@pytest.mark.parametrize(("uid", "code"), [(None, "UNAUTHENTICATED"), (RESIDENT, "FORBIDDEN"),
                                           (STAFF, "FORBIDDEN")])
def test_upsert__not_an_editor__refused(world: World, uid, code):  # noqa: ANN001
    before = _state(world)
    body = _upsert(world, _document(world), uid=uid)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert _state(world) == before


def test_document__the_catalog_item_as_stored__round_trips_through_upsert(world: World):
    # given: what the editor console loads for an item
    body = world.gql(operation("ServiceItemDocument"), {"id": str(world.item)}, uid=EDITOR)
    document = json.loads(body["data"]["serviceItem"]["document"])
    codes = {entry["code"] for entry in body["data"]["eCertificates"]}

    # then: it is the catalog's item, its certificates among those offered
    assert document == _document(world) | {"materials": [
        {key: value for key, value in material.items() if key != "when" or value}
        for material in _document(world)["materials"]]}
    assert {m["e_certificate"] for m in document["materials"] if m["e_certificate"]} <= codes

    # and sent back unchanged it changes nothing of its own (an editor's item is no longer
    # the demo catalog's, so only the catalog's demo notice goes)
    result = _upsert(world, document)["data"]["upsertServiceItem"]
    assert result["errors"] == []
    with world.session() as session:
        changed = [change["field"] for revision in session.scalars(select(ServiceItemRevision))
                   for change in revision.changes]
    assert changed in ([], ["guide.notice"])
