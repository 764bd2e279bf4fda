"""One sync run, as ``parcelctl sync`` (the cron job) does it: under the sync lock, with
the log file attached, recorded in the store's runs table, notifications delivered, and the
lines that need a human worked out while the store is open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Change, Store
    from ..sync import SyncSummary

#: ``progress(name, done, total)``, called as a unit advances (see ``sync.Syncer``).
Progress = Callable[[str, int, int], None]


class SyncInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``started`` are the units begun (``sync.UnitResult``), for
    saying what was kept."""

    def __init__(self, started: list[Any]) -> None:
        super().__init__()
        self.started = started


@dataclass
class SyncRun:
    summary: SyncSummary
    #: What needs a human (``attention_lines`` then ``relink_lines``); empty unless asked.
    attention: list[str] = field(default_factory=list)


def run_sync(config: Config, *, providers: list[str] | None, force: bool, wait: bool,
             attention: bool, progress: Progress | None = None,
             on_start: Callable[[], None] | None = None) -> SyncRun:
    """Run a sync and return its summary. ``on_start`` is called once the lock is held and
    the store open, just before the providers are asked (a progress bar starts there).
    Raises :class:`SyncInterrupted` on Ctrl-C, after the lock and store are released."""
    import asyncio

    from ..lock import SyncLock
    from ..logfile import attach_log_file
    from ..notify import Recorder, Settings, after_sync
    from ..sync import Syncer
    from .reading import open_store

    config.paths.ensure()
    with SyncLock(config.paths.lock_file, wait=wait), open_store(config) as store:
        attach_log_file(config.paths.log_file)
        if on_start is not None:
            on_start()
        hook = Recorder(config, store)
        syncer = Syncer(config, store, progress=progress, on_changes=hook)
        run_id = store.start_run()
        try:
            summary = asyncio.run(syncer.run(providers=providers, force=force))
        except Exception as exc:
            # A provider's failure is a unit's (boundary); this is parcelctl's or the
            # machine's. The run's row still says it ended.
            import contextlib

            with contextlib.suppress(Exception):
                store.finish_run(run_id, 1, {"error": type(exc).__name__})
            raise
        except KeyboardInterrupt:
            raise SyncInterrupted(syncer.started) from None
        store.finish_run(run_id, summary.exit_code, summary.to_json())
        after_sync(config, store, summary, recorded=hook.ok,
                   old_news=hook.notifier.old_news)
        lines: list[str] = []
        if attention:
            lines = attention_lines(store, summary,
                                    backlog=Settings.from_config(config).backlog)
            lines += relink_lines(store)
        return SyncRun(summary, lines)


def relink_lines(store: Store) -> list[str]:
    """Accounts whose authorization runs out soon (see relink.py)."""
    from ..relink import relink_warning

    found = (relink_warning(str(r["provider"]), str(r["account"]), r["refresh_expires_at"])
             for r in store.accounts())
    return [line for line in found if line]


def _history(store: Store, summary: SyncSummary, wanted: list[Change], backlog: timedelta,
             now: datetime | None) -> set[int]:
    """Ids of the parcels in ``wanted`` this run created whose newest change is older than
    ``backlog``, by ``store.CHANGED_AT`` (see ``notify.is_backlog``)."""
    from ..models import utcnow
    from ..notify import is_backlog
    from ..store import iso

    cutoff = iso((now or utcnow()) - backlog)
    created = {c.parcel_id for c in summary.changes if c.first_import}
    times = store.change_times({c.parcel_id for c in wanted if c.parcel_id in created})
    return {pid for pid, when in times.items() if is_backlog(when, cutoff)}


def attention_lines(store: Store, summary: SyncSummary, *, backlog: timedelta | None = None,
                    now: datetime | None = None) -> list[str]:
    """One line per change that needs a human: pickups, deliveries, exceptions, errors.

    A change of a parcel this run created (an import, and the first tracking answer after
    it) older than ``backlog`` is the shop's history, not news, by the rule and the setting
    that keep it out of notifications (``notify.backlog_hours``): those are counted in one
    line. A shop's first import listed 7,648 old deliveries one line each, and ``sync
    --quiet`` mailed them from cron.
    """
    from ..views import status_label

    notable = {"out_for_delivery", "ready_for_pickup", "delivered", "exception", "returned"}
    wanted = [c for c in summary.changes if c.status_changed and c.new_status in notable]
    history = _history(store, summary, wanted, backlog, now) if backlog else set()
    lines: list[str] = []
    for change in wanted:
        if change.parcel_id in history:
            continue
        text = f"{change.number}: {status_label(change.new_status)} ({change.new_status})"
        if change.new_status == "ready_for_pickup" and change.pickup_code:
            text += f" 取件码 {change.pickup_code}"
        if change.description:
            text += f" — {' '.join(change.description.split())[:80]}"
        lines.append(text)
    for unit in summary.units:
        for number, message in unit.item_errors.items():
            lines.append(f"{number}: {' '.join(message.split())}")
    if history:
        hours = backlog.total_seconds() / 3600 if backlog else 0
        lines.insert(0, f"{len(history):,} newly imported parcels changed more than "
                        f"{hours:g} h ago: history, not listed (parcelctl list --all shows "
                        "them)")
    return lines
