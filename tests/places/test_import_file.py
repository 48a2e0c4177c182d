"""`flask places import` of the files editors receive, on both stores: CSV in every encoding
Excel in China writes, Excel .xlsx, GeoJSON with a datum, Amap; all errors of a file at once
(第 N 行, the column, Chinese, never Python's text) and nothing written; idempotent by
(source, external id); --dry-run, --sync (with its 40 % guard), --as; a BD-09 list lands where
it belongs; export and import round trip."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from backend.accounts import grants
from backend.app import SCOPE_CHECKS
from backend.db import session_scope
from backend.places.import_rows import COLUMNS
from backend.places.models import Place, PlaceRevision
from geodata.crs import CRS, from_wgs84
from tests.helpers import uow_of

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "sample_places.csv"
HEADER = ["external_id", "name", "kind", "address", "phone", "lat", "lon", "opening_hours",
          "region_code", "beds", "available_beds", "care_levels"]
# WGS-84 points in 西湖区, 拱墅区 and 上城区 of Hangzhou.
POINTS = [(30.2592, 120.1300, "330106"), (30.3190, 120.1420, "330105"),
          (30.2460, 120.1700, "")]


def _rows(n: int = 3) -> list[list]:
    rows = []
    for i in range(n):
        lat, lon, region = POINTS[i % len(POINTS)]
        rows.append([f"ext-{i}", f"测试养老院 {i}", "养老院", f"测试路 {i} 号", "0571-87654321",
                     lat + (i // 3) * 0.00001, lon, "Mo-Su 08:00-18:00", region, "50", "5",
                     "自理、半失能"])
    return rows


def _csv(rows: list[list], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _import(app, path: Path, *args: str):  # noqa: ANN001, ANN202
    return app.test_cli_runner().invoke(args=["places", "import", str(path), *args])


def _count(app, **where) -> int:  # noqa: ANN001, ANN003
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        return session.scalar(select(func.count()).select_from(Place).filter_by(**where))


def _places(app) -> dict[str, Place]:  # noqa: ANN001
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        return {p.external_id: p for p in session.scalars(select(Place))}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_import__csv_in_each_encoding__created_then_unchanged(scratch_app, tmp_path, encoding):
    path = tmp_path / "list.csv"
    path.write_bytes(_csv(_rows()).encode(encoding))

    first = _import(scratch_app, path, "--source", "city-list")
    second = _import(scratch_app, path, "--source", "city-list")

    assert first.exit_code == 0, first.output
    assert "3 created, 0 updated, 0 unchanged" in first.output
    assert second.exit_code == 0 and "0 created, 0 updated, 3 unchanged" in second.output
    places = _places(scratch_app)
    assert {p.name for p in places.values()} == {f"测试养老院 {i}" for i in range(3)}
    assert all(p.kind == "ELDERLY_CARE" and p.care_levels == ["自理", "半失能"]
               for p in places.values())
    # an empty region_code follows from the point; a given one is kept
    assert places["ext-2"].county_code == "330102" and places["ext-0"].county_code == "330106"
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        sources = set(session.scalars(select(PlaceRevision.source)))
    assert sources == {"cli-import:list.csv"}


def test_import__xlsx__same_as_csv(scratch_app, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in _rows():
        sheet.append([float(v) if isinstance(v, float) else v for v in row])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    result = _import(scratch_app, path, "--source", "excel")
    assert result.exit_code == 0 and "3 created" in result.output, result.output
    assert _count(scratch_app, source="excel") == 3


def test_import__sample_csv_in_docs__imports(scratch_app):
    result = _import(scratch_app, SAMPLE, "--source", "sample")
    assert result.exit_code == 0 and "3 created" in result.output, result.output
    kinds = {p.external_id: p.kind for p in _places(scratch_app).values()}
    assert kinds == {"sample-hall-1": "SERVICE_HALL", "sample-clinic-1": "CLINIC",
                     "sample-care-1": "ELDERLY_CARE"}


BAD_ROWS = [
    (["", "无编号", "养老院", "", "", 30.2592, 120.13, "", "", "", "", ""], "external_id"),
    (["b1", "", "养老院", "", "", 30.2592, 120.13, "", "", "", "", ""], "name"),
    (["b2", "名" * 250, "养老院", "", "", 30.2592, 120.13, "", "", "", "", ""], "name"),
    (["b3", "未知类型", "超市", "", "", 30.2592, 120.13, "", "", "", "", ""], "kind"),
    (["b4", "坐标不是数字", "医院", "", "", "北纬30度", 120.13, "", "", "", "", ""], "lat"),
    (["b5", "巴黎", "医院", "", "", 48.8566, 2.3522, "", "", "", "", ""], "lat/lon"),
    (["b6", "北京", "医院", "", "", 39.9042, 116.4074, "", "", "", "", ""], "lat/lon"),
    (["b7", "区县不符", "医院", "", "", 30.3190, 120.1420, "", "330106", "", "", ""],
     "lat/lon"),
    (["b8", "电话错误", "医院", "", "abc", 30.2592, 120.13, "", "", "", "", ""], "phone"),
    (["b9", "时间错误", "医院", "", "", 30.2592, 120.13, "随时", "", "", "", ""],
     "opening_hours"),
    (["b10", "床位错误", "养老院", "", "", 30.2592, 120.13, "", "", "10", "20", ""],
     "available_beds"),
    (["b11", "床位不是数", "养老院", "", "", 30.2592, 120.13, "", "", "十", "", ""], "beds"),
    (["b12", "经纬度对调", "医院", "", "", 120.13, 30.2592, "", "", "", "", ""], "lat/lon"),
]


def test_import__bad_rows__every_error_with_its_line_and_column_nothing_written(scratch_app,
                                                                               tmp_path):
    rows = [row for row, _ in BAD_ROWS] + [_rows(1)[0], _rows(1)[0]]  # + a duplicated id
    path = tmp_path / "bad.csv"
    path.write_text(_csv(rows), encoding="utf-8")

    result = _import(scratch_app, path, "--source", "bad")

    assert result.exit_code == 1
    output = result.output
    for line, (_, column) in enumerate(BAD_ROWS, start=2):
        assert f"第 {line} 行，{column} 列：" in output, (line, column, output)
    duplicate = len(BAD_ROWS) + 3
    assert f"第 {duplicate} 行，external_id 列：与第 {duplicate - 1} 行的编号重复" in output
    assert "未写入任何数据" in output
    for internal in ("Traceback", "Error", "NoneType", "__init__", "object"):
        assert internal not in output
    assert _count(scratch_app) == 0


def test_import__more_than_200_errors__the_first_200_listed(scratch_app, tmp_path):
    rows = [[f"x{i}", f"名{i}", "超市", "", "", 30.2592, 120.13, "", "", "", "", ""]
            for i in range(250)]
    path = tmp_path / "many.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    result = _import(scratch_app, path)
    assert result.exit_code == 1
    assert "仅列出前 200 处" in result.output
    assert result.output.count("kind 列") == 200


def test_import__unreadable_files__one_chinese_error_each(scratch_app, tmp_path):
    cases = {
        "wrong.csv": ("amap", b"external_id,name\n1,x\n", "不是有效的 JSON"),
        "columns.csv": ("csv", "编号,名称\n1,x\n".encode(), "未知的列"),
        "missing.csv": ("csv", b"external_id,name\n1,x\n", "缺少必填的列"),
        "latin1.csv": ("csv", b"external_id,name,kind,lat,lon\n1,\xff\xfe\xfa,x,1,2\n",
                       "无法识别文件编码"),
        "sheet.xlsx": ("xlsx", b"not a zip", "无法读取 Excel 文件"),
        "crs.geojson": ("geojson", json.dumps({"type": "FeatureCollection", "crs": {
            "type": "name", "properties": {"name": "EPSG:3857"}}, "features": []}).encode(),
            "不支持的坐标参考系"),
    }
    for name, (file_format, data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = _import(scratch_app, path, "--format", file_format)
        assert result.exit_code == 1 and message in result.output, (name, result.output)
        assert "Traceback" not in result.output
    assert _count(scratch_app) == 0


def test_import__bd09_csv__found_nearby_at_the_right_spot(scratch_app, tmp_path):
    # given: a list from Baidu: BD-09 coordinates, no region codes
    rows = []
    for i, (lat, lon, _) in enumerate(POINTS):
        bd_lat, bd_lon = from_wgs84(lat, lon, CRS.BD09)
        rows.append([f"bd-{i}", f"百度列表医院 {i}", "医院", "", "", repr(bd_lat), repr(bd_lon),
                     "", "", "", "", ""])
    path = tmp_path / "baidu.csv"
    path.write_text(_csv(rows), encoding="utf-8")

    # when
    result = _import(scratch_app, path, "--crs", "BD09", "--source", "baidu")
    assert result.exit_code == 0, result.output

    # then: each is the nearest place to its true (WGS-84) position, within a centimetre
    client = scratch_app.test_client()
    for i, (lat, lon, _) in enumerate(POINTS):
        body = client.post("/graphql", json={"query": (
            "query($p: GeoPointInput!) { places(near: $p, radiusMeters: 50, first: 1) "
            "{ edges { distanceMeters node { externalId } } } }"),
            "variables": {"p": {"lat": lat, "lon": lon}}}).get_json()
        (edge,) = body["data"]["places"]["edges"]
        assert edge["node"]["externalId"] == f"bd-{i}" and edge["distanceMeters"] < 0.01


def test_import__bd09_geojson_crs_member__honoured(scratch_app, tmp_path):
    lat, lon, _ = POINTS[0]
    bd_lat, bd_lon = from_wgs84(lat, lon, CRS.BD09)
    document = {"type": "FeatureCollection", "crs": {"type": "name",
                                                     "properties": {"name": "BD09"}},
                "features": [{"type": "Feature", "geometry": {
                    "type": "Point", "coordinates": [bd_lon, bd_lat]},
                    "properties": {"external_id": "g1", "name": "百度点", "kind": "CLINIC"}}]}
    path = tmp_path / "baidu.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert _import(scratch_app, path, "--source", "g").exit_code == 0
    place = _places(scratch_app)["g1"]
    assert abs(place.lat - lat) < 1e-7 and abs(place.lon - lon) < 1e-7
    conflicting = _import(scratch_app, path, "--source", "g", "--crs", "GCJ02")
    assert conflicting.exit_code == 1 and "不一致" in conflicting.output


def test_import__dry_run__reports_and_writes_nothing(scratch_app, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(_csv(_rows()), encoding="utf-8")
    result = _import(scratch_app, path, "--dry-run")
    assert result.exit_code == 0 and "3 created" in result.output
    assert "dry run, nothing written" in result.output and "would be" in result.output
    assert _count(scratch_app) == 0


def test_import__sync__archives_what_left_the_source_with_a_guard(scratch_app, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(_csv(_rows(6)), encoding="utf-8")
    assert _import(scratch_app, path, "--source", "s").exit_code == 0

    # one place left the list: archived
    path.write_text(_csv(_rows(6)[:5]), encoding="utf-8")
    result = _import(scratch_app, path, "--source", "s", "--sync")
    assert result.exit_code == 0 and "1 archived" in result.output, result.output
    assert _places(scratch_app)["ext-5"].archived is True

    # three of five would go: refused without --force, nothing written
    path.write_text(_csv(_rows(2)), encoding="utf-8")
    refused = _import(scratch_app, path, "--source", "s", "--sync")
    assert refused.exit_code == 1 and "--force" in refused.output
    assert _count(scratch_app, archived=True) == 1
    forced = _import(scratch_app, path, "--source", "s", "--sync", "--force")
    assert forced.exit_code == 0 and "3 archived" in forced.output
    assert _count(scratch_app, archived=True) == 4


def test_import__as_an_editor_of_another_city__refused(scratch_app, tmp_path):
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        grants.grant_role(uow_of(session), "editor-nj", "editor", region_code="320100",
                          scope_checks=SCOPE_CHECKS)
    path = tmp_path / "list.csv"
    path.write_text(_csv(_rows()), encoding="utf-8")
    result = _import(scratch_app, path, "--as", "editor-nj")
    assert result.exit_code == 1 and result.output.count("无权导入该地区的地点") == 3
    assert _count(scratch_app) == 0


def test_import__large_file__progress_bar(scratch_app, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(_csv(_rows(400)), encoding="utf-8")
    result = _import(scratch_app, path, "--dry-run")
    assert result.exit_code == 0 and "400 created" in result.output
    assert "检查" in result.output


@pytest.mark.parametrize("file_format", ["csv", "geojson"])
def test_export_then_import__round_trip(scratch_app, tmp_path, file_format):
    source = tmp_path / "list.csv"
    source.write_text(_csv(_rows()), encoding="utf-8")
    assert _import(scratch_app, source, "--source", "rt").exit_code == 0
    exported = tmp_path / f"export.{file_format}"
    result = scratch_app.test_cli_runner().invoke(args=[
        "places", "export", "--format", file_format, "--output", str(exported)])
    assert result.exit_code == 0, result.output
    if file_format == "csv":
        text = exported.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].split(",") == list(COLUMNS)
    again = _import(scratch_app, exported, "--format", file_format)
    assert again.exit_code == 0 and "0 created, 0 updated, 3 unchanged" in again.output, \
        again.output
