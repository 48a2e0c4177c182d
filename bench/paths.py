"""Where the bench's things are: the repository (put on sys.path, so that the bench scripts,
run as `python bench/<script>.py`, import `backend`), its data, results and the venv."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH = ROOT / "bench"
DATA = BENCH / ".data"
LOGS = DATA / "logs"
PEER_DIR = BENCH / ".peer"
RESULTS_DIR = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
VENV_BIN = Path(sys.executable).parent
