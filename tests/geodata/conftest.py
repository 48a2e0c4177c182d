"""Shared fixtures for the geodata tests: reference data and the loaded regions."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from geodata.regions import DATA_DIR, RegionIndex, RegionRecord, load_yrd_regions

REPO_ROOT = Path(__file__).resolve().parents[2]


def _shared_file(*parts: str) -> Path:
    shared_dir = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
    path = shared_dir.joinpath(*parts)
    if not path.is_file():
        pytest.fail(
            f"reference file {path} is missing: set SHARED_DIR to the shared folder "
            "(the one holding testdata/ and data/)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def shared_file() -> Callable[..., Path]:
    """Path of a shared reference file; a missing one fails the test, never skips it."""
    return _shared_file


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV whose leading '#' lines are comments."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@pytest.fixture(scope="session")
def crs_vectors() -> list[dict[str, str]]:
    rows = read_csv_rows(_shared_file("testdata", "crs_vectors.csv"))
    assert rows, "crs_vectors.csv has no rows"
    return rows


@pytest.fixture(scope="session")
def county_centers() -> list[dict[str, str]]:
    """The bundled county centre/centroid table (GCJ-02)."""
    return read_csv_rows(DATA_DIR / "yrd_county_level_centers.csv")


@pytest.fixture(scope="session")
def yrd_regions() -> list[RegionRecord]:
    return load_yrd_regions()


@pytest.fixture(scope="session")
def region_index(yrd_regions: list[RegionRecord]) -> RegionIndex:
    return RegionIndex(yrd_regions)
