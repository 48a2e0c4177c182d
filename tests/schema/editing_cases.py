"""Cases of the editor console's place documents for the statement contract
(test_operation_contract.py): each makes its own place, at a point of its own, so that no
run warns of a duplicate of an earlier one."""

from __future__ import annotations

import itertools

from tests.booking.conftest import EDITOR, World
from tests.helpers import Upload, operation
from tests.places.editing_helpers import XIHU_POINT, new_place_input

_serial = itertools.count(1)


def _input() -> dict:
    n = next(_serial)
    # 0.0006° apart (~60 m, beyond the 50 m of a suspected duplicate) on a 20 × 20 grid south
    # and west of the point, all of it inside 西湖区 (checked against the outlines).
    return new_place_input(name=f"契约养老院 {n}", address=f"文三路 {n} 号",
                           location={"lat": XIHU_POINT["lat"] - 0.0006 * (n % 20),
                                     "lon": XIHU_POINT["lon"] - 0.0006 * ((n // 20) % 20)})


def _created(world: World) -> dict:
    body = world.gql(operation("CreatePlace"), {"input": _input()}, uid=EDITOR)
    place = body["data"]["createPlace"]["place"]
    assert place is not None, body
    return place


def _update(world: World, place: dict, **input_) -> dict:  # noqa: ANN003
    body = world.gql(operation("UpdatePlace"), {"id": place["id"], "version": place["version"],
                                                "input": input_}, uid=EDITOR)
    return body["data"]["updatePlace"]["place"]


def create_place(world: World, _size: None):
    return EDITOR, {"input": _input()}


def update_place(world: World, _size: None):
    place = _created(world)
    return EDITOR, {"id": place["id"], "version": 1, "input": {"availableBeds": 5}}


def archive_place(world: World, _size: None):
    place = _created(world)
    return EDITOR, {"id": place["id"], "version": 1, "reason": "契约测试"}


def restore_place(world: World, _size: None):
    place = _created(world)
    body = world.gql(operation("ArchivePlace"), {"id": place["id"], "version": 1,
                                                 "reason": "契约测试"}, uid=EDITOR)
    assert body["data"]["archivePlace"]["errors"] == [], body
    return EDITOR, {"id": place["id"], "version": 2}


def set_place_service_items(world: World, _size: None):
    place = _created(world)
    return EDITOR, {"id": place["id"], "version": 1,
                    "serviceItemIds": [str(world.item), str(world.other_item)]}


def edit_place(world: World, size: int):
    """A place with `size` + 1 revisions, its first `size` shown."""
    place = _created(world)
    for beds in range(size):
        place = _update(world, place, availableBeds=beds)
    return EDITOR, {"id": place["id"], "first": size}


def revert_place(world: World, _size: None):
    place = _update(world, _created(world), availableBeds=3, phone="13812345678")
    return EDITOR, {"id": place["id"], "toVersion": 1, "version": place["version"]}


def import_places(world: World, _size: None):
    """A CSV of three new care homes, uploaded by the multipart request spec."""
    n = next(_serial)
    rows = ["external_id,name,kind,lat,lon,region_code,beds,available_beds"] + [
        f"contract-{n}-{i},契约导入养老院 {n}-{i},养老院,{XIHU_POINT['lat'] + 0.0001 * i},"
        f"{XIHU_POINT['lon']},330106,40,4" for i in range(3)]
    return EDITOR, {"file": Upload("contract.csv", "\n".join(rows).encode()),
                    "source": "contract"}


def geocode_address(world: World, _size: None):
    # the same address each run: after the warm-up the answer comes from geocode_cache
    return EDITOR, {"address": "杭州市西湖区某某路 8 号", "crs": "GCJ02"}


def upsert_service_item(world: World, _size: None):
    """The world's item from the demo catalog, with a new summary each run."""
    import json

    from backend.guidance.catalog import DEMO_CATALOG
    from backend.guidance.models import ServiceItem

    with world.session() as session:
        code = session.get(ServiceItem, world.item).code
    catalog = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    item = next(entry for entry in catalog["items"] if entry["code"] == code)
    item["summary"] = f"契约测试摘要 {next(_serial)}。"
    return EDITOR, {"item": json.dumps(item, ensure_ascii=False)}


# Residents' reports (纠错): each run reports its own place, so no report is already open.
def _reported(world: World, reporters: int = 1) -> tuple[dict, list[str]]:
    place = _created(world)
    ids = []
    for i in range(reporters):
        body = world.gql(operation("ReportPlaceIssue"),
                         {"placeId": place["id"], "reason": "WRONG_PHONE"},
                         uid=f"resident-report-{next(_serial)}-{i}")
        ids.append(body["data"]["reportPlaceIssue"]["report"]["id"])
    return place, ids


def report_place_issue(world: World, _size: None):
    place = _created(world)
    return f"resident-report-{next(_serial)}", {
        "placeId": place["id"], "reason": "WRONG_HOURS", "note": "周日不开门",
        "position": {"lat": XIHU_POINT["lat"], "lon": XIHU_POINT["lon"], "crs": "GCJ02"}}


def place_reports(world: World, size: int):
    """`size` open reports on a place of the editor's region, newest first."""
    _reported(world, size)
    return EDITOR, {"first": size, "order": "NEWEST"}


def place_report(world: World, _size: None):
    _, [report_id] = _reported(world)
    return EDITOR, {"id": report_id}


def resolve_place_report(world: World, _size: None):
    place, [report_id] = _reported(world)
    place = _update(world, place, phone="0571-88886666")
    return EDITOR, {"id": report_id, "placeVersion": place["version"], "note": "已更正电话"}


def dismiss_place_report(world: World, _size: None):
    _, [report_id] = _reported(world)
    return EDITOR, {"id": report_id, "reason": "经核实无误"}
