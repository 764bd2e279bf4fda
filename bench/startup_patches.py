"""What each private-API patch saves at start-up (issue: keep a patch only with its figure).

Runs ``parcelctl list`` on an empty home N times each way, in fresh interpreters, and reports
the CPU time (user + sys, less noisy than wall time on a shared machine) and whether pydantic
was imported. "without" replaces ``fastparams.install`` by a no-op before the CLI loads, which
is exactly Typer's own behaviour.

    python bench/startup_patches.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

WITH = "from parcelctl.cli.app import main; main()"
WITHOUT = ("import parcelctl.cli.fastparams as f; f.install = lambda: None; "
           "from parcelctl.cli.app import main; main()")


def _cpu_of(code: str, env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code, "list", "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _pydantic_loaded(code: str, env: dict[str, str]) -> bool:
    probe = code.replace("main()", "") + "import sys\ntry:\n main()\nexcept SystemExit:\n pass\n"
    probe += "print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe, "list", "--json"], env=env,
                         capture_output=True, text=True, check=False)
    return out.stdout.strip().endswith("True")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, PARCELCTL_HOME=home, NO_COLOR="1")
        _cpu_of(WITH, env)  # warm the page cache and bytecode
        results = {}
        for name, code in (("with_fastparams", WITH), ("without_fastparams", WITHOUT)):
            runs = []
            for _ in range(args.runs):
                runs.append(_cpu_of(code, env))
            results[name] = {"median_cpu_ms": round(statistics.median(runs) * 1000, 1),
                             "min_cpu_ms": round(min(runs) * 1000, 1),
                             "pydantic_imported": _pydantic_loaded(code, env)}
    results["saved_ms"] = round(results["without_fastparams"]["median_cpu_ms"]
                                - results["with_fastparams"]["median_cpu_ms"], 1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
