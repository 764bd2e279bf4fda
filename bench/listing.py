"""Section 1 (list and show at scale) and the list half of section 4 (cost growth)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from common import PYTHON, REFERENCE, ROOT, Timing, parcelctl, ratio, run_child
from seed import Spec, cached_home, number_for

TIMED_CLI = str(ROOT / "bench" / "timed_cli.py")
#: What a configured user's config.toml looks like; ``list`` reads it on every run.
CONFIG_TOML = """\
[display]
language = "zh"

[polling]
stale_days = 7

[providers.tracking]
default = "kuaidi100"

[providers.kuaidi100]
customer = "BENCHCUSTOMER"
"""


def _env(home: Path) -> dict[str, str]:
    config = home / "config.toml"
    if not config.exists():
        config.write_text(CONFIG_TOML, encoding="utf-8")
    return {"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1",
            "COLUMNS": "120"}


def _check(run: Any, what: str) -> None:
    if run.returncode != 0:
        raise RuntimeError(f"{what} failed ({run.returncode}): {run.stderr.decode()[-500:]}")


def time_commands(env: dict[str, str], commands: dict[str, list[str]], runs: int,
                  reference: Timing | None = None) -> dict[str, Timing]:
    """Interleaved runs (reference, then each command, repeated): drift and noise of a busy
    machine hit the reference and the measured commands alike."""
    timings = {name: Timing() for name in commands}
    for _ in range(runs):
        if reference is not None:
            ref = run_child(REFERENCE)
            _check(ref, "reference")
            reference.runs.append(ref.seconds)
            reference.rss.append(ref.peak_rss_mb)
        for name, cmd in commands.items():
            run = run_child(cmd, env=env)
            _check(run, name)
            timings[name].runs.append(run.seconds)
            timings[name].rss.append(run.peak_rss_mb)
    return timings


def imported_modules(env: dict[str, str], *args: str) -> list[str]:
    """Top-level modules a command loads, from inside the process (timed_cli.py)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        run = run_child([PYTHON, TIMED_CLI, report.name, "--", *args], env=env)
        _check(run, " ".join(args))
        modules: list[str] = json.loads(Path(report.name).read_text())["modules"]
    return modules


def count_json_array(path: Path) -> int:
    """Objects in the ``list --all --json`` array, read line by line (one object per line)
    so that checking 100,000 parcels does not need a few hundred MB here."""
    count = 0
    with path.open(encoding="utf-8") as handle:
        first = handle.readline().strip()
        if first != "[":
            return -1
        for line in handle:
            text = line.strip().rstrip(",")
            if text == "]":
                return count
            if text:
                json.loads(text)  # every line is one whole parcel object
                count += 1
    return -1  # no closing bracket: truncated output


def list_at_scale(spec: Spec, label: str, runs: int, json_runs: int) -> dict[str, Any]:
    home = cached_home(spec)
    env = _env(home)
    number = number_for(0)  # active in every recipe
    reference = Timing()
    # The table a person sees (the benchmark's stdout is a pipe, which would get TSV).
    timings = time_commands(env, {"list": parcelctl("list", "--format", "table"),
                                  "show": parcelctl("show", number)}, runs, reference)
    dump = home.parent / f"{spec.key}.json.out"
    json_all = Timing()
    for _ in range(json_runs):
        run = run_child(parcelctl("list", "--all", "--json"), env=env, stdout_to=dump)
        _check(run, "list --all --json")
        json_all.runs.append(run.seconds)
        json_all.rss.append(run.peak_rss_mb)
    count = count_json_array(dump)
    dump.unlink()
    modules = {cmd: imported_modules(env, *args) for cmd, args in
               (("list", ["list"]), ("show", ["show", number]))}
    result: dict[str, Any] = {
        "store": {"parcels": spec.parcels, "events": spec.events, "active": spec.active},
        "reference": reference.to_json(),
        "list": timings["list"].to_json() | {
            "ratio_best": ratio(timings["list"].best, reference.best),
            "ratio_median": ratio(timings["list"].median, reference.median)},
        "show": timings["show"].to_json() | {
            "ratio_best": ratio(timings["show"].best, reference.best),
            "ratio_median": ratio(timings["show"].median, reference.median)},
        "list_all_json": json_all.to_json() | {"parcels_out": count},
        "imports": {cmd: {"httpx": "httpx" in mods, "pydantic": "pydantic" in mods,
                          "asyncio": "asyncio" in mods} for cmd, mods in modules.items()},
    }
    result["checks"] = {
        "list_all_json_complete": count == spec.parcels,
        "list_skips_httpx": not result["imports"]["list"]["httpx"],
        "show_skips_httpx": not result["imports"]["show"]["httpx"],
    }
    result["label"] = label
    return result


def list_growth(sizes: list[int], active: int, events_per: int, runs: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    reference = Timing()
    for size in sizes:
        spec = Spec(size, size * events_per, min(active, size))
        env = _env(cached_home(spec))
        timing = time_commands(env, {"list": parcelctl("list", "--format", "table"),
                                     "show": parcelctl("show", number_for(0))},
                               runs, reference)
        rows.append({"parcels": size, "events": spec.events, "active": spec.active,
                     "list": timing["list"].to_json(), "show": timing["show"].to_json()})
    base = rows[0]["list"]["best_s"]
    for row in rows:
        row["list_vs_smallest"] = round(row["list"]["best_s"] / base, 3)
    return {"reference": reference.to_json(), "rows": rows}
