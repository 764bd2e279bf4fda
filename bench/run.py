"""parcelctl benchmarks: list at scale, sync against the bound, request economy, cost growth.

    python bench/run.py                      # the full set (seeds 100,000-parcel stores once)
    python bench/run.py --smoke --out F.json # tiny sizes, well under a minute (CI)
    python bench/run.py --only list,sync     # sections: list, sync, economy, growth, import, add
    python bench/run.py --only add --baseline REV  # bulk add; list before/after completion

Prints a table and writes JSON (default ``bench/results/<UTC time>.json``). Each timed figure
is measured in the same run as its reference (the Typer+Rich import floor for commands, the
bound computed from latency and rate limits for syncs) and reported as a ratio. The smoke run
checks that everything works (exit 1 if a functional check fails); it never judges timings,
so CI noise cannot fail it. The latest figures are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import adding
import importing
import listing
import syncing
from common import ROOT, machine, write_json
from seed import Spec

SECTIONS = ("list", "sync", "economy", "growth", "import", "add")

FULL: dict[str, Any] = {
    "list": {"specs": [("mixed", Spec(100_000, 1_000_000, 1_000)),
                       ("all active", Spec(100_000, 1_000_000, 100_000))],
             "runs": 15, "json_runs": 3},
    # Cainiao twice: 1,000 at a configured 10/s (0.5/s would take 200 s), and 50 at 0.5/s.
    "sync": {"latency_ms": 50.0, "tracking": [("17track", 1000, None), ("kuaidi100", 1000, None),
                                              ("cainiao", 1000, 10.0), ("cainiao", 50, None)],
             "orders": 10_000, "orders_also_at_ms": [150.0], "orders_runs": 5,
             "orders_fetch_floor": True},
    "economy": {"orders": 200, "manual": {"kuaidi100": 40, "17track": 40, "cainiao": 20},
                "days": 7.0, "step_minutes": 30},
    "growth": {"list_sizes": [1_000, 10_000, 100_000], "active": 1_000, "events_per": 10,
               "runs": 9, "sync_sizes": [100, 1_000, 10_000], "latency_ms": 10.0},
    "import": {"parcels": 100_000, "active": 2_000, "messages": 10_000},
    "add": {"numbers": 100_000, "runs": 3, "startup_runs": 15},
}
SMOKE: dict[str, Any] = {
    "list": {"specs": [("mixed", Spec(2_000, 20_000, 50)), ("all active", Spec(2_000, 20_000,
                                                                            2_000))],
             "runs": 2, "json_runs": 1},
    "sync": {"latency_ms": 50.0, "tracking": [("17track", 80, None), ("kuaidi100", 40, None),
                                              ("cainiao", 30, 20.0)],
             "orders": 300, "orders_fetch_floor": True},
    "economy": {"orders": 24, "manual": {"kuaidi100": 6, "17track": 6, "cainiao": 4},
                "days": 0.5, "step_minutes": 120},
    "growth": {"list_sizes": [300, 1_200], "active": 100, "events_per": 5, "runs": 1,
               "sync_sizes": [10, 40], "latency_ms": 5.0},
    "import": {"parcels": 2_000, "active": 200, "messages": 300},
    "add": {"numbers": 2_000, "runs": 1, "startup_runs": 2},
}

TARGETS = {"startup_ratio": 1.5, "json_seconds": 3.0, "json_rss_mb": 200.0,
           "sync_ratio": 1.2, "sync_rss_mb": 150.0, "bulk_add_seconds": 5.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI); no timing "
                        "judgements")
    parser.add_argument("--out", type=Path, help="JSON results file")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--baseline", help="git revision whose `list` is timed beside this "
                        "tree's (section add: start-up before/after completion)")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    plan = SMOKE if args.smoke else FULL
    plan["add"] = plan["add"] | {"baseline": args.baseline}
    os.environ.setdefault("NO_COLOR", "1")
    _compile_parcelctl()
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "smoke" if args.smoke else "full", "machine": machine(),
                               "targets": TARGETS, "config": _jsonable(plan)}
    out = args.out or ROOT / "bench" / "results" / (
        datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ("-smoke" if args.smoke else "")
        + ".json")
    crashed: list[str] = []
    for section in sections:
        _log(f"section {section} …")
        begun = time.perf_counter()
        try:
            results[section] = RUNNERS[section](plan[section])
        except Exception:  # keep the other sections; the run still fails at the end
            crashed.append(section)
            results[section] = {"error": traceback.format_exc()}
            _log(results[section]["error"])
            continue
        results[section]["seconds"] = round(time.perf_counter() - begun, 1)
        write_json(out, results)  # partial results survive a later crash
    results["seconds"] = round(time.perf_counter() - started, 1)
    rows, failed = evaluate({k: v for k, v in results.items() if k not in crashed},
                            smoke=args.smoke)
    failed += [f"section {name} crashed" for name in crashed]
    results["summary"] = rows
    results["functional_failures"] = failed
    write_json(out, results)
    print_table(rows, results)
    print(f"results: {out}  ({results['seconds']} s)")
    if failed:
        print("FUNCTIONAL CHECKS FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def _compile_parcelctl() -> None:
    """Byte-compile parcelctl first, as ``pip install`` does for users. Without it, a source
    tree with PYTHONDONTWRITEBYTECODE (or edited since its last .pyc) recompiles modules on
    every start and the start-up figures measure the compiler, not parcelctl."""
    import compileall

    import parcelctl

    compileall.compile_dir(str(Path(parcelctl.__file__).parent), quiet=1)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _jsonable(plan: dict[str, Any]) -> dict[str, Any]:
    def conv(value: Any) -> Any:
        if isinstance(value, Spec):
            return {"parcels": value.parcels, "events": value.events, "active": value.active}
        if isinstance(value, dict):
            return {k: conv(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [conv(v) for v in value]
        return value

    converted: dict[str, Any] = conv(plan)
    return converted


# -- sections -------------------------------------------------------------------------------
def run_list(plan: dict[str, Any]) -> dict[str, Any]:
    return {"stores": [listing.list_at_scale(spec, label, plan["runs"], plan["json_runs"])
                       for label, spec in plan["specs"]]}


def run_sync(plan: dict[str, Any]) -> dict[str, Any]:
    latency = plan["latency_ms"]
    cases = []
    for provider, count, rate in plan["tracking"]:
        _log(f"  {provider}: {count} waybills")
        cases.append(syncing.tracking_throughput(provider, count, latency, rate=rate))
    runs = plan.get("orders_runs", 1)
    _log(f"  kuaishou: {plan['orders']} orders (best of {runs})")
    cases.append(_best_of(runs, lambda: syncing.kuaishou_first_sync(plan["orders"], latency)))
    # The target is judged at 50 ms. A platform in China seen from elsewhere is further
    # away: where the network, not the CPU, is the limit, the streamed import shows.
    for extra in plan.get("orders_also_at_ms", []):
        _log(f"  kuaishou: {plan['orders']} orders at {extra:g} ms (best of {runs})")
        cases.append(_best_of(runs, lambda ms=extra: syncing.kuaishou_first_sync(
            plan["orders"], ms)) | {"informational": True})
    # The same walk with its pages dropped unparsed: no parsing, no store. How close the
    # HTTP client alone gets to the bound says what store or parser work could still win.
    if plan.get("orders_fetch_floor"):
        _log(f"  kuaishou: {plan['orders']} orders, fetch only (best of {runs})")
        cases.append(_best_of(runs, lambda: syncing.kuaishou_first_sync(
            plan["orders"], latency, fetch_only=True)) | {"informational": True})
    return {"cases": cases}


def _best_of(runs: int, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The fastest of ``runs`` syncs, as ``list`` is judged by its fastest run: this VM's
    CPU speed alone varies by a quarter from run to run. The median is reported too."""
    results = [measure() for _ in range(max(1, runs))]
    best = min(results, key=lambda r: float(r["sync_s"]))
    times = sorted(float(r["sync_s"]) for r in results)
    return best | {"runs": len(results), "sync_s_all": times,
                   "sync_s_median": round(statistics.median(times), 3),
                   "ratio_median": round(statistics.median(times) / float(best["bound_s"]), 3)}


def run_economy(plan: dict[str, Any]) -> dict[str, Any]:
    return syncing.request_economy(plan["orders"], plan["manual"], plan["days"],
                                   plan["step_minutes"])


def run_growth(plan: dict[str, Any]) -> dict[str, Any]:
    return {"list": listing.list_growth(plan["list_sizes"], plan["active"],
                                        plan["events_per"], plan["runs"]),
            "sync": syncing.sync_growth(plan["sync_sizes"], plan["latency_ms"])}


def run_import(plan: dict[str, Any]) -> dict[str, Any]:
    return importing.import_at_scale(plan["parcels"], plan["messages"], plan["active"])


def run_add(plan: dict[str, Any]) -> dict[str, Any]:
    return {"bulk": adding.bulk_add(plan["numbers"], plan["runs"]),
            "startup": adding.completion_startup(plan["startup_runs"], plan.get("baseline"))}


RUNNERS = {"list": run_list, "sync": run_sync, "economy": run_economy, "growth": run_growth,
           "import": run_import, "add": run_add}


# -- judging and printing -------------------------------------------------------------------
def evaluate(results: dict[str, Any], *, smoke: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Table rows (timing targets judged only in full runs) and failed functional checks."""
    rows: list[dict[str, Any]] = []
    failed: list[str] = []

    def row(section: str, case: str, value: str, reference: str, ratio: Any, target: str,
            ok: bool | None) -> None:
        rows.append({"section": section, "case": case, "value": value, "reference": reference,
                     "ratio": ratio, "target": target,
                     "met": None if smoke and ok is not None else ok})

    for store in results.get("list", {}).get("stores", []):
        label = f"{store['label']} {store['store']['parcels']:,}"
        ref = store["reference"]
        for cmd in ("list", "show"):
            data = store[cmd]
            row("1 list", f"{cmd} ({label})",
                f"{data['best_s']:.3f} s (median {data['median_s']:.3f})",
                f"import floor {ref['best_s']:.3f} s (median {ref['median_s']:.3f})",
                data["ratio_best"], f"≤ {TARGETS['startup_ratio']}×",
                data["ratio_best"] <= TARGETS["startup_ratio"])
        dump = store["list_all_json"]
        row("1 list", f"list --all --json ({label})",
            f"{dump['best_s']:.2f} s, {dump['peak_rss_mb']:.0f} MB",
            f"{dump['parcels_out']:,} parcels", None, "< 3 s, < 200 MB",
            dump["best_s"] < TARGETS["json_seconds"]
            and dump["peak_rss_mb"] < TARGETS["json_rss_mb"])
        imports = store["imports"]["list"]
        row("1 list", f"list imports httpx ({label})", str(imports["httpx"]).lower(),
            f"pydantic {str(imports['pydantic']).lower()}", None, "false", None)
        failed += [f"{label}: {name}" for name, ok in store["checks"].items() if not ok]
    for case in results.get("sync", {}).get("cases", []):
        name = case["provider"]
        size = f"{case['orders']:,} orders" if name == "kuaishou" else f"{case['parcels']:,}"
        if name == "cainiao" and case.get("configured_rate"):
            size += (f", configured {case['configured_rate']:g}/s (at the default 0.5/s the "
                     f"bound is {case['default_rate_bound_s']} s)")
        elif name == "cainiao":
            size += ", default 0.5/s"
        detail = ""
        median = ""
        if name == "kuaishou":
            size += f" at {case['latency_ms']:g} ms"
            if case.get("fetch_only"):
                size += ", fetch only (pages dropped unparsed, nothing stored)"
            detail = (f"; CPU {case['sync_cpu_s']:.2f} s; store work "
                      f"{case['store_writes_s']:.2f} s, overlapping the fetch")
            if case.get("runs", 1) > 1:
                median = (f" best of {case['runs']} (median {case['sync_s_median']:.2f} s, "
                          f"ratio {case['ratio_median']:.2f})")
        informational = bool(case.get("informational"))
        row("2 sync", f"{name} {size}" + (" (information)" if informational else ""),
            f"{case['sync_s']:.2f} s{median} (process {case['wall_s']:.2f} s), "
            f"{case['requests']} req, {case['peak_rss_mb']:.0f} MB{detail}",
            f"bound {case['bound_s']:.2f} s: {case['bound']}", case["ratio"],
            "-" if informational else f"≤ {TARGETS['sync_ratio']}×, < 150 MB",
            None if informational else case["ratio"] <= TARGETS["sync_ratio"]
            and case["peak_rss_mb"] < TARGETS["sync_rss_mb"])
        if any(not unit["ok"] for unit in case["units"]):
            failed.append(f"sync {name}: a unit failed")
        if name == "kuaishou" and bool(case["parcels_imported"]) == bool(case.get("fetch_only")):
            failed.append("sync kuaishou: " + ("the fetch-only run stored orders"
                                               if case.get("fetch_only") else "nothing imported"))
        if name != "kuaishou" and case["requests"] < case["requests_needed"]:
            failed.append(f"sync {name}: fewer requests than needed")
    economy = results.get("economy")
    if economy:
        second = economy["second_sync"]
        row("3 economy", "second sync: tracking requests", str(second["tracking_requests"]),
            "right after a full sync", None, "0", None)
        row("3 economy", "second sync: order-list requests per account",
            f"{second['order_list_requests_per_account']:g}", "1 linked account", None, "1",
            None)
        week = economy["week"]
        row("3 economy", f"{week['days']:g} days, sync every {week['step_minutes']:g} min",
            f"{week['tracking_requests_per_parcel']} tracking req/parcel "
            f"({week['number_lookups_per_parcel']} lookups/parcel, "
            f"{week['all_requests_per_parcel']} all req/parcel)",
            f"{week['waybills']} waybills, {week['syncs']} syncs", None,
            "reported", None)
        row("3 economy", "polled after delivered/returned/cancelled",
            str(week["polled_after_final"]), "", None, "0", None)
        failed += [f"economy: {name}" for name, ok in economy["checks"].items() if not ok]
    growth = results.get("growth")
    if growth:
        for item in growth["list"]["rows"]:
            row("4 growth", f"list, {item['parcels']:,} parcels ({item['active']:,} active)",
                f"{item['list']['best_s']:.3f} s", f"{item['list_vs_smallest']}× smallest",
                item["list_vs_smallest"], "flat", None)
        for item in growth["sync"]["rows"]:
            for part, label in (("tracking", "waybills via kuaidi100"),
                                ("import", "kuaishou orders imported")):
                data = item[part]
                row("4 growth", f"sync, {item['size']:,} {label}",
                    f"{data['sync_s']:.2f} s, {data['requests']} req, "
                    f"{data['peak_rss_mb']:.0f} MB",
                    f"time/size vs smallest {data['time_per_size_vs_smallest']}",
                    data["time_per_size_vs_smallest"], "linear or better", None)
    imported = results.get("import")
    if imported:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(imported["counts"].items()))
        row("5 import", f"import {imported['messages']:,} JSON-line messages, "
            f"{imported['parcels']:,} parcels",
            f"{imported['import_s']:.2f} s (CPU {imported['cpu_s']:.2f} s), "
            f"{imported['peak_rss_mb']:.0f} MB", counts, None,
            "tail match through an index", imported["tail_index_used"])
        failed += [f"import: {name}" for name, ok in imported["checks"].items() if not ok]
    added = results.get("add")
    if added:
        bulk = added["bulk"]
        data = bulk["add"]
        row("6 add", f"add - --no-track, {bulk['numbers']:,} numbers",
            f"{data['best_s']:.2f} s (median {data['median_s']:.2f}; CPU "
            f"{min(data['cpu_s']):.2f} s), {data['peak_rss_mb']:.0f} MB, "
            f"{bulk['output_lines']} lines out",
            f"{bulk['stored']:,} stored", None, f"< {TARGETS['bulk_add_seconds']:g} s",
            data["best_s"] < TARGETS["bulk_add_seconds"])
        failed += [f"add: {name}" for name, ok in bulk["checks"].items() if not ok]
        startup = added["startup"]
        ref = startup["reference"]
        for name in ("list", "list (baseline)", "complete show YT"):
            if name not in startup:
                continue
            data = startup[name]
            label = (f"{name} {startup['baseline']}, before completion"
                     if name == "list (baseline)" else name)
            row("6 add", label + " (1,000 parcels)",
                f"{data['best_s']:.3f} s (median {data['median_s']:.3f})",
                f"import floor {ref['best_s']:.3f} s (median {ref['median_s']:.3f})",
                data["ratio_best"], f"≤ {TARGETS['startup_ratio']}×" if name == "list" else "-",
                data["ratio_best"] <= TARGETS["startup_ratio"] if name == "list" else None)
    return rows, failed


def print_table(rows: list[dict[str, Any]], results: dict[str, Any]) -> None:
    info = results["machine"]
    title = (f"parcelctl benchmarks ({results['mode']}) — {info['date']}, {info['cpu']}, "
             f"{info['nproc']} CPUs, Python {info['python']}")
    cells = [[r["section"], r["case"], r["value"], r["reference"],
              "" if r["ratio"] is None else f"{r['ratio']:.2f}", r["target"],
              {True: "yes", False: "NO", None: "-"}[r["met"]]] for r in rows]
    headers = ["section", "case", "measured", "reference / bound", "ratio", "target", "met"]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a parcelctl dependency
        print(title)
        for line in [headers, *cells]:
            print(" | ".join(line))
        return
    table = Table(title=title, show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for line in cells:
        table.add_row(*line)
    Console(width=max(160, Console().width)).print(table)


if __name__ == "__main__":
    raise SystemExit(main())
