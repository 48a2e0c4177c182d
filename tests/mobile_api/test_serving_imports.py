"""The serving process imports the heavy libraries only where they are used (issue 18, memory):
after the app is created and has answered the resident app's common queries, none of the
libraries that only migrations, editing, imports, notifications or downloads need is loaded.

Run in a fresh interpreter: the other tests of this process have imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]

# Each of these is imported inside the function that needs it (see the comment there).
NOT_SERVING = ("alembic", "geopy", "requests", "openpyxl", "firebase_admin", "google.auth",
               "grpc", "holidays", "icalendar", "segno", "pypinyin", "mako", "pygments")

SCRIPT = r"""
import json, sys
from pathlib import Path
from sqlalchemy import select
from backend.app import create_app
from backend.config import Settings
from backend.places.models import Place

app = create_app(Settings(database_url=sys.argv[1], app_env="test"))
client = app.test_client()
operations = Path("graphql/operations")
with app.extensions["servicemap"].read_session_factory() as session:
    lat, lon = session.execute(select(Place.lat, Place.lon).limit(1)).one()

def ask(name, variables):
    answer = client.post("/graphql", json={"query": (operations / f"{name}.graphql").read_text(),
                                           "variables": variables}).get_json()
    assert not answer.get("errors"), answer
    return answer["data"]

near = {"lat": lat, "lon": lon}
found = ask("NearbyPlaces", {"near": near, "radiusMeters": 5000})
ask("PlaceDetail", {"id": found["places"]["edges"][0]["node"]["id"]})
import backend.places.text_near as text_near
for factor in (1e12, 0.0):  # text + geo both ways: the matches ranked, then the circles
    text_near.TEXT_FIRST_FACTOR = factor
    ask("FindPlaces", {"near": near, "text": found["places"]["edges"][0]["node"]["name"]})
ask("WhereAmI", {"point": near})
ask("MapClusters", {"bbox": {"south": lat - 1, "north": lat + 1, "west": lon - 1,
                             "east": lon + 1}, "zoom": 8})
assert client.get("/readyz").status_code == 200
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(database_url: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, database_url], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=300)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_serving_process__does_not_import_what_only_other_paths_need(
        demo_app: Flask, store_name: str) -> None:
    url = demo_app.extensions["servicemap"].engine.url.render_as_string(hide_password=False)
    modules = loaded_modules(url)
    assert "backend.places.search" in modules  # the queries did run here
    loaded = [name for name in NOT_SERVING if name in modules]
    assert loaded == []
    # Neither store's serving process loads numpy or shapely (~20 MB of each of gunicorn's
    # three processes, bench/RESULTS.md "Server memory"): SQLite ranks its candidates in plain
    # Python and tests region outlines with geodata.outlines, PostGIS does both in SQL. pyproj
    # measures SQLite's distances (loaded with the app, before gunicorn forks its workers);
    # PostGIS converts no datum for WGS-84 points and loads none of the three.
    geo = [name for name in ("numpy", "shapely", "pyproj") if name in modules]
    assert geo == (["pyproj"] if store_name == "sqlite" else [])
