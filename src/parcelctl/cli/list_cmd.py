"""parcelctl list — every parcel, every platform, newest change first."""

from __future__ import annotations

import typer

from ..status import Status

_STATUSES = ", ".join(s.value for s in Status)
#: The hint under a page counts the matches beyond it up to here; past it, "over 10,000".
MORE_UP_TO = 10_000


def more_hint(total: int, shown: int) -> str:
    """The line under a page: how many more matched. ``total`` is counted only up to
    ``shown + MORE_UP_TO + 1`` (see ``count_up_to`` in :func:`views.list_parcels`)."""
    more = total - shown
    if more > MORE_UP_TO:
        return f"over {MORE_UP_TO:,} more — use --limit N or --all"
    if more > 0:
        return f"{more} more — use --limit N or --all"
    return ""


def main(
    status: str | None = typer.Option(None, "--status", "-s", help=f"Only this status: "
                                      f"{_STATUSES}."),
    attention: bool = typer.Option(False, "--attention", "-a", help="Only what needs you: "
                                   "overdue orders, stuck parcels, pickups, exceptions."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1_000_000, help="Rows per page."),
    all_: bool = typer.Option(False, "--all", help="Include delivered, cancelled and archived;"
                              " no limit."),
    json_out: bool = typer.Option(False, "--json", help="JSON array (stable fields)."),
) -> None:
    """List parcels: active ones by default, newest change first."""
    import sys

    from .. import views
    from ..errors import UsageError
    from .common import language, load_config, open_store, store_exists
    from .output import info, print_json, print_parcel_table

    if status is not None and status not in {s.value for s in Status}:
        raise UsageError(f"unknown status '{status}'", hint=f"use one of: {_STATUSES}")
    config = load_config()
    lang = language(config)
    stale_days = config.number("polling.stale_days", 7.0) or 7.0
    if not store_exists(config):
        if json_out:
            print_json([])
        else:
            info("no parcels yet — add one with 'parcelctl add NUMBER' or link a shop with "
                 "'parcelctl link kuaishou'")
        return
    with open_store(config, readonly=True) as store:
        if json_out and all_:
            views.stream_all_json(store.db, sys.stdout.write, status=status,
                                  attention=attention, lang=lang, stale_days=stale_days)
            return
        rows, total = views.list_parcels(store.db, status=status, attention=attention,
                                         include_all=all_, limit=None if all_ else limit,
                                         stale_days=stale_days,
                                         count_up_to=None if all_ else limit + MORE_UP_TO,
                                         columns="*" if json_out else views.TABLE_COLUMNS)
        if json_out:
            print_json(list(views.iter_json(store.db, rows, lang)))
            return
        if not rows:
            info("nothing to show" + ("" if all_ else " (try --all)"))
            return

        print_parcel_table(rows, lang=lang)
        hint = more_hint(total, len(rows))
        if hint:
            info(hint, style="dim")
