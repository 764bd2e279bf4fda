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
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

# A round is the application layer's; here for the callers that know these names.
from ..app.watch import LOOK_BACK as LOOK_BACK
from ..app.watch import Outcome as Outcome
from ..app.watch import Seen as Seen
from ..app.watch import diff as diff
from ..app.watch import look_again as look_again
from ..app.watch import refresh_round as refresh_round
from ..app.watch import snapshot as snapshot

if TYPE_CHECKING:
    from rich.console import RenderableType

MAX_BACKOFF = 900.0
HIGHLIGHT_SECONDS = 600.0


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


def relink_line(ref: str) -> str:
    return f"{ref} is not synced until you run: parcelctl link {ref.split(':')[0]}"


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
    interval: float = typer.Option(60.0, "--interval", "-i", min=1.0, max=86_400.0,
                                   help="Seconds between rounds (only due parcels are "
                                   "fetched; the polling policy still decides)."),
    once: bool = typer.Option(False, "--once", help="One round, then exit."),
    rounds: int | None = typer.Option(None, "--rounds", min=1, max=1_000_000,
                                      help="Stop after N rounds."),
) -> None:
    """Live table of active parcels: refreshes due parcels, highlights changes, notifies."""
    from ..app.watch import Watch
    from ..logfile import attach_log_file
    from ..models import utcnow
    from .common import language, load_config
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
    with Watch(config, account_minutes=float(account_minutes), clock=utcnow) as watch:

        def look() -> None:
            seen = watch.look(max(5, console().height))
            view.rows, view.total, view.next_due = seen.rows, seen.total, seen.next_due
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
                found = watch.round()
                outcome, now, changes, touched = (found.outcome, found.now, found.changes,
                                                  found.touched)
                view.busy = False
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
