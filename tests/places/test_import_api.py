"""importPlaces for the editor console: the file by the GraphQL multipart request spec, the
report of the CLI's use case, the editor's regions applied row by row. Both stores."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.places.models import Place, PlaceRevision
from tests.booking.conftest import EDITOR, RESIDENT, World
from tests.helpers import Upload, operation
from tests.places.test_import_file import _csv, _rows

IMPORT = operation("ImportPlaces")


def _count(world: World, **where) -> int:  # noqa: ANN003
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(Place).filter_by(**where))


def _send(world: World, data: bytes, uid: str | None = EDITOR, name: str = "list.csv",
          **variables) -> dict:  # noqa: ANN003
    return world.gql(IMPORT, {"file": Upload(name, data), **variables}, uid=uid)


def test_import_places__editor__created_with_revisions(world: World):
    body = _send(world, _csv(_rows()).encode("utf-8-sig"), source="console-list")
    assert "errors" not in body, body
    report = body["data"]["importPlaces"]
    assert (report["created"], report["errors"], report["dryRun"]) == (
        ["ext-0", "ext-1", "ext-2"], [], False)
    assert _count(world, source="console-list") == 3
    with world.session() as session:
        revisions = session.execute(select(PlaceRevision.uid, PlaceRevision.source,
                                           PlaceRevision.action)).all()
    assert set(revisions) == {(EDITOR, "console-import:list.csv", "import")}
    again = _send(world, _csv(_rows()).encode("utf-8-sig"), source="console-list")
    assert again["data"]["importPlaces"]["unchanged"] == 3


def test_import_places__dry_run_and_errors__nothing_written(world: World):
    dry = _send(world, _csv(_rows()).encode(), dryRun=True)["data"]["importPlaces"]
    assert dry["dryRun"] is True and len(dry["created"]) == 3
    bad_rows = [["x1", "", "超市", "", "", "abc", 120.13, "", "", "", "", ""]]
    bad = _send(world, _csv(bad_rows).encode())["data"]["importPlaces"]
    assert {(e["row"], e["column"]) for e in bad["errors"]} == {
        ("第 2 行", "name"), ("第 2 行", "kind"), ("第 2 行", "lat")}
    assert _count(world, source="import") == 0


def test_import_places__rows_outside_the_editors_regions__refused(world: World):
    rows = [["nj-1", "南京的医院", "医院", "", "", 32.0485, 118.7975, "", "", "", "", ""]]
    report = _send(world, _csv(rows).encode())["data"]["importPlaces"]
    assert [e["message"] for e in report["errors"]] == ["无权导入该地区的地点"]
    assert _count(world, source="import") == 0


def test_import_places__not_an_editor__forbidden(world: World):
    for uid, code in ((RESIDENT, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = _send(world, _csv(_rows()).encode(), uid=uid)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert _count(world, source="import") == 0


def test_import_places__file_not_uploaded__bad_user_input(world: World):
    body = world.gql(IMPORT, {"file": "list.csv"}, uid=EDITOR)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


def test_import_places__file_above_the_json_request_limit__accepted(world: World):
    # a JSON request may carry 256 KB; an upload up to 20 MB
    data = _csv(_rows(3000)).encode()
    assert len(data) > 256 * 1024
    report = _send(world, data, dryRun=True)["data"]["importPlaces"]
    assert report["errors"] == [] and len(report["created"]) == 3000
