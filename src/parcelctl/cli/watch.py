"""parcelctl watch — a live table of active parcels that keeps itself up to date.

Every ``--interval`` seconds one round runs: it takes the sync lock WITHOUT waiting; when a
cron ``sync`` holds it the round only re-reads the store (that run's changes still show,
because changes are found by comparing store snapshots, not from what this process fetched).
Otherwise it syncs the due parcels — and the linked accounts every
``polling.account_minutes`` (default 30) — then records and delivers notifications exactly
like ``sync``, and releases the lock. Failed rounds are retried with backoff
(interval × 2^n, at most 15 minutes) and shown in the status line.

Not on a terminal, each status change is one plain line on stdout
(``NUMBER: OLD -> NEW …`` with the statuses named in ``display.language``; scripts read
``sync --json`` or ``notify.command``) and problems go to stderr. Ctrl-C ends watch with exit
code 130 (the documented "interrupted"); ``--once``/``--rounds`` end with 0, or with the
sync's own exit code (3, 4, 1) when the last round failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import sqlite3

    from rich.console import RenderableType

    from ..config import Config
    from ..store import Store

MAX_BACKOFF = 900.0
HIGHLIGHT_SECONDS = 600.0


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


def change_line(old: Seen | None, new: Seen, lang: str) -> str:
    """``NUMBER: old -> new`` in the run's language, with the pickup code and the scan."""
    from ..views import status_label

    zh = lang == "zh"
    before = status_label(old.status, lang) if old else ("新" if zh else "new")
    text = f"{new.number}: {before} -> {status_label(new.status, lang)}"
    if new.status == "ready_for_pickup" and new.pickup_code:
        text += f" 取件码 {new.pickup_code}" if zh else f", pickup code {new.pickup_code}"
    if new.description:
        text += f" — {' '.join(new.description.split())[:80]}"
    return text


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


def relink_line(ref: str) -> str:
    return f"{ref} is not synced until you run: parcelctl link {ref.split(':')[0]}"


def refresh_round(config: Config, store: Store, *, account_minutes: float,
                  clock: Callable[[], datetime]) -> Outcome:
    """Sync what is due, under the sync lock taken without waiting."""
    import asyncio
    import logging

    from ..errors import ParcelctlError
    from ..http import redact
    from ..lock import SyncLock
    from ..notify import Recorder, after_sync
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


class View:
    """What the Live display renders; its refresh thread calls ``__rich__`` on its own, so
    the clock and spinner move while the main thread is busy syncing."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.rows: list[Any] = []
        self.total = 0
        self.highlight: dict[int, float] = {}  # parcel id -> when the change was seen
        self.recent: list[str] = []
        self.busy = False
        self.next_round = time.monotonic()
        self.next_due: str | None = None
        self.last_refresh: datetime | None = None
        self.note = ""
        self.errors: list[str] = []
        self.relink: list[str] = []

    def __rich__(self) -> RenderableType:
        from rich.console import Group
        from rich.text import Text

        from .output import console, parcel_table, zone_name

        zh = self.lang == "zh"
        now = time.monotonic()
        marked = {pid for pid, seen in self.highlight.items() if now - seen < HIGHLIGHT_SECONDS}
        status = Text()
        if self.busy:
            status.append("⟳ 刷新中… " if zh else "⟳ refreshing… ", style="bold cyan")
        else:
            wait = max(0, int(self.next_round - now))
            status.append(f"{wait} 秒后下一轮 " if zh else f"next round in {wait}s ",
                          style="cyan")
        if self.next_due:
            status.append(f"· {'下一件到期' if zh else 'next parcel due'} "
                          f"{clock_time(self.next_due)} ")
        if self.last_refresh:
            status.append(f"· {'上次查看' if zh else 'last look'} "
                          f"{clock_time(self.last_refresh.isoformat())} ")
        status.append(f"· {'时间' if zh else 'times'} {zone_name()} ", style="dim")
        width = console().width
        if self.next_due and status.cell_len > width:  # a narrow terminal: one line still
            status = Text(status.plain.replace(
                f"· {'下一件到期' if zh else 'next parcel due'} {clock_time(self.next_due)} ",
                ""), style="cyan")
        if self.note:
            status.append(f"· {self.note} ", style="yellow")
        for error in self.errors[:3]:
            status.append(f"\n⚠ {' '.join(error.split())[:160]}", style="red")
        for ref in self.relink[:3]:
            status.append(f"\n⚠ {relink_line(ref)}", style="yellow")
        recent = [Text(f"  {line}", style="dim", no_wrap=True, overflow="ellipsis")
                  for line in self.recent[-5:]]
        # Everything but the table's rows fits on the screen: the title, the header and its
        # rule, the "N more" line, the recent changes and the status lines.
        out = console()
        room = out.height - 4 - len(recent) - 1 - len(status.plain.splitlines())
        title = (f"parcelctl watch — {self.total} 件进行中" if zh
                 else f"parcelctl watch — {self.total} active")
        rows = self.rows[:max(1, room)]
        parts: list[RenderableType] = [parcel_table(
            rows, lang=self.lang, highlight=marked, title=title, width=out.width)]
        more = self.total - len(rows)
        if more > 0:
            from .output import more_rows

            parts.append(Text(f"  {more_rows(more, self.lang)}", style="dim"))
        if not self.rows:
            parts.append(Text("  没有进行中的包裹 — 用 'parcelctl add 单号' 添加" if zh else
                              "  no active parcels — add one with 'parcelctl add NUMBER'",
                              style="dim"))
        parts += recent
        parts.append(status)
        return Group(*parts)


def clock_time(iso_time: str) -> str:
    """The one time format of watch's screen: ``14:05`` today, ``12-08 14:05`` another day,
    in the local zone (said once in the status line)."""
    from .output import now

    try:
        moment = datetime.fromisoformat(iso_time).astimezone()
    except ValueError:
        return iso_time
    today = now().astimezone().date()
    return moment.strftime("%H:%M" if moment.date() == today else "%m-%d %H:%M")


def main(
    interval: float = typer.Option(60.0, "--interval", "-i", min=1.0,
                                   help="Seconds between rounds (only due parcels are "
                                   "fetched; the polling policy still decides)."),
    once: bool = typer.Option(False, "--once", help="One round, then exit."),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="Stop after N rounds."),
) -> None:
    """Live table of active parcels: refreshes due parcels, highlights changes, notifies."""
    from .. import views
    from ..logfile import attach_log_file
    from ..models import utcnow
    from .common import language, load_config, open_store
    from .output import console, info, is_terminal, warn

    config = load_config()
    config.paths.ensure()
    attach_log_file(config.paths.log_file)
    lang = language(config)
    account_minutes = config.get("polling.account_minutes")
    if not isinstance(account_minutes, int | float) or account_minutes <= 0:
        account_minutes = 30.0
    limit = rounds if rounds is not None else (1 if once else None)
    live_mode = is_terminal()
    view = View(lang)
    live = None
    done = 0
    failures = 0
    outcome = Outcome()
    with open_store(config) as store:
        last_look = utcnow()
        before = snapshot(store.db)

        def look() -> None:
            view.rows, view.total = views.list_parcels(
                store.db, limit=max(5, console().height), columns=views.TABLE_COLUMNS)
            view.next_due = store.next_due()
            view.last_refresh = utcnow()

        try:
            if live_mode:
                from rich.live import Live

                look()
                live = Live(view, console=console(), refresh_per_second=2,
                            vertical_overflow="crop")
                live.start()
            while True:
                view.busy = True
                outcome = refresh_round(config, store, account_minutes=float(account_minutes),
                                        clock=utcnow)
                view.busy = False
                now = utcnow()
                after, fresh = look_again(store.db, before, last_look)
                changes, touched = diff(before, fresh)
                before, last_look = after, now
                seen_at = time.monotonic()
                view.highlight = {pid: at for pid, at in view.highlight.items()
                                  if seen_at - at < HIGHLIGHT_SECONDS}
                view.highlight.update(dict.fromkeys(touched, seen_at))
                lines = [change_line(old, new, lang) for old, new in changes]
                stamp = clock_time(now.isoformat())
                view.recent = (view.recent + [f"{stamp} {line}" for line in lines])[-20:]
                view.errors = outcome.errors
                if not outcome.skipped:
                    fresh_relink = [r for r in outcome.relink if r not in view.relink]
                    view.relink = outcome.relink
                else:
                    fresh_relink = []
                failures = failures + 1 if outcome.errors else 0
                delay = interval if not failures else min(interval * 2 ** failures,
                                                          max(MAX_BACKOFF, interval))
                view.note = ("another sync is running — showing stored data"
                             if outcome.skipped else "")
                if outcome.errors:
                    view.note = f"retrying in {int(delay)}s"
                if live is None:
                    for line in lines:
                        info(line)
                    if outcome.skipped:
                        warn("another sync is running; showed stored data only")
                    for error in outcome.errors:
                        warn(error)
                    for ref in fresh_relink:  # once, not every round
                        warn(relink_line(ref))
                    console().file.flush()
                else:
                    look()
                done += 1
                if limit is not None and done >= limit:
                    break
                view.next_round = time.monotonic() + delay
                time.sleep(delay)
        except KeyboardInterrupt:
            if live is not None:
                live.stop()
                live = None
            raise typer.Exit(130) from None
        finally:
            if live is not None:
                live.stop()
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
