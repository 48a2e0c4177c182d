"""serviceItems / serviceItem / checklist over HTTP with the apps' documents, both stores."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from backend.db import session_scope
from backend.guidance.catalog import Guide
from backend.guidance.models import ServiceItem
from backend.places.text import parse_text_query
from tests.helpers import error_codes, gql, gql_data, operation

SEARCH = operation("SearchServiceItems")
GUIDE = operation("ServiceItemGuide")
CHECKLIST = operation("Checklist")
ITEM_PLACES = operation("ServiceItemPlaces")


@pytest.fixture(scope="module")
def items(demo_app) -> dict[str, ServiceItem]:
    with session_scope(demo_app.extensions["servicemap"].session_factory) as session:
        return {str(item.id): item for item in session.scalars(select(ServiceItem))}


def search_all(client, variables: dict, first: int = 7) -> list[dict]:
    edges, after = [], None
    while True:
        data = gql_data(client, SEARCH, {**variables, "first": first, "after": after})
        connection = data["serviceItems"]
        edges += connection["edges"]
        if not connection["pageInfo"]["hasNextPage"]:
            return edges
        assert len(connection["edges"]) == first
        after = connection["pageInfo"]["endCursor"]


def text_matches(search_text: str, text: str) -> bool:
    tokens = search_text.split()
    return all(any(t.startswith(term) if prefix else t == term for t in tokens)
               for term, prefix in parse_text_query(text).terms)


@pytest.mark.parametrize("text", ["社保", "shebao", "sb"])
def test_service_items_text__social_security__finds_every_card_item(demo_client, items, text):
    found = {edge["node"]["id"] for edge in search_all(demo_client, {"text": text})}
    card = {i for i, item in items.items() if "社会保障卡" in item.name}
    assert card and card <= found


@pytest.mark.parametrize("text", ["社保", "医保", "yibao", "gjj", "户口", "hukou", "驾驶证",
                                  "jsz", "出生", "养老", "异地", "ydjy", "证明", "z"])
def test_service_items_text__equals_token_oracle_and_pages_cleanly(demo_client, items, text):
    edges = search_all(demo_client, {"text": text})
    found = [edge["node"]["id"] for edge in edges]
    assert len(found) == len(set(found))
    expected = {i for i, item in items.items() if text_matches(item.search_text, text)}
    assert expected, text
    assert set(found) == expected


def test_service_items_text__exact_name__ranks_first(demo_client, items):
    for item in list(items.values())[:10]:
        edges = search_all(demo_client, {"text": item.name}, first=20)
        assert edges[0]["node"]["name"] == item.name or len(edges[0]["node"]["name"]) <= len(
            item.name), item.name
        assert str(item.id) in {edge["node"]["id"] for edge in edges}


def test_service_items__category__only_that_category(demo_client, items):
    data = gql_data(demo_client, SEARCH, {"first": 100})
    categories = data["serviceItemCategories"]
    assert len(categories) >= 10
    for category in categories:
        edges = search_all(demo_client, {"category": category})
        assert {e["node"]["id"] for e in edges} == {
            i for i, item in items.items() if item.category == category}


def test_service_items__no_text__all_by_id(demo_client, items):
    edges = search_all(demo_client, {})
    assert [e["node"]["id"] for e in edges] == sorted(items, key=int)


def test_service_item_guide__full_guide_as_stored(demo_client, items):
    for item_id, item in items.items():
        node = gql_data(demo_client, GUIDE, {"id": item_id})["serviceItem"]
        guide = Guide.from_json(item.guide)
        assert node["name"] == item.name and node["code"] == item.code
        assert node["guide"]["isDemoContent"] is True
        assert [m["name"] for m in node["guide"]["materials"]] == [
            m.name for m in guide.materials]
        assert [s["order"] for s in node["guide"]["steps"]] == list(
            range(1, len(guide.steps) + 1))
        assert {q["id"] for q in node["guide"]["questions"]} == {q.id for q in guide.questions}
        # without answers: every unconditional material, the rest pending
        checklist = node["checklist"]
        assert [m["id"] for m in checklist["materials"]] == [
            m.id for m in guide.materials if not m.when]
        assert {q["id"] for q in checklist["pendingQuestions"]} == {q.id for q in guide.questions}


def test_checklist__every_answer_combination__equals_oracle(demo_client, items):
    checked = 0
    for item_id, item in items.items():
        guide = Guide.from_json(item.guide)
        questions = [q.id for q in guide.questions]
        for answers in itertools.product([True, False], repeat=len(questions)):
            given = dict(zip(questions, answers, strict=True))
            data = gql_data(demo_client, CHECKLIST, {
                "serviceItemId": item_id,
                "answers": [{"questionId": q, "answer": a} for q, a in given.items()],
            })["checklist"]
            expected = [m.id for m in guide.materials
                        if all(given[q] == a for q, a in m.when.items())]
            assert [m["id"] for m in data["materials"]] == expected, (item.code, given)
            assert data["pendingQuestions"] == [] and data["conditionalMaterials"] == []
            checked += 1
    assert checked > len(items)


def test_checklist__minor_applicant__adds_guardian_materials(demo_client, items):
    # an item asking whether the applicant is a minor: answering yes adds materials
    item_id, item = next((i, it) for i, it in items.items()
                         if any(q.id == "minor" and "未满" in q.text
                                for q in Guide.from_json(it.guide).questions))
    question = next(q for q in Guide.from_json(item.guide).questions if q.id == "minor")

    def materials(answer: bool) -> set[str]:
        data = gql_data(demo_client, CHECKLIST, {
            "serviceItemId": item_id, "answers": [{"questionId": question.id, "answer": answer}]
        })
        return {m["name"] for m in data["checklist"]["materials"]}

    assert materials(False) < materials(True)


@pytest.mark.parametrize(("variables", "field"), [
    ({"serviceItemId": "999999", "answers": []}, "serviceItemId"),
    ({"serviceItemId": "x1", "answers": []}, "serviceItemId"),
    ({"answers": [{"questionId": "no-such-question", "answer": True}]}, "answers"),
    ({"answers": "contradiction"}, "answers"),
])
def test_checklist__bad_input__refused_in_chinese(demo_client, items, variables, field):
    item_id, item = next((i, it) for i, it in items.items() if it.guide["questions"])
    if variables.get("answers") == "contradiction":
        question = item.guide["questions"][0]["id"]
        variables = {"answers": [{"questionId": question, "answer": True},
                                 {"questionId": question, "answer": False}]}
    body = gql(demo_client, CHECKLIST, {"serviceItemId": item_id, **variables})
    assert body["data"] is None and error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["errors"][0]["message"])


def test_service_item__unknown_id__null(demo_client):
    for unknown in ("999999", "abc", "0", "99999999999"):
        assert gql_data(demo_client, GUIDE, {"id": unknown})["serviceItem"] is None


def test_service_item_places__nearest_handling_places(demo_client, items):
    item_id = next(i for i, it in items.items() if "社会保障卡" in it.name)
    near = {"lat": 30.2741, "lon": 120.1551, "crs": "GCJ02"}
    data = gql_data(demo_client, ITEM_PLACES, {"id": item_id, "near": near, "first": 10})
    edges = data["serviceItem"]["places"]["edges"]
    assert edges
    distances = [edge["distanceMeters"] for edge in edges]
    assert distances == sorted(distances)
    detail = "query($id: ID!) { place(id: $id) { serviceItems { id } } }"
    for edge in edges:
        handled = gql_data(demo_client, detail, {"id": edge["node"]["id"]})["place"]
        assert item_id in {i["id"] for i in handled["serviceItems"]}
