"""The service-item catalog: the demo guides are complete, bad catalogs are refused whole."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from backend.core.errors import InvalidInput
from backend.db import session_scope
from backend.guidance.catalog import DEMO_CATALOG, parse_catalog, read_catalog
from backend.guidance.models import ServiceItem

CATEGORY_WORDS = {"社会保障卡": "社保卡"}


@pytest.fixture(scope="module")
def demo_document() -> dict:
    return json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))


def test_demo_catalog__at_least_30_items_with_full_guides(demo_document):
    records = read_catalog()
    assert len(records) >= 30
    assert "演示" in demo_document["notice"]
    for record in records:
        guide = record.guide
        assert guide.summary and guide.eligibility and guide.department, record.code
        assert guide.materials and guide.steps and guide.handling_modes, record.code
        assert guide.fee and guide.time_limit and guide.online_url.startswith("https://")
    with_questions = [r for r in records if r.guide.questions]
    assert len(with_questions) >= 20
    assert any(m.e_certificate for r in records for m in r.guide.materials)
    names = " ".join(r.name for r in records)
    for expected in ("户口", "社会保障卡", "异地就医", "养老保险", "住房公积金", "驾驶证",
                     "出生医学证明"):
        assert expected in names, expected


def test_demo_catalog__social_security_card_items__carry_the_short_name():
    for record in read_catalog():
        if "社会保障卡" in record.name:
            assert "社保卡" in record.aliases, record.code


def _broken(document: dict, change) -> dict:
    broken = copy.deepcopy(document)
    change(broken)
    return broken


def _first_with_question(document: dict) -> dict:
    return next(item for item in document["items"] if item["questions"])


BROKEN = {
    "no_items": lambda d: d.update(items=[]),
    "bad_code": lambda d: d["items"][0].update(code="hj1"),
    "duplicate_code": lambda d: d["items"][1].update(code=d["items"][0]["code"]),
    "empty_name": lambda d: d["items"][0].update(name=" "),
    "unknown_handling_mode": lambda d: d["items"][0].update(handling_modes=["BY_FAX"]),
    "unknown_place_kind": lambda d: d["items"][0].update(place_kinds=["PARK"]),
    "no_materials": lambda d: d["items"][0].update(materials=[]),
    "bad_form": lambda d: d["items"][0]["materials"][0].update(form="PHOTO"),
    "zero_count": lambda d: d["items"][0]["materials"][0].update(count=0),
    "bool_count": lambda d: d["items"][0]["materials"][0].update(count=True),
    "undeclared_certificate": lambda d: d["items"][0]["materials"][0].update(
        e_certificate="NO_SUCH"),
    "when_unknown_question": lambda d: d["items"][0]["materials"][0].update(
        when={"no-such-question": True}),
    "when_not_boolean": lambda d: _first_with_question(d)["materials"][0].update(
        when={_first_with_question(d)["questions"][0]["id"]: "yes"}),
    "unused_question": lambda d: d["items"][0]["questions"].append(
        {"id": "never-asked", "text": "从未用到？"}),
    "duplicate_material": lambda d: d["items"][0]["materials"].append(
        d["items"][0]["materials"][0]),
    "http_url": lambda d: d["items"][0].update(online_url="http://example.com/"),
    "item_not_object": lambda d: d["items"].append("户口迁移"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_parse_catalog__broken_document__refused_in_chinese(demo_document, name):
    with pytest.raises(InvalidInput) as error:
        parse_catalog(_broken(demo_document, BROKEN[name]))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.value.message)


def test_seed_items__broken_file__refused_and_nothing_changed(scratch_app, demo_document,
                                                              tmp_path):
    # given: the demo items loaded once
    runner = scratch_app.test_cli_runner()
    assert runner.invoke(args=["seed", "items"]).exit_code == 0
    factory = scratch_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        before = {i.code: (i.name, i.guide) for i in session.scalars(select(ServiceItem))}
    # when: a file whose last item is broken, and whose first item is renamed
    broken = _broken(demo_document, BROKEN["bad_form"])
    broken["items"][0]["name"] = "改过的名字"
    broken["items"][0], broken["items"][-1] = broken["items"][-1], broken["items"][0]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["seed", "items", "--file", str(path)])
    # then
    assert result.exit_code != 0 and "form" in result.output
    with session_scope(factory) as session:
        after = {i.code: (i.name, i.guide) for i in session.scalars(select(ServiceItem))}
    assert after == before


def test_seed_items__twice__second_run_changes_nothing(scratch_app):
    runner = scratch_app.test_cli_runner()
    runner.invoke(args=["seed", "items"])
    result = runner.invoke(args=["seed", "items"])
    assert result.exit_code == 0 and "0 created, 0 updated" in result.output
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        assert session.scalar(select(func.count()).select_from(ServiceItem)) == len(
            read_catalog())
