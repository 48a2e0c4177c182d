"""Log lines and subprocesses of the bench scripts."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from paths import ROOT


def logger(who: str) -> Callable[[str], None]:
    """A `log(message)` printing `[<who> HH:MM:SS] message` at once."""

    def log(message: str) -> None:
        print(f"[{who} {time.strftime('%H:%M:%S')}] {message}", flush=True)

    return log


log = logger("bench")


def run(cmd: list[str], *, env: dict | None = None, check: bool = True, timeout: float = 3600,
        capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=check, timeout=timeout, text=True,
                          capture_output=capture, cwd=ROOT)
