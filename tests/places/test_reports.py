"""Residents' reports of wrong place information (纠错), over HTTP /graphql with real tokens on
both stores: filing (one open report per resident and place, also between racing threads),
the editors' queue (their regions only), resolving with an edit, dismissing, the reporter's
inbox message, bad input refused in Chinese with nothing written.

Hall A is in 西湖区 (Hangzhou, EDITOR's region), hall B in Nanjing (OTHER_EDITOR's)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from backend.accounts.grants import principal_for
from backend.notify.models import Notification
from backend.places import reports
from backend.places.errors import PlaceError
from backend.places.models import PlaceReport
from tests.booking.conftest import ADMIN, EDITOR, OTHER_RESIDENT, RESIDENT, STAFF, World
from tests.helpers import grant_role, operation
from tests.places.editing_helpers import NANJING, OTHER_EDITOR, payload, send

HANGZHOU = "330100"


@pytest.fixture
def desk(world: World) -> World:
    with world.session() as session:
        grant_role(session, OTHER_EDITOR, "editor", region_code=NANJING)
    return world


def _report(world: World, place_id: int, uid: str = RESIDENT, **variables) -> dict:  # noqa: ANN003
    return payload(world, operation("ReportPlaceIssue"),
                   {"placeId": str(place_id), "reason": "WRONG_HOURS", **variables}, uid)


def _filed(world: World, place_id: int, uid: str = RESIDENT, **variables) -> str:  # noqa: ANN003
    result = _report(world, place_id, uid, **variables)
    assert result["errors"] == [], result
    return result["report"]["id"]


def _queue(world: World, uid: str, **variables) -> list[dict]:  # noqa: ANN003
    body = send(world, operation("PlaceReports"), variables, uid)
    assert "errors" not in body, body
    return body["data"]["placeReports"]["edges"]


def _counts(world: World) -> dict:
    with world.session() as session:
        return {"reports": session.scalar(select(func.count()).select_from(PlaceReport)),
                "open": session.scalar(select(func.count()).select_from(PlaceReport)
                                       .where(PlaceReport.status == "open")),
                "outbox": session.scalar(select(func.count()).select_from(Notification))}


def _inbox(world: World, uid: str) -> list[dict]:
    body = send(world, operation("MyNotifications"), {"first": 20}, uid)
    return [edge["node"] for edge in body["data"]["me"]["notifications"]["edges"]]


def _update_hours(world: World, place_id: int, version: int) -> int:
    result = payload(world, operation("UpdatePlace"), {
        "id": str(place_id), "version": version,
        "input": {"openingHours": "Mo-Fr 09:00-17:00"}}, EDITOR)
    assert result["errors"] == [], result
    return result["place"]["version"]


def test_report__filed_with_a_gcj02_position__stored_wgs84_and_queued_for_the_editor(desk):
    # given: a resident standing near hall A, their phone's map giving GCJ-02
    report_id = _filed(desk, desk.hall_a, note="周六不开门",
                       position={"lat": 30.27163, "lon": 120.16007, "crs": "GCJ02"})

    # then: the Hangzhou editor's queue holds it, with the position in WGS-84
    edges = _queue(desk, EDITOR)
    assert [edge["node"]["id"] for edge in edges] == [report_id]
    node = edges[0]["node"]
    assert node["reasonLabel"] == "办公时间有误" and node["note"] == "周六不开门"
    assert node["status"] == "OPEN" and node["place"]["id"] == str(desk.hall_a)
    assert abs(node["position"]["lat"] - 30.2741) < 0.001
    assert abs(node["position"]["lon"] - 120.1551) < 0.001
    assert edges[0]["reportsOfPlace"] == 1


def test_report__second_open_report_of_the_same_place__already_open_with_the_first(desk):
    first = _filed(desk, desk.hall_a)
    before = _counts(desk)

    result = _report(desk, desk.hall_a, reason="CLOSED")

    assert [e["code"] for e in result["errors"]] == ["REPORT_ALREADY_OPEN"]
    assert "正在处理中" in result["errors"][0]["message"]
    assert result["report"]["id"] == first
    assert _counts(desk) == before
    # another resident, or another place, files its own
    _filed(desk, desk.hall_a, OTHER_RESIDENT)
    _filed(desk, desk.hall_b)


def test_report__racing_threads_of_one_resident__one_report(desk):
    with desk.session() as session:
        principal = principal_for(session, RESIDENT)
    for _ in range(3):
        barrier = threading.Barrier(2, timeout=60)

        def file(_n: int, barrier: threading.Barrier = barrier):  # noqa: ANN202
            uow = desk.services.unit_of_work()
            barrier.wait()
            try:
                return reports.report_place_issue(uow, principal, place_id=desk.hall_a,
                                                  reason="MOVED").id
            except PlaceError as error:
                return error.code

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(file, range(2)))
        codes = sorted(str(outcome) for outcome in outcomes if isinstance(outcome, str))
        assert codes == ["REPORT_ALREADY_OPEN"], outcomes
        assert _counts(desk)["open"] == 1
        with desk.session() as session:  # dismissed: the next round files afresh
            session.execute(PlaceReport.__table__.update().values(status="dismissed"))


@pytest.mark.parametrize(("variables", "field", "words"), [
    ({"note": "很" * 501}, "note", "不能超过 500 个字符"),
    ({"position": {"lat": 95.0, "lon": 120.0}}, "position", "纬度应在 -90 到 90 之间"),
    ({"placeId": "999999"}, "placeId", "未找到该地点"),
    ({"placeId": "abc"}, "placeId", "编号无效"),
])
def test_report__bad_input__refused_in_chinese_nothing_written(desk, variables, field, words):
    before = _counts(desk)

    result = _report(desk, desk.hall_a, **variables)

    assert result["report"] is None
    assert [e["field"] for e in result["errors"]] == [field]
    assert words in result["errors"][0]["message"]
    assert _counts(desk) == before


def test_report__anonymous__unauthenticated(desk):
    body = send(desk, operation("ReportPlaceIssue"),
                {"placeId": str(desk.hall_a), "reason": "OTHER"}, None)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert _counts(desk)["reports"] == 0


def test_queue__an_editor_sees_only_their_regions(desk):
    hangzhou = _filed(desk, desk.hall_a)
    nanjing = _filed(desk, desk.hall_b)

    assert [e["node"]["id"] for e in _queue(desk, EDITOR)] == [hangzhou]
    assert [e["node"]["id"] for e in _queue(desk, OTHER_EDITOR)] == [nanjing]
    assert [e["node"]["id"] for e in _queue(desk, ADMIN)] == [nanjing, hangzhou]
    assert [e["node"]["id"] for e in _queue(desk, EDITOR, regionCode=HANGZHOU)] == [hangzhou]


@pytest.mark.parametrize(("uid", "variables", "code"), [
    (None, {}, "UNAUTHENTICATED"),
    (RESIDENT, {}, "FORBIDDEN"),
    (STAFF, {}, "FORBIDDEN"),
    (EDITOR, {"regionCode": NANJING}, "FORBIDDEN"),
])
def test_queue__not_an_editor_of_it__refused(desk, uid, variables, code):
    _filed(desk, desk.hall_b)
    body = send(desk, operation("PlaceReports"), variables, uid)
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["data"] is None


def test_report__of_another_region__answers_as_missing_and_nothing_changes(desk):
    # given: a report on hall B (Nanjing), and the Hangzhou editor's crafted requests
    nanjing = _filed(desk, desk.hall_b)
    before = _counts(desk)

    detail = send(desk, operation("PlaceReport"), {"id": nanjing}, EDITOR)
    dismissed = payload(desk, operation("DismissPlaceReport"),
                        {"id": nanjing, "reason": "不属实"}, EDITOR)
    resolved = payload(desk, operation("ResolvePlaceReport"),
                       {"id": nanjing, "placeVersion": 1}, EDITOR)
    missing = payload(desk, operation("DismissPlaceReport"),
                      {"id": "987654", "reason": "不属实"}, EDITOR)

    assert detail["data"]["placeReport"] is None
    assert dismissed == resolved == missing == {
        "report": None, "errors": [{"code": "NOT_FOUND", "field": "id",
                                    "message": "未找到该纠错"}]}
    assert _counts(desk) == before
    # another resident cannot read it either; its reporter and Nanjing's editor can
    assert send(desk, operation("PlaceReport"), {"id": nanjing},
                OTHER_RESIDENT)["data"]["placeReport"] is None
    for uid in (RESIDENT, OTHER_EDITOR, ADMIN):
        assert send(desk, operation("PlaceReport"), {"id": nanjing},
                    uid)["data"]["placeReport"]["id"] == nanjing


def test_resolve__with_an_edit_after_the_report__resolved_and_the_reporter_told(desk):
    # given: the place at version 1 when the report is filed
    report_id = _filed(desk, desk.hall_a)

    # when: resolving with the version the report was filed on, nothing changes
    early = payload(desk, operation("ResolvePlaceReport"),
                    {"id": report_id, "placeVersion": 1}, EDITOR)
    assert [e["code"] for e in early["errors"]] == ["REVISION_NOT_AFTER_REPORT"]
    assert "请先保存修改" in early["errors"][0]["message"]
    assert _counts(desk)["open"] == 1 and _inbox(desk, RESIDENT) == []

    # when: the editor fixes the hours, then resolves with that version
    version = _update_hours(desk, desk.hall_a, 1)
    result = payload(desk, operation("ResolvePlaceReport"),
                     {"id": report_id, "placeVersion": version, "note": "已更新办公时间"},
                     EDITOR)

    # then
    assert result["errors"] == []
    assert result["report"]["status"] == "RESOLVED"
    assert result["report"]["resolvedVersion"] == version == 2
    [message] = _inbox(desk, RESIDENT)
    assert message["kind"] == "place_report_resolved" and message["title"] == "纠错已采纳"
    assert "西湖区政务服务中心" in message["body"] and "已更新办公时间" in message["body"]
    assert _queue(desk, EDITOR) == []
    assert [e["node"]["id"] for e in _queue(desk, EDITOR, status="RESOLVED")] == [report_id]
    # a handled report is not handled again
    again = payload(desk, operation("DismissPlaceReport"), {"id": report_id, "reason": "重复"},
                    ADMIN)
    assert [e["code"] for e in again["errors"]] == ["REPORT_CLOSED"]
    # and the resident may file a new one
    _filed(desk, desk.hall_a)


def test_resolve__a_version_that_does_not_exist__refused(desk):
    report_id = _filed(desk, desk.hall_a)
    result = payload(desk, operation("ResolvePlaceReport"),
                     {"id": report_id, "placeVersion": 7}, EDITOR)
    assert [e["code"] for e in result["errors"]] == ["REVISION_NOT_AFTER_REPORT"]


def test_dismiss__with_a_reason__dismissed_and_the_reporter_told(desk):
    report_id = _filed(desk, desk.hall_a)
    before = _counts(desk)

    blank = payload(desk, operation("DismissPlaceReport"), {"id": report_id, "reason": "  "},
                    EDITOR)
    assert blank["errors"] == [{"code": "INVALID_INPUT", "field": "reason",
                                "message": "请填写驳回原因"}]
    assert _counts(desk) == before

    result = payload(desk, operation("DismissPlaceReport"),
                     {"id": report_id, "reason": "经电话核实，办公时间无误"}, EDITOR)

    assert result["errors"] == [] and result["report"]["status"] == "DISMISSED"
    assert result["report"]["handlingNote"] == "经电话核实，办公时间无误"
    [message] = _inbox(desk, RESIDENT)
    assert message["kind"] == "place_report_dismissed" and message["title"] == "纠错未采纳"
    assert "经电话核实，办公时间无误" in message["body"]
    assert _inbox(desk, OTHER_RESIDENT) == []


def test_queue__most_reported_first__pages_without_gaps(desk):
    # given: hall B reported by two residents, hall A by one (filed last: newest)
    first_b = _filed(desk, desk.hall_b)
    second_b = _filed(desk, desk.hall_b, OTHER_RESIDENT)
    only_a = _filed(desk, desk.hall_a)

    newest = _queue(desk, ADMIN)
    assert [e["node"]["id"] for e in newest] == [only_a, second_b, first_b]

    page = _queue(desk, ADMIN, order="MOST_REPORTED", first=2)
    rest = _queue(desk, ADMIN, order="MOST_REPORTED", first=2, after=page[-1]["cursor"])
    assert [e["node"]["id"] for e in page + rest] == [second_b, first_b, only_a]
    assert [e["reportsOfPlace"] for e in page + rest] == [2, 2, 1]
