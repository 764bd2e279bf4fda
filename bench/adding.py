"""Section 5: a bulk ``add -`` (issue 17: 100,000 numbers with ``--no-track`` under 5 s) and
the start-up cost of shell completion (``list`` before and after it came back)."""

from __future__ import annotations

import compileall
import io
import shlex
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from common import PYTHON, REFERENCE, ROOT, Timing, parcelctl, ratio, run_child
from seed import Spec, cached_home


def bulk_add(count: int, runs: int) -> dict[str, Any]:
    """``parcelctl add - --no-track`` of ``count`` numbers into a fresh home, best of
    ``runs``; checks every number was stored and the output stayed a summary."""
    timing = Timing()
    cpu: list[float] = []
    lines_out = 0
    stored = 0
    with tempfile.TemporaryDirectory(prefix="parcelctl-bench-add-") as tmp:
        numbers = Path(tmp) / "numbers.txt"
        # YT + 13 digits: a shape the local table knows (no provider is asked).
        numbers.write_text("".join(f"YT9{i:012d}\n" for i in range(count)), encoding="utf-8")
        for run_number in range(runs):
            home = Path(tmp) / f"home{run_number}"
            env = {"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1",
                   "COLUMNS": "120", "LINES": "40"}
            command = " ".join(shlex.quote(part) for part in parcelctl("add", "-",
                                                                        "--no-track"))
            # exec: the timed process (and its peak memory) is parcelctl itself, not sh.
            run = run_child(["sh", "-c", f"exec {command} < {shlex.quote(str(numbers))}"],
                            env=env)
            if run.returncode != 0:
                raise RuntimeError(f"add failed ({run.returncode}): {run.stderr.decode()[-500:]}")
            timing.runs.append(run.seconds)
            timing.rss.append(run.peak_rss_mb)
            cpu.append(run.cpu_s)
            lines_out = len(run.stdout.decode().splitlines())
            with sqlite3.connect(home / "parcels.db") as db:
                stored = int(db.execute("SELECT count(*) FROM parcels").fetchone()[0])
    # The CPU time beside the wall time: on a shared machine the wall time of a CPU-bound
    # command is mostly the other tenants' (load 14 on 2 vCPUs made 3 s of CPU take 8-13 s).
    return {"numbers": count, "add": timing.to_json() | {"cpu_s": [round(c, 3) for c in cpu]},
            "stored": stored,
            "output_lines": lines_out,
            "checks": {"every number stored": stored == count,
                       "a summary, not a table": lines_out < 20}}


def completion_startup(runs: int, baseline: str | None) -> dict[str, Any]:
    """``list`` of a 1,000-parcel store against the import floor, interleaved with the same
    ``list`` from ``baseline`` (a git revision without completion) when given, and the time
    the shell waits for numbers to complete (``parcelctl show YT<TAB>``)."""
    home = cached_home(Spec(1_000, 10_000, 1_000))
    env = {"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1",
           "COLUMNS": "120"}
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "list": (parcelctl("list"), env),
        "complete show YT": (parcelctl(), env | {"_PARCELCTL_COMPLETE": "complete_zsh",
                                                 "_TYPER_COMPLETE_ARGS": "parcelctl show YT"}),
    }
    with tempfile.TemporaryDirectory(prefix="parcelctl-bench-base-") as tmp:
        if baseline:
            commands["list (baseline)"] = (parcelctl("list"),
                                           env | {"PYTHONPATH": _checkout(baseline, Path(tmp))})
        reference = Timing()
        timings = {name: Timing() for name in commands}
        for _ in range(runs):
            ref = run_child(REFERENCE)
            reference.runs.append(ref.seconds)
            reference.rss.append(ref.peak_rss_mb)
            for name, (cmd, cmd_env) in commands.items():
                run = run_child(cmd, env=cmd_env)
                if run.returncode != 0:
                    raise RuntimeError(f"{name} failed: {run.stderr.decode()[-500:]}")
                timings[name].runs.append(run.seconds)
                timings[name].rss.append(run.peak_rss_mb)
                if name.startswith("complete") and b"YT" not in run.stdout:
                    raise RuntimeError("completion offered no numbers")
    result: dict[str, Any] = {"reference": reference.to_json(), "baseline": baseline}
    for name, timing in timings.items():
        result[name] = timing.to_json() | {"ratio_best": ratio(timing.best, reference.best),
                                           "ratio_median": ratio(timing.median,
                                                                 reference.median)}
    return result


def _checkout(revision: str, into: Path) -> str:
    """``src/`` of ``revision`` (read from git, the work tree untouched), byte-compiled."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    compileall.compile_dir(str(into / "src"), quiet=1)
    return str(into / "src")


__all__ = ["PYTHON", "bulk_add", "completion_startup"]
