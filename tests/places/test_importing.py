"""Loading places: idempotent seeding, upserts by (source, external_id), refusals change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from backend.core.errors import InvalidInput
from backend.db import session_scope
from backend.places.city_clusters import cluster_packs
from backend.places.importing import import_places
from backend.places.models import Place, PlaceGridState
from backend.places.records import PlaceKind, PlaceRecord
from tests.helpers import uow_of
from tests.package_regions import package_counties


def count_places(app, **where) -> int:  # noqa: ANN001
    with session_scope(app.extensions["servicemap"].session_factory) as session:
        statement = select(func.count()).select_from(Place).filter_by(**where)
        return session.scalar(statement)


def hall(external_id: str, **changes) -> PlaceRecord:  # noqa: ANN003
    values = {"kind": PlaceKind.SERVICE_HALL, "name": "测试政务服务中心", "lat": 31.23,
              "lon": 121.47, "source": "test", "external_id": external_id}
    return PlaceRecord(**{**values, **changes})


def test_seed_demo__run_twice__changes_nothing(demo_app):
    # given: the demo data already seeded once by the fixture
    before = count_places(demo_app)
    # when
    result = demo_app.test_cli_runner().invoke(args=["seed", "demo"])
    # then
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated" in result.output
    assert count_places(demo_app) == before


def test_seed_demo__generated_set__one_hall_per_county_of_the_three_clusters(demo_app):
    # the oracle: the counties of the clusters' cities in the package's own files
    cities = tuple(code for pack in cluster_packs() for code in pack.cities)
    counties = package_counties(cities=cities)
    assert len(counties) > 305 + 150
    assert count_places(demo_app, kind="SERVICE_HALL", source="generated") == len(counties)
    assert 12 * len(counties) <= count_places(demo_app, source="generated") <= 20 * len(counties)


def test_upsert__changed_record__updates_in_place(scratch_app):
    factory = scratch_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        assert import_places(uow_of(session), [hall("a")]).created == 1
    with session_scope(factory) as session:
        result = import_places(uow_of(session), [hall("a", name="新名称", lat=30.27, lon=120.15)])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    with session_scope(factory) as session:
        place = session.scalars(select(Place)).one()
        assert place.name == "新名称"
        # the region follows the point: Hangzhou now, not Shanghai
        assert place.city_code == "330100" and place.province_code == "330000"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (hall("x", name="  "), "name"),
        (hall("x", lat=91.0), "lat"),
        (hall("x", lat=float("nan")), "lat"),
        (hall("x", lon=float("inf")), "lon"),
        (hall("x", kind=PlaceKind.ELDERLY_CARE, beds=10, available_beds=11), "availableBeds"),
        (hall("x", opening_hours="Mo-Fx 09:00-17:00"), "openingHours"),
        (hall("x", opening_hours="周一至周五 9:00-17:00"), "openingHours"),
        (hall("x", opening_hours="  "), "openingHours"),
    ],
    ids=["blank-name", "lat-out-of-range", "lat-nan", "lon-infinite", "more-free-beds-than-beds",
         "hours-typo", "hours-in-chinese-prose", "hours-blank"],
)
def test_upsert__bad_record__refused_and_nothing_written(scratch_app, bad, field):
    factory = scratch_app.extensions["servicemap"].session_factory
    with pytest.raises(InvalidInput) as refused, session_scope(factory) as session:
        import_places(uow_of(session), [hall("good"), bad])
    assert refused.value.field == field
    assert count_places(scratch_app) == 0


def test_upsert__duplicate_keys__refused(scratch_app):
    factory = scratch_app.extensions["servicemap"].session_factory
    with pytest.raises(InvalidInput), session_scope(factory) as session:
        import_places(uow_of(session), [hall("same"), hall("same", name="另一个")])
    assert count_places(scratch_app) == 0


def test_places_cli__export_then_import__round_trip(demo_app, scratch_app, tmp_path):
    # given: Huangpu's places exported from the demo database
    exported = tmp_path / "huangpu.geojson"
    result = demo_app.test_cli_runner().invoke(
        args=["places", "export", "--region", "310101", "--output", str(exported)]
    )
    assert result.exit_code == 0, result.output
    features = json.loads(exported.read_text(encoding="utf-8"))["features"]
    assert features and all(f["properties"]["source"] == "generated" for f in features)

    # when: imported into an empty database, twice
    runner = scratch_app.test_cli_runner()
    first = runner.invoke(args=["places", "import", str(exported)])
    second = runner.invoke(args=["places", "import", str(exported)])

    # then: the same places, once
    assert first.exit_code == 0 and f"{len(features)} created" in first.output
    assert second.exit_code == 0 and f"0 created, 0 updated, {len(features)} unchanged" in (
        second.output
    )
    assert count_places(scratch_app, county_code="310101") == len(features)
    # and the map-cluster grid was rebuilt after the import
    assert "map grid:" in first.output
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        state = session.get(PlaceGridState, 1)
        assert state.version == state.built_version


def test_places_cli__import_malformed_file__refused_nothing_written(scratch_app, tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"geometry": {}}]}')
    result = scratch_app.test_cli_runner().invoke(args=["places", "import", str(broken)])
    assert result.exit_code != 0
    assert "第 1 个要素，geometry 列：几何须为 Point" in result.output, result.output
    assert count_places(scratch_app) == 0


def test_places_cli__export_unknown_region__refused(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["places", "export", "--region", "999999"])
    assert result.exit_code != 0 and "未知的行政区划代码" in result.output


def test_places_cli__import_invalid_opening_hours__refused_in_chinese_nothing_changed(
    scratch_app, tmp_path
):
    # given: a hall already there, and a file that changes its hours to something invalid
    factory = scratch_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        import_places(uow_of(session), [hall("h1", opening_hours="Mo-Fr 09:00-17:00; PH off")])
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.47, 31.23]},
               "properties": {"kind": "SERVICE_HALL", "name": "测试政务服务中心", "source": "test",
                              "external_id": "h1", "opening_hours": "Mo-Fr 25:00-26:00"}}
    path = tmp_path / "hours.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}),
                    encoding="utf-8")
    # when
    result = scratch_app.test_cli_runner().invoke(args=["places", "import", str(path)])
    # then
    assert result.exit_code != 0 and "营业时间格式无效" in result.output, result.output
    with session_scope(factory) as session:
        hours = session.scalar(select(Place.opening_hours).where(Place.external_id == "h1"))
    assert hours == "Mo-Fr 09:00-17:00; PH off"


def test_upsert__many_places__every_one_indexed_in_batches(scratch_app, monkeypatch):
    # given: batches far smaller than the import (SQLite bounds the parameters of a statement)
    from backend.guidance import handling

    monkeypatch.setattr(handling, "BATCH", 40)
    records = [hall(f"b{i}", name=f"测试第{i}号便民服务中心", lat=31.0 + i * 1e-4)
               for i in range(250)]
    factory = scratch_app.extensions["servicemap"].session_factory
    # when
    with session_scope(factory) as session:
        import_places(uow_of(session), records)
    # then: every place is found by its own number
    client = scratch_app.test_client()
    for i in (0, 39, 40, 249):
        body = client.post("/graphql", json={
            "query": f'{{ places(text: "第{i}号") {{ edges {{ node {{ name }} }} }} }}'
        }).get_json()
        names = [edge["node"]["name"] for edge in body["data"]["places"]["edges"]]
        assert f"测试第{i}号便民服务中心" in names, (i, body)
