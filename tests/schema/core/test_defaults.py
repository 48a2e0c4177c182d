"""An explicit null for an argument or input field with a default answers exactly like the
argument left out (it was a server error), on both stores."""

from __future__ import annotations

import pytest

from backend.schema.schema import schema as service_schema
from graphql import GraphQLInputObjectType, GraphQLObjectType, Undefined, is_non_null_type
from tests.booking.conftest import ADMIN, EDITOR, RESIDENT
from tests.helpers import Upload, error_codes, gql_data, operation
from tests.places.editing_helpers import XIHU_POINT

POINT = "lat: 30.2741, lon: 120.1551"
BBOX = "south: 30.2, west: 120.1, north: 30.3, east: 120.2"
# (document with NULL where the explicit null goes, what it stands for when left out)
CASES = {
    "near.crs": (f"{{ places(near: {{{POINT}NULL}}, first: 3) {{ edges {{ node {{ id }} }} }} }}",
                 ", crs: null"),
    "bbox.crs": (f"{{ places(bbox: {{{BBOX}NULL}}, first: 3) {{ edges {{ node {{ id }} }} }} }}",
                 ", crs: null"),
    "regionAt.point.crs": (f"{{ regionAt(point: {{{POINT}NULL}}) {{ code }} }}", ", crs: null"),
    "location(crs:)": ("{ place(id: 1) { location(NULL) { lat lon } } }", "crs: null"),
    "first": ("{ places(NULL) { edges { node { id } } } }", "first: null"),
    "mapClusters.center(crs:)": (
        f"{{ mapClusters(bbox: {{{BBOX}}}, zoom: 12) {{ count center(NULL) {{ lat lon }} }} }}",
        "crs: null"),
    "clusters.centre(crs:)": ("{ clusters { code centre(NULL) { lat lon } } }", "crs: null"),
}
# Nullable arguments and input fields with a default: every one of them is a case here or
# in the booking test below.
COVERED = {"GeoPointInput.crs", "BBoxInput.crs", "Place.location.crs", "Query.places.first",
           "MapCluster.center.crs", "MapCluster.bbox.crs", "Cluster.centre.crs",
           "Query.serviceItems.first",
           "ServiceItem.places.first", "Mutation.upsertWindow.isActive",
           # the editors' test below
           "GeocodeCandidate.location.crs", "Place.revisions.first",
           "Mutation.importPlaces.dryRun", "Mutation.importPlaces.sync",
           "Mutation.importPlaces.force",
           # tests/guidance/test_editor_places.py
           "Query.editorPlaces.first",
           # the reports' test below
           "Query.placeReports.first", "Query.placeReports.order", "Query.placeReports.status",
           "PlaceReport.position.crs"}


def _nullable_with_default() -> set[str]:
    found = set()
    for type_ in service_schema.graphql_schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                found |= {f"{type_.name}.{name}.{arg}" for arg, definition in field.args.items()
                          if not is_non_null_type(definition.type)
                          and definition.default_value not in (Undefined, None)}
        elif isinstance(type_, GraphQLInputObjectType):
            found |= {f"{type_.name}.{name}" for name, definition in type_.fields.items()
                      if not is_non_null_type(definition.type)
                      and definition.default_value not in (Undefined, None)}
    return found


def test_null_defaults__every_defaulted_argument_is_covered() -> None:
    assert _nullable_with_default() == COVERED


@pytest.mark.parametrize("case", sorted(CASES))
def test_null_defaults__explicit_null_answers_like_the_default(demo_client, case: str) -> None:
    document, null = CASES[case]
    omitted = gql_data(demo_client, document.replace("NULL", "").replace("()", ""))
    assert gql_data(demo_client, document.replace("NULL", null)) == omitted
    assert omitted  # something was answered


def test_null_defaults__variables_set_to_null_too(demo_client) -> None:
    variables = {"near": {"lat": 30.2741, "lon": 120.1551}, "first": 3}
    omitted = gql_data(demo_client, operation("FindPlaces"), variables)
    variables["near"]["crs"] = None
    assert gql_data(demo_client, operation("FindPlaces"), variables) == omitted


def test_null_defaults__upsert_window_is_active_null_means_true(world) -> None:
    body = world.gql(operation("UpsertWindow"), {
        "placeId": str(world.hall_a), "name": "空值窗口",
        "serviceItemIds": [str(world.item)], "isActive": None}, uid=ADMIN)
    assert error_codes(body) == [], body
    payload = body["data"]["upsertWindow"]
    assert payload["errors"] == []
    assert payload["window"]["isActive"] is True


def test_null_defaults__editor_arguments_null_mean_their_defaults(world) -> None:
    # geocodeAddress { location(crs: null) } and a place's revisions(first: null)
    query = """query($crs: CRS, $first: Int, $id: ID!) {
      geocodeAddress(address: "杭州市西湖区") { location(crs: $crs) { lat lon } }
      place(id: $id) { revisions(first: $first) { edges { node { version } } } } }"""
    variables = {"id": str(world.hall_a)}
    omitted = world.gql(query, variables, uid=EDITOR)
    nulls = world.gql(query, {**variables, "crs": None, "first": None}, uid=EDITOR)
    assert error_codes(omitted) == [], omitted
    assert omitted["data"]["geocodeAddress"], omitted
    assert nulls == omitted


def test_null_defaults__import_flags_null_mean_false(world) -> None:
    def csv(*names: str) -> Upload:
        rows = ["external_id,name,kind,lat,lon,region_code"] + [
            f"{name},空值导入养老院 {name},养老院,{XIHU_POINT['lat'] + 0.0003 * i},"
            f"{XIHU_POINT['lon']},330106" for i, name in enumerate(names)]
        return Upload("nulls.csv", "\n".join(rows).encode())

    def run(upload: Upload) -> dict:
        body = world.gql(operation("ImportPlaces"), {
            "file": upload, "source": "null-defaults", "dryRun": None, "sync": None,
            "force": None}, uid=EDITOR)
        assert error_codes(body) == [], body
        return body["data"]["importPlaces"]

    # dryRun: null is not a dry run: the places are written
    first = run(csv("null-a", "null-b"))
    assert (first["dryRun"], first["errors"], sorted(first["created"])) == (
        False, [], ["null-a", "null-b"])
    # sync: null does not archive what the file left out
    second = run(csv("null-a"))
    assert (second["errors"], second["archived"], second["unchanged"]) == ([], [], 1)


def test_null_defaults__reports_arguments_null_mean_their_defaults(world) -> None:
    # given: a resident's report of a Hangzhou hall, with their position
    filed = world.gql(operation("ReportPlaceIssue"), {
        "placeId": str(world.hall_a), "reason": "MOVED",
        "position": {"lat": 30.2741, "lon": 120.1551}}, uid=RESIDENT)
    assert filed["data"]["reportPlaceIssue"]["errors"] == [], filed
    query = """query($status: PlaceReportStatus, $order: PlaceReportOrder, $first: Int,
                     $crs: CRS) {
      placeReports(status: $status, order: $order, first: $first) {
        edges { node { id status position(crs: $crs) { lat lon } } } } }"""

    # when: the editor's queue asked with every defaulted argument null, and left out
    omitted = world.gql(query, {}, uid=EDITOR)
    nulls = world.gql(query, {"status": None, "order": None, "first": None, "crs": None},
                      uid=EDITOR)

    # then: the same answer, the open report in WGS-84
    assert error_codes(omitted) == [], omitted
    [edge] = omitted["data"]["placeReports"]["edges"]
    assert edge["node"]["status"] == "OPEN"
    assert edge["node"]["position"] == {"lat": 30.2741, "lon": 120.1551}
    assert nulls == omitted
