"""Helpers shared by the benchmark sections: timed child processes, machine facts, stats."""

from __future__ import annotations

import base64
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: What any Typer + Rich command pays before doing anything (the reference of section 1).
REFERENCE = [PYTHON, "-c", "import typer, rich.console, rich.table"]


@dataclass(slots=True)
class Run:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    cpu_s: float = 0.0


_SPAWNER: subprocess.Popen[str] | None = None


def _spawner() -> subprocess.Popen[str]:
    global _SPAWNER
    if _SPAWNER is None or _SPAWNER.poll() is not None:
        _SPAWNER = subprocess.Popen(
            [PYTHON, str(Path(__file__).with_name("spawner.py"))], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)
    return _SPAWNER


def run_child(cmd: list[str], *, env: dict[str, str] | None = None,
              stdout_to: Path | None = None, timeout: float = 900.0) -> Run:
    """Run ``cmd``; return its wall time and ITS OWN peak RSS.

    Children are started by ``spawner.py``, a process that stays small: Linux charges a
    child's ``ru_maxrss`` with the memory of the process it was forked from, and this one
    may hold a large sandbox. ``getrusage(RUSAGE_CHILDREN)`` would also mix all children
    together, so each one is reaped with ``wait4``.
    """
    spawner = _spawner()
    assert spawner.stdin is not None and spawner.stdout is not None
    request = {"cmd": cmd, "env": dict(os.environ) | (env or {}),
               "stdout": str(stdout_to) if stdout_to is not None else None,
               "timeout": timeout}
    spawner.stdin.write(json.dumps(request) + "\n")
    spawner.stdin.flush()
    answer = json.loads(spawner.stdout.readline())
    # ru_maxrss is in kilobytes on Linux.
    return Run(answer["seconds"], answer["maxrss_kb"] / 1024.0, answer["returncode"],
               base64.b64decode(answer["stdout"]), base64.b64decode(answer["stderr"]),
               answer["cpu_s"])


def parcelctl(*args: str) -> list[str]:
    return [PYTHON, "-m", "parcelctl", *args]


@dataclass(slots=True)
class Timing:
    runs: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def to_json(self) -> dict[str, Any]:
        return {"best_s": round(self.best, 4), "median_s": round(self.median, 4),
                "runs_s": [round(r, 4) for r in self.runs],
                "peak_rss_mb": round(max(self.rss), 1) if self.rss else None}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": _sqlite_version()}


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def ratio(value: float, reference: float) -> float:
    return round(value / reference, 3) if reference > 0 else float("inf")
