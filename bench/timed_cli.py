"""Run the real ``parcelctl`` CLI and report what happened inside the process.

    python bench/timed_cli.py REPORT.json -- sync --json

Exactly ``parcelctl.cli.app.main(ARGS)``, plus a JSON report written at exit: how long
``Syncer.run`` took (network and store writes, without interpreter start-up) and how much of
it was spent writing to the store (which a streamed import overlaps with its fetch), the peak
RSS of
the process, and which modules were imported (the start-up check: ``list`` must not load
httpx). Used only by the benchmarks; the timed figures of ``list``/``show`` come from plain
``python -m parcelctl`` runs, not from this wrapper.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator

STARTED = time.perf_counter()


def main() -> None:
    report_path, separator, *args = sys.argv[1:]
    assert separator == "--", "usage: timed_cli.py REPORT.json -- ARGS..."
    report: dict[str, object] = {"sync_runs_s": [], "store_s": 0.0}
    if args and args[0] == "sync":
        _time_syncer(report)
        if os.environ.get("PARCELCTL_BENCH_FETCH_ONLY"):
            _drop_pages()
    from parcelctl.cli.app import main as cli_main

    code = 0
    try:
        cli_main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        report["exit_code"] = code
        report["process_s"] = time.perf_counter() - STARTED
        report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        report["modules"] = sorted({name.split(".")[0] for name in sys.modules})
        with open(report_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle)
    raise SystemExit(code)


def _time_syncer(report: dict[str, object]) -> None:
    from contextlib import contextmanager

    from parcelctl import store, sync

    original = sync.Syncer.run
    transaction = store.Store.transaction
    depth = [0, 0.0]  # nesting level of store work, when the outermost one started

    def enter() -> None:
        depth[0] += 1
        if depth[0] == 1:
            depth[1] = time.perf_counter()

    def leave() -> None:
        depth[0] -= 1
        if depth[0] == 0:
            report["store_s"] = float(report["store_s"]) + time.perf_counter() - depth[1]  # type: ignore[arg-type]

    # Store work is what runs inside a transaction block, plus the pages a streamed import
    # writes and its COMMIT (its transaction stays open across network waits, which are
    # not store work). Nested calls count once.
    @contextmanager
    def timed_transaction(self: store.Store) -> Iterator[object]:
        enter()
        try:
            with transaction(self) as db:
                yield db
        finally:
            leave()

    def timed(method: str) -> None:
        real = getattr(store.Store, method)

        def wrapper(self: store.Store, *args: object, **kwargs: object) -> object:
            enter()
            try:
                return real(self, *args, **kwargs)
            finally:
                leave()

        setattr(store.Store, method, wrapper)

    for method in ("import_orders", "commit"):
        if hasattr(store.Store, method):
            timed(method)

    async def timed_run(self: sync.Syncer, *args: object, **kwargs: object) -> sync.SyncSummary:
        started = time.perf_counter()
        cpu = time.process_time()
        writes_before = float(report["store_s"])  # type: ignore[arg-type]
        try:
            return await original(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            runs = report["sync_runs_s"]
            assert isinstance(runs, list)
            runs.append(time.perf_counter() - started)
            report["sync_cpu_s"] = time.process_time() - cpu  # all threads of the process
            report["store_in_sync_s"] = float(report["store_s"]) - writes_before  # type: ignore[arg-type]

    sync.Syncer.run = timed_run  # type: ignore[method-assign]
    _time_after_sync(report)
    store.Store.transaction = timed_transaction  # type: ignore[assignment,method-assign]


def _drop_pages() -> None:
    """Kuaishou pages are fetched and their envelopes and cursors checked as always, then
    dropped unparsed: no order reaches the store. Only the benchmark's fetch floor uses it."""
    from parcelctl.providers import kuaishou

    def nothing(payload: object, account: str, carriers: object) -> list[object]:
        return []

    kuaishou.page_orders = nothing  # type: ignore[assignment]


def _time_after_sync(report: dict[str, object]) -> None:
    """Notifications run after ``Syncer.run`` (outside its figure): time them separately."""
    try:
        from parcelctl import notify
    except ImportError:  # pragma: no cover - an older tree without notifications
        return
    original = getattr(notify, "after_sync", None)
    if original is None:
        return

    def timed(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            report["after_sync_s"] = time.perf_counter() - started

    notify.after_sync = timed  # type: ignore[assignment]


if __name__ == "__main__":
    main()
