"""parcelctl list — every parcel, every platform, newest change first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ..status import Status

if TYPE_CHECKING:
    import sqlite3

_STATUSES = ", ".join(s.value for s in Status)
#: The hint under a page counts the matches beyond it up to here; past it, "over 10,000".
MORE_UP_TO = 10_000
#: Rows of a page when no --limit is given (without --all).
DEFAULT_LIMIT = 50
FORMATS = ("table", "tsv", "csv", "json")
#: Errors written out in full under the table (the table's cell is too narrow for the fix).
ERROR_NOTES = 3


def more_hint(total: int, shown: int, lang: str = "en") -> str:
    """The line under a page: how many more matched. ``total`` is counted only up to
    ``shown + MORE_UP_TO + 1`` (see ``count_up_to`` in :func:`views.list_parcels`)."""
    more = total - shown
    zh = lang == "zh"
    if more > MORE_UP_TO:
        return (f"还有超过 {MORE_UP_TO:,} 件 — 用 --limit N 或 --all 查看" if zh
                else f"over {MORE_UP_TO:,} more — use --limit N or --all")
    if more > 0:
        return (f"还有 {more} 件 — 用 --limit N 或 --all 查看" if zh
                else f"{more} more — use --limit N or --all")
    return ""


def _words(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def parse_statuses(text: str) -> list[str]:
    """``--status``: comma-separated codes or their Chinese or English names
    (``delivered``, ``已签收``, ``ready for pickup``, ``ready-for-pickup``). A typo is a
    UsageError naming the nearest status."""
    from ..errors import UsageError

    names: dict[str, str] = {}
    for status in Status:
        for name in (status.value, status.label_en, status.label_zh):
            names[_words(name)] = status.value
    found: list[str] = []
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        code = names.get(_words(part))
        if code is None:
            import difflib

            near = difflib.get_close_matches(_words(part), list(names), n=1, cutoff=0.5)
            hint = ((f"did you mean '{names[near[0]]}'? " if near else "")
                    + f"use one of: {_STATUSES}")
            raise UsageError(f"unknown status '{part.strip()[:40]}'", hint=hint)
        if code not in found:
            found.append(code)
    if not found:
        raise UsageError("--status needs a status", hint=f"use one of: {_STATUSES}")
    return found


def carrier_codes(text: str) -> list[str]:
    """``--carrier``: codes or names (``yuantong``, ``圆通``, ``YTO Express``), comma-separated.
    A name parcelctl does not know is taken as a code (a provider may use codes of its own)."""
    from ..carriers import CARRIER_NAMES
    from .table import carrier_names

    found: list[str] = []
    for part in text.replace("，", ",").split(","):
        wanted = part.strip().lower()
        if not wanted:
            continue
        code = wanted
        for known in CARRIER_NAMES:
            names = {known, *carrier_names(known, "zh"), *carrier_names(known, "en")}
            if wanted in {name.lower() for name in names}:
                code = known
                break
        found.append(code)
    return found


def main(
    query: str | None = typer.Argument(
        None, help="Show only parcels whose number, title, label, shop, pickup code or last "
        "event contains this text."),
    status: str | None = typer.Option(
        None, "--status", "-s", help="Only these statuses, comma-separated: a code or its "
        "Chinese or English name (delivered, 已签收, 'ready for pickup'). A status that is "
        "not active, such as delivered, needs no --all."),
    attention: bool = typer.Option(False, "--attention", "-a", help="Only what needs you: "
                                   "overdue orders, stuck parcels, pickups, exceptions."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help="Only this carrier: a "
                                       "code or name (yuantong, 圆通, YTO)."),
    provider: str | None = typer.Option(None, "--provider", "-p", help="Only parcels from "
                                        "this provider: a shop platform or a tracker."),
    shop: str | None = typer.Option(None, "--shop", help="Only orders of a shop (or linked "
                                    "account) whose name contains this."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1,
                                     max=1_000_000, help="Show at most N "
                                     f"rows (default {DEFAULT_LIMIT}; every row with --all)."),
    all_: bool = typer.Option(False, "--all", help="Include delivered, cancelled and archived "
                              "parcels; every row unless --limit is given."),
    fmt: str | None = typer.Option(None, "--format", help="table, tsv, csv or json (default: "
                                   "a table on a terminal, tsv when piped)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (stable fields, see "
                                  "docs/output.md); the same as --format json."),
) -> None:
    """List parcels: active ones by default, the most recent change first."""
    import sys

    from .. import views
    from .common import language, load_config, open_store, store_exists
    from .output import choose_format, info, print_json

    statuses = parse_statuses(status) if status is not None else None
    chosen = choose_format(fmt, json_out, FORMATS)
    search = views.Search(query, carriers=carrier_codes(carrier) if carrier else None,
                          provider=provider, shop=shop)
    config = load_config()
    lang = language(config)
    stale_days = config.number("polling.stale_days", 7.0) or 7.0
    page = limit if limit is not None else (None if all_ else DEFAULT_LIMIT)
    if not store_exists(config):
        if chosen == "json":
            print_json([])
        elif chosen == "table":
            info("no parcels yet — add one with 'parcelctl add NUMBER' or link a shop with "
                 "'parcelctl link kuaishou'")
        return
    with open_store(config, readonly=True) as store:
        if chosen == "json" and page is None:
            views.stream_all_json(store.db, sys.stdout.write, status=statuses,
                                  attention=attention, lang=lang, stale_days=stale_days,
                                  search=search or None)
            return
        rows, total = views.list_parcels(
            store.db, status=statuses, attention=attention, include_all=all_, limit=page,
            stale_days=stale_days, count_up_to=None if page is None else page + MORE_UP_TO,
            columns="*" if chosen == "json" else views.TABLE_COLUMNS, search=search or None)
        if chosen == "json":
            print_json(list(views.iter_json(store.db, rows, lang)))
            return
    hint = more_hint(total, len(rows), lang)
    if chosen != "table":
        write_rows(rows, chosen, lang)
        if hint:
            from .output import err_console

            err_console().print(hint, style="dim", markup=False, highlight=False)
        return
    if not rows:
        info(_nothing(query, all_, statuses is not None, lang))
        return
    _print_table(rows, lang)
    if hint:
        info(hint, style="dim")


def _nothing(query: str | None, all_: bool, by_status: bool, lang: str) -> str:
    shown = " ".join(query.split())[:60] if query else ""
    if lang == "zh":
        what = f"没有匹配 '{shown}' 的包裹" if query else "没有可显示的包裹"
        return what + ("" if all_ or by_status else "（试试 --all）")
    what = f"no parcel matches '{shown}'" if query else "nothing to show"
    return what + ("" if all_ or by_status else " (try --all)")


def _print_table(rows: list[sqlite3.Row], lang: str) -> None:
    from rich.text import Text

    from .output import print_hanging, print_parcel_table
    from .table import error_text

    print_parcel_table(rows, lang=lang)
    failed = [row for row in rows if row["last_error"]]
    notes = [("⚠ ", Text(f"{row['number']}: {error_text(row)}", style="yellow"))
             for row in failed[:ERROR_NOTES]]
    if len(failed) > ERROR_NOTES:
        more = len(failed) - ERROR_NOTES
        text = (f"另有 {more} 件出错 — 用 'parcelctl show 单号' 查看" if lang == "zh"
                else f"{more} more with errors — 'parcelctl show NUMBER' shows each")
        notes.append(("⚠ ", Text(text, style="yellow")))
    if notes:
        print_hanging(notes, prefix_style="yellow")


#: The fields of a TSV or CSV row, in order (docs/output.md); CSV has them as its header.
FIELDS = ("number", "carrier", "status", "status_label", "pickup_code", "item", "last_event",
          "error", "changed_at", "archived")


def row_fields(row: Any, lang: str) -> list[str]:
    """One parcel as :data:`FIELDS`, full text (line breaks and tabs made spaces)."""
    from ..views import status_label
    from .output import field
    from .table import carrier_code, error_text, get, item_text

    return [field(row["number"]), field(carrier_code(row)), field(row["status"]),
            status_label(str(row["status"]), lang), field(row["pickup_code"]),
            field(item_text(row)), field(row["last_event_desc"]),
            field(error_text(row)) if row["last_error"] else "",
            field(row["last_event_utc"] or row["updated_at"]),
            "archived" if get(row, "archived") else ""]


def write_rows(rows: list[Any], fmt: str, lang: str) -> None:
    """TSV (no header, as gh prints when piped) or CSV (with a header)."""
    from .output import write_csv, write_tsv

    fields = (row_fields(row, lang) for row in rows)
    if fmt == "csv":
        write_csv(FIELDS, fields)
    else:
        write_tsv(fields)
