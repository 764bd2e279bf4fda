"""parcelctl add NUMBER... — track any parcel by number.

Exit codes follow one rule: 1 when anything is refused (nothing is stored then), 3 when the
parcels were stored but tracking them failed (the next sync tries again), 0 otherwise.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..app.add import Added


def main(
    numbers: list[str] = typer.Argument(..., help="Tracking numbers, or '-' to read "
                                        "'NUMBER [CARRIER]' lines from standard input."),
    carrier: str | None = typer.Option(None, "--carrier", "-c",
                                       help="Carrier code (e.g. yuantong; see 'parcelctl "
                                       "carriers'); skips detection."),
    provider: str | None = typer.Option(None, "--provider", "-p",
                                        help="Tracking provider (default: "
                                        "providers.tracking.default)."),
    phone: str | None = typer.Option(None, "--phone",
                                     help="Recipient phone or its last 4 digits (SF, ZTO)."),
    label: str = typer.Option("", "--label", "-l", help="Your own name for the parcel."),
    no_track: bool = typer.Option(False, "--no-track", help="Only store; track on next sync."),
    json_out: bool = typer.Option(False, "--json", help="Print the added parcels as JSON."),
) -> None:
    """Track parcels by number; the carrier is detected when --carrier is not given.

    Exit status: 1 when something is refused (then nothing is stored), 3 when the parcels
    were stored but tracking failed (the next sync tries again), else 0.
    """
    from ..app.add import add
    from ..errors import UsageError
    from ..tracking import Entry, check_phone, parse_lines
    from .common import language, load_config
    from .output import console, warn

    if numbers == ["-"]:
        entries = [Entry(number, line_carrier or carrier, line)
                   for line, number, line_carrier in parse_lines(sys.stdin.read().splitlines())]
    elif "-" in numbers:
        raise UsageError("'-' (read from standard input) cannot be mixed with numbers")
    else:
        entries = [Entry(n, carrier) for n in numbers]
    if len(label) > 200:
        raise UsageError("--label is limited to 200 characters")
    phone = check_phone(phone)
    config = load_config()
    lang = language(config)

    def detail(count: int) -> str:
        if json_out:
            return "json"
        return "rows" if count <= max(10, console().height - 8) else "counts"

    added = add(config, entries, provider=provider, phone=phone, label=label,
                track=not no_track, lang=lang, detail=detail, warn=warn)
    _report(added, json_out, lang)
    if added.exit_code:
        raise typer.Exit(added.exit_code)


def _report(added: Added, json_out: bool, lang: str) -> None:
    from .output import console, error, info, parcel_table, print_json

    known = added.known
    if json_out:
        print_json(added.json)
    else:
        for number in known[:5]:
            info(f"{number}: already tracked")
        if len(known) > 5:
            info(f"… {len(known) - 5} more already tracked")
        if added.repeated:
            info(f"{added.repeated} repeated line{'s' if added.repeated != 1 else ''} skipped")
        if added.detail == "rows":
            console().print(parcel_table(added.rows, lang=lang))
        else:
            _print_summary(added, len(added.ids) - len(known), lang,
                           tracked=added.summary is not None)
    for unit in added.summary.units if added.summary else []:
        if not unit.ok:
            error(unit.error or "failed")


def _print_summary(added: Added, created: int, lang: str, *, tracked: bool) -> None:
    """Past a screenful: counts by status and carrier, and the parcels with an error."""
    from ..views import status_label
    from .output import info_lines
    from .table import carrier_names

    by_status, by_carrier = added.by_status, added.by_carrier
    lines: list[tuple[str, str]] = [
        (f"added {created} parcel{'s' if created != 1 else ''}"
         + ("" if tracked else " (not tracked yet: the next sync does it)"), "bold")]
    lines.append(("by status:  " + " · ".join(
        f"{status_label(status, lang)} {count}" for status, count in by_status), ""))
    lines.append(("by carrier: " + " · ".join(
        f"{carrier_names(code, lang)[0] if code else '?'} {count}"
        for code, count in by_carrier), ""))
    failed = added.failed
    if failed:
        lines.append((f"with an error ({len(failed) if len(failed) <= 20 else 'over 20'}):",
                      "bold red"))
        lines += [(f"  {number}  ⚠ {message}", "") for number, message in failed[:20]]
        lines.append(("see them all: parcelctl list --attention", ""))
    info_lines(lines)
