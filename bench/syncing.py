"""Sections 2 (sync throughput against the bound), 3 (request economy) and the sync half of 4.

Every figure comes from a real ``parcelctl sync`` process (through ``timed_cli.py``, which
adds the in-process time of ``Syncer.run``) against the sandbox with latency and the
documented rate limits enforced. Bounds are computed from those same numbers.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import scenarios as sc
from common import PYTHON, ROOT, ratio, run_child

TIMED_CLI = str(ROOT / "bench" / "timed_cli.py")
KUAISHOU_QPS = 300.0  # documented for open.order.cursor.list (kuaishou.md §6)
SEVENTEEN_RATE = 3.0  # documented, requests per second
FINAL = ("delivered", "returned", "cancelled")
ECONOMY_CAINIAO_RATE = 20.0
FETCH_ONLY = "PARCELCTL_BENCH_FETCH_ONLY"  # read by timed_cli.py


def run_sync(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as report_file:
        run = run_child([PYTHON, TIMED_CLI, report_file.name, "--", "sync", *args], env=env)
        report = json.loads(Path(report_file.name).read_text() or "{}")
    if run.returncode not in (0, 3):
        raise RuntimeError(f"sync failed ({run.returncode}): {run.stderr.decode()[-800:]}")
    summary = json.loads(run.stdout) if "--json" in args and run.stdout.strip() else {}
    runs = report.get("sync_runs_s") or [float("nan")]
    return {"wall_s": round(run.seconds, 3), "sync_s": round(runs[0], 3),
            "store_writes_s": round(float(report.get("store_in_sync_s", 0.0)), 3),
            "sync_cpu_s": round(float(report.get("sync_cpu_s", float("nan"))), 3),
            "notify_s": round(float(report.get("after_sync_s", 0.0)), 3),
            "peak_rss_mb": round(run.peak_rss_mb, 1), "exit_code": run.returncode,
            "units": [{k: u[k] for k in ("name", "ok", "requests", "items", "error")}
                      for u in summary.get("providers", [])]}


# -- section 2 ------------------------------------------------------------------------------
def tracking_throughput(provider: str, count: int, latency_ms: float, *,
                        rate: float | None = None) -> dict[str, Any]:
    """``count`` waybills, all due, through one tracking provider."""
    from parcelctl.providers import registry

    cls: Any = registry.load(provider)
    # Cainiao documents no rate; the sandbox enforces the one parcelctl uses (0.5/s by
    # default, or the configured one), so a client that went faster would be throttled.
    sandbox_rates = {"cainiao": rate or cls.rate_per_second} if provider == "cainiao" else None
    extra = {"providers.cainiao.rate_per_second": rate} if provider == "cainiao" and rate else {}
    with sc.sandbox(latency_ms=latency_ms, rates=sandbox_rates) as running, sc.home():
        sc.configure(running, tracking_default=provider, extra=extra)
        kind = "cainiao" if provider == "cainiao" else "domestic"
        carrier = "" if provider == "cainiao" else "yuantong"
        sc.add_parcels(sc.numbers(kind, count), carrier=carrier, provider=provider)
        running.sandbox.stats.reset()
        result = run_sync("--json")
        counts = sc.requests_by_endpoint(running)
    latency = latency_ms / 1000.0
    if provider == "17track":
        needed = 2 * math.ceil(count / cls.batch_size)
        bound = needed / SEVENTEEN_RATE
        how = f"{needed} requests (register + gettrackinfo, 40 per call) at 3/s"
    elif provider == "kuaidi100":
        needed = count
        bound = count * latency / cls.concurrency
        how = f"{count} requests x {latency_ms:g} ms / concurrency {cls.concurrency}"
    else:
        used = rate or cls.rate_per_second
        needed = math.ceil(count / cls.batch_size)
        bound = needed / used
        how = f"{needed} requests (10 per call) at {used:g}/s"
        result["default_rate_bound_s"] = round(needed / cls.rate_per_second, 2)
        result["configured_rate"] = rate
    result.update(provider=provider, parcels=count, latency_ms=latency_ms,
                  requests=sc.tracking_requests(counts), requests_needed=needed,
                  bound_s=round(bound, 3), bound=how,
                  ratio=ratio(result["sync_s"], bound),
                  ratio_wall=ratio(result["wall_s"], bound), endpoints=counts)
    return result


def kuaishou_first_sync(orders: int, latency_ms: float, *, fetch_only: bool = False
                        ) -> dict[str, Any]:
    """A first import of ``orders`` orders. ``fetch_only``: the same walk with every page
    thrown away unparsed (timed_cli.py), so nothing is parsed or written: what the HTTP
    client alone costs, the floor no store or parser work can go below."""
    with sc.sandbox(orders=orders, latency_ms=latency_ms) as running, sc.home():
        sc.configure(running)
        sc.link_shop()
        running.sandbox.stats.reset()
        service: Any = running.sandbox.services["kuaishou"]
        service.configure({"clear_windows": True})
        service.prepare()
        result = run_sync("--provider", "kuaishou", "--json",
                          env={FETCH_ONLY: "1"} if fetch_only else None)
        counts = sc.requests_by_endpoint(running)
        chain, pages, windows = sc.kuaishou_chain(running)
        imported = _count_parcels()
    latency = latency_ms / 1000.0
    bound = max(chain * latency, pages / KUAISHOU_QPS)
    fetch = result["sync_s"] - result["store_writes_s"]
    result.update(provider="kuaishou", orders=orders, latency_ms=latency_ms, fetch_only=fetch_only,
                  fetch_s=round(fetch, 3), fetch_ratio=ratio(fetch, bound),
                  windows=windows, longest_chain=chain, pages=pages,
                  requests=sc.order_list_requests(counts), endpoints=counts,
                  parcels_imported=imported, bound_s=round(bound, 3),
                  bound=f"longest chain {chain} pages x {latency_ms:g} ms "
                        f"({windows} windows in parallel; {pages} pages at 300 QPS = "
                        f"{pages / KUAISHOU_QPS:.2f} s)",
                  ratio=ratio(result["sync_s"], bound),
                  ratio_wall=ratio(result["wall_s"], bound))
    return result


def _count_parcels() -> int:
    from parcelctl.config import Config
    from parcelctl.store import Store

    with Store(Config().paths.db_file, readonly=True) as store:
        return int(store.db.execute("SELECT count(*) FROM parcels").fetchone()[0])


# -- section 3 ------------------------------------------------------------------------------
def request_economy(orders: int, manual: dict[str, int], days: float, step_minutes: int
                    ) -> dict[str, Any]:
    """A full sync, an immediate second one, then a simulated week of syncs.

    Cainiao's client rate is raised to 20/s here: at its default 0.5/s the week spends ~7
    minutes waiting between Cainiao batches, and the rate changes no request count.
    """
    with sc.sandbox(orders=orders, rates={"cainiao": ECONOMY_CAINIAO_RATE}) as running, \
            sc.home():
        sc.configure(running, extra={"providers.cainiao.rate_per_second": ECONOMY_CAINIAO_RATE})
        sc.link_shop()
        start = 0
        for provider, count in manual.items():
            kind = "cainiao" if provider == "cainiao" else "domestic"
            sc.add_parcels(sc.numbers(kind, count, start=50_000 + start),
                           carrier="" if provider == "cainiao" else "yuantong",
                           provider=provider)
            start += count
        running.sandbox.stats.reset()
        first = run_sync("--json")
        first_counts = sc.requests_by_endpoint(running)
        running.sandbox.stats.reset()
        second = run_sync("--json")
        second_counts = sc.requests_by_endpoint(running)
        week = _simulate(running, days=days, step=timedelta(minutes=step_minutes))
    accounts = 1
    return {
        "orders": orders, "manual_parcels": manual, "cainiao_rate": ECONOMY_CAINIAO_RATE,
        "first_sync": first | {"tracking_requests": sc.tracking_requests(first_counts),
                               "order_list_requests": sc.order_list_requests(first_counts),
                               "endpoints": first_counts},
        "second_sync": second | {
            "tracking_requests": sc.tracking_requests(second_counts),
            "order_list_requests": sc.order_list_requests(second_counts),
            "order_list_requests_per_account": sc.order_list_requests(second_counts) / accounts,
            "endpoints": second_counts},
        "week": week,
        "checks": {
            "second_sync_zero_tracking": sc.tracking_requests(second_counts) == 0,
            "second_sync_one_order_list_per_account":
                sc.order_list_requests(second_counts) == accounts,
            "no_poll_after_delivery": week["polled_after_final"] == 0,
        },
    }


def _simulate(running: Any, *, days: float, step: timedelta) -> dict[str, Any]:
    """Advance the sandbox clock and parcelctl's clock together; sync after every step.

    The simulated syncs run back to back in real time while real ones are 30 minutes
    apart, so the sandbox's per-second rate windows are switched off here: one sync's
    requests would otherwise look like a burst with the next one's and be answered 429
    (and retried), inflating the counts. Rates are what section 2 measures.
    """
    from parcelctl.config import Config
    from parcelctl.policy import Policy
    from parcelctl.store import Store
    from parcelctl.sync import Syncer

    config = Config()
    offset = timedelta()

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    policy = Policy.from_config(config.get("polling"))  # the default policy
    policy.rng = random.Random(7)
    stats = running.sandbox.stats
    stats.reset()
    running.sandbox.enforce_rate_limits = False
    steps = int(days * 86400 / step.total_seconds())
    polled_after_final: list[str] = []
    lookups: dict[str, int] = {}
    with Store(config.paths.db_file) as store:
        parcels = store.db.execute(
            "SELECT count(*) FROM parcels WHERE kind = 'waybill'").fetchone()[0]
        for _ in range(steps):
            offset += step
            running.sandbox.clock.advance(step.total_seconds())
            before = {str(r[0]): str(r[1]) for r in store.db.execute(
                "SELECT number, status FROM parcels WHERE kind = 'waybill'")}
            seen = dict(stats.snapshot()["numbers"])
            asyncio.run(Syncer(config, store, policy=policy, clock=clock).run())
            for key, value in stats.snapshot()["numbers"].items():
                if value > seen.get(key, 0):
                    number = key.split(" ", 1)[1]
                    lookups[number] = lookups.get(number, 0) + value - seen.get(key, 0)
                    if before.get(number) in FINAL:
                        polled_after_final.append(number)
        final = store.db.execute(
            "SELECT status, count(*) FROM parcels WHERE kind = 'waybill' GROUP BY status"
        ).fetchall()
    counts = stats.snapshot()["requests"]
    tracking = sc.tracking_requests(counts)
    return {
        "days": days, "step_minutes": step.total_seconds() / 60, "syncs": steps,
        "waybills": parcels,
        "tracking_requests": tracking, "order_list_requests": sc.order_list_requests(counts),
        "all_requests": sum(counts.values()),
        "tracking_requests_per_parcel": round(tracking / max(1, parcels), 2),
        "number_lookups_per_parcel": round(sum(lookups.values()) / max(1, parcels), 2),
        "max_lookups_one_parcel": max(lookups.values(), default=0),
        "all_requests_per_parcel": round(sum(counts.values()) / max(1, parcels), 2),
        "polled_after_final": len(polled_after_final),
        "final_statuses": {str(s): int(n) for s, n in final},
        "endpoints": counts,
    }


# -- section 4 (sync) -----------------------------------------------------------------------
def sync_growth(sizes: list[int], latency_ms: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        tracking = tracking_throughput("kuaidi100", size, latency_ms)
        shop = kuaishou_first_sync(size, latency_ms)
        rows.append({"size": size,
                     "tracking": {k: tracking[k] for k in (
                         "sync_s", "wall_s", "requests", "peak_rss_mb", "bound_s", "ratio")},
                     "import": {k: shop[k] for k in (
                         "sync_s", "wall_s", "requests", "peak_rss_mb", "bound_s",
                         "parcels_imported")}})
    first = rows[0]
    for row in rows:
        scale = row["size"] / first["size"]
        for part in ("tracking", "import"):
            base = first[part]["sync_s"]
            row[part]["time_per_size_vs_smallest"] = round(
                row[part]["sync_s"] / base / scale, 3) if base else None
    return {"latency_ms": latency_ms, "rows": rows}
