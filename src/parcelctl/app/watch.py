"""``parcelctl watch``'s rounds: under the sync lock taken without waiting, sync what is
due (and the linked accounts every ``polling.account_minutes``), record and deliver
notifications like ``sync``; then find what changed in the store since the last look, by
comparing snapshots (a cron ``sync``'s changes show too). The screen is ``cli/watch.py``'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from ..config import Config
    from ..store import Store


@dataclass(frozen=True, slots=True)
class Seen:
    """What watch remembers of a parcel between looks."""

    number: str
    status: str
    updated_at: str
    pickup_code: str | None
    description: str


_SEEN = "SELECT id, number, status, updated_at, pickup_code, last_event_desc FROM parcels"
#: A writer stamps ``updated_at`` when it writes and commits later: an import keeps its
#: transaction open up to 15 s (sync._StreamedImport). Rows stamped this long before the
#: last look are read again, so none committed late is missed.
LOOK_BACK = timedelta(minutes=5)


def snapshot(db: sqlite3.Connection, where: str = "", args: tuple[Any, ...] = ()
             ) -> dict[int, Seen]:
    return {int(r[0]): Seen(str(r[1]), str(r[2]), str(r[3]), r[4], str(r[5] or ""))
            for r in db.execute(_SEEN + where, args)}


def look_again(db: sqlite3.Connection, before: dict[int, Seen], last_look: datetime
               ) -> tuple[dict[int, Seen], dict[int, Seen]]:
    """(everything now, the rows read): only rows changed since ``last_look`` (less
    :data:`LOOK_BACK`) or newer than any seen. Every change of a status, scan or pickup
    code stamps ``updated_at``; an import gives a new parcel the platform's time instead,
    so new rows are found by id. If rows were removed (``rm``, ``unlink --purge``),
    everything is read again. Reading all 100,000 parcels of a big store every round took
    0.8-1.4 s of CPU (measured with the benchmark's store).

    SQLite gives a new row max(id) + 1, so a removed id is taken again only once every id
    above it is gone, the last seen top id included: a different number there (or none)
    means ids were reused, and a removal plus an insert would leave the count unchanged."""
    from ..store import iso

    top = max(before, default=0)
    if top:
        row = db.execute("SELECT number FROM parcels WHERE id=?", (top,)).fetchone()
        if row is None or str(row[0]) != before[top].number:
            after = snapshot(db)
            return after, after
    fresh = snapshot(db, " WHERE updated_at >= ?", (iso(last_look - LOOK_BACK),))
    fresh |= snapshot(db, " WHERE id > ?", (top,))
    after = before | fresh
    if db.execute("SELECT count(*) FROM parcels").fetchone()[0] != len(after):
        after = snapshot(db)
        return after, after
    return after, fresh


def diff(before: dict[int, Seen], after: dict[int, Seen]
         ) -> tuple[list[tuple[Seen | None, Seen]], set[int]]:
    """(status changes as (old, new) in id order, ids touched in any way)."""
    changes = []
    for pid, now in sorted(after.items()):
        old = before.get(pid)
        if old is not None and old.number != now.number:
            old = None  # a new parcel in a removed one's id (see look_again)
        if old is None or old.status != now.status:
            changes.append((old, now))
    touched = {pid for pid, now in after.items() if before.get(pid) != now}
    return changes, touched


@dataclass(slots=True)
class Outcome:
    """One round: did it sync, and what went wrong."""

    skipped: bool = False  # another process holds the sync lock
    ran: bool = False
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    exit_code: int = 0
    #: Linked accounts that need `parcelctl link` again: watch skips them, and said so only
    #: in the round that found out; then it went quiet while their orders stopped coming.
    relink: list[str] = field(default_factory=list)


def _needing_link(store: Store) -> list[str]:
    """PROVIDER:ACCOUNT of the linked accounts marked for `parcelctl link` again."""
    return [f"{a['provider']}:{a['account']}" for a in store.accounts()
            if a["health"] == "reauth"]


def refresh_round(config: Config, store: Store, *, account_minutes: float,
                  clock: Callable[[], datetime]) -> Outcome:
    """Sync what is due, under the sync lock taken without waiting."""
    import asyncio
    import logging

    from ..errors import ParcelctlError
    from ..lock import SyncLock
    from ..notify import Recorder, after_sync
    from ..redaction import redact
    from ..store import iso
    from ..sync import Syncer, SyncSummary

    lock = SyncLock(config.paths.lock_file, wait=False)
    if not lock.acquire():
        return Outcome(skipped=True)
    try:
        now = clock()
        due = {int(r["id"]) for r in store.due(now)}
        stale = iso(now - timedelta(minutes=account_minutes))
        accounts = [a for a in store.accounts() if a["health"] != "reauth"
                    and (a["last_sync_at"] is None or a["last_sync_at"] < stale)]
        if not due and not accounts:
            # Nothing to fetch; still deliver what waits (quiet hours over, a channel back)
            # and notice orders that just became overdue. Under the lock, like sync.
            after_sync(config, store, SyncSummary())
            relink = _needing_link(store)
            return Outcome(relink=relink, exit_code=4 if relink else 0)
        run_id = store.start_run()
        hook = Recorder(config, store, clock=clock)
        summary = asyncio.run(Syncer(config, store, clock=clock, on_changes=hook).run(
            only_ids=None if accounts else due))
        store.finish_run(run_id, summary.exit_code, summary.to_json())
        after_sync(config, store, summary, recorded=hook.ok,
                   old_news=hook.notifier.old_news)
        relink = _needing_link(store)  # after the run: this round may have found one
        return Outcome(ran=True, requests=sum(u.requests for u in summary.units),
                       errors=[u.error or f"{u.name} failed" for u in summary.units if not u.ok],
                       exit_code=summary.exit_code or (4 if relink else 0), relink=relink)
    except ParcelctlError as exc:
        return Outcome(ran=True, errors=[exc.render()], exit_code=int(exc.exit_code))
    except Exception as exc:  # a long-running watcher reports, backs off and carries on
        logging.getLogger("parcelctl.watch").exception("watch round failed")
        return Outcome(ran=True, errors=[redact(f"unexpected error: {type(exc).__name__}: "
                                                f"{exc}")], exit_code=1)
    finally:
        lock.release()


@dataclass(slots=True)
class Look:
    """The active parcels as the table shows them, and when the next one is due."""

    rows: list[Any]
    total: int
    next_due: str | None


@dataclass(slots=True)
class Round:
    """One round: its outcome, when the store was looked at, and what changed since the
    round before (status changes as (old, new), and ids touched in any way)."""

    outcome: Outcome
    now: datetime
    changes: list[tuple[Seen | None, Seen]]
    touched: set[int]


class Watch:
    """A watch session: the store open, and what it held at the last look. Use it as a
    context manager (the store is closed on leaving)."""

    def __init__(self, config: Config, *, account_minutes: float,
                 clock: Callable[[], datetime] | None = None) -> None:
        from ..models import utcnow
        from .reading import open_store

        self.config = config
        self.account_minutes = account_minutes
        self.clock = clock or utcnow
        self.store = open_store(config)
        self.last_look = self.clock()
        self.before = snapshot(self.store.db)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    def look(self, limit: int) -> Look:
        from .. import views

        rows, total = views.list_parcels(self.store.db, limit=limit,
                                         columns=views.TABLE_COLUMNS)
        return Look(rows, total, self.store.next_due())

    def round(self) -> Round:
        outcome = refresh_round(self.config, self.store, account_minutes=self.account_minutes,
                                clock=self.clock)
        now = self.clock()
        after, fresh = look_again(self.store.db, self.before, self.last_look)
        changes, touched = diff(self.before, fresh)
        self.before, self.last_look = after, now
        return Round(outcome, now, changes, touched)
