"""The region index warmed before gunicorn forks: every region, the same answers, and an empty
region table left for later (not cached as an empty index)."""

from __future__ import annotations

import os
import random
import subprocess

import shapely

from backend.db import session_scope
from backend.places.regions import (
    region_chain_at,
    region_codes_at,
    region_records,
    regions_at,
    warm_region_index,
)
from geodata.regions import RegionIndex
from tests.conftest import make_test_app
from tests.helpers import ROOT
from tests.package_regions import package_counties


def test_warm__seeded__every_region_and_the_chains_of_the_package(scratch_app):
    factory = scratch_app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        assert warm_region_index(session) == 34 + 375 + 2851
        for county in package_counties(("500000", "150000"))[::3]:
            chain = region_chain_at(session, county.lat, county.lon)
            assert [(r.code, r.level) for r in chain] == county.chain


def test_warm__empty_table__not_kept_as_an_empty_index(database_factory):
    # given: a migrated database without regions, warmed (as gunicorn's master would)
    app = make_test_app(database_factory("sqlite"))
    factory = app.extensions["servicemap"].session_factory
    with session_scope(factory) as session:
        assert warm_region_index(session) == 0
    # when: another process seeds the regions (this one is not told)
    url = app.extensions["servicemap"].settings.database_url
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "seed", "regions"],
                   cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True,
                   capture_output=True)
    # then: the first lookup builds the index from them
    with session_scope(factory) as session:
        assert [r.code for r in region_chain_at(session, 29.5630, 106.5516)] == [
            "500103", "500100", "500000"]
    app.extensions["servicemap"].engine.dispose()


def test_boxed_index__random_and_border_points__the_answers_of_the_index_of_outlines(
        scratch_app):
    # The serving index holds boxes and reads outlines on demand (a bounded cache, evicted
    # here: the points span all of China); the oracle holds every outline.
    factory = scratch_app.extensions["servicemap"].session_factory
    rng = random.Random(18)
    with session_scope(factory) as session:
        records = region_records(session)
        oracle = RegionIndex(records)
        points = [(rng.uniform(17.0, 54.0), rng.uniform(73.0, 135.5)) for _ in range(1500)]
        # Vertices of outlines lie on borders, where neighbours' boxes and outlines overlap.
        for record in rng.sample(records, 300):
            lon, lat = shapely.get_coordinates(record.geometry)[0]
            points.append((float(lat), float(lon)))
        inside = 0
        for lat, lon in points:
            expected = [r.code for r in oracle.at(lat, lon)]
            assert [r.code for r in regions_at(session, lat, lon)] == expected, (lat, lon)
            assert list(region_codes_at(session, lat, lon).values()).count(None) == \
                3 - len(expected)
            inside += bool(expected)
        assert inside > 600  # the points did land in regions, not only outside China
