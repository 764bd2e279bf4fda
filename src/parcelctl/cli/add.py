"""parcelctl add NUMBER... — track any parcel by number.

Exit codes follow one rule: 1 when anything is refused (nothing is stored then), 3 when the
parcels were stored but tracking them failed (the next sync tries again), 0 otherwise.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store
    from ..sync import SyncSummary


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
    from ..errors import UsageError
    from ..tracking import (
        Entry,
        check_phone,
        parse_lines,
        prepare,
        store_new,
        tracking_provider_name,
    )
    from .common import load_config, open_store

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
    provider_name = tracking_provider_name(config, provider)
    if not no_track:
        _check_configured(config, provider_name)
    parcels, repeated = prepare(config, provider_name, entries, phone)
    with open_store(config) as store:
        added = store_new(store, parcels, provider_name=provider_name, label=label, phone=phone)
        if provider is None and provider_name == "cainiao" \
                and not config.get("providers.tracking.default"):
            from .output import warn

            warn("no tracking provider is configured, so these parcels go to Cainiao's "
                 "public, unofficial endpoint (made for cross-border parcels; it may change "
                 "or throttle) — for domestic parcels set up kuaidi100 or 17track: see the "
                 "README's quick start")
        ids = [pid for pid, _ in added]
        known = [p.number for p, (_, created) in zip(parcels, added, strict=True) if not created]
        summary = None
        if not no_track:
            summary = _track(config, store, set(ids))
        code = _exit_code(store, ids, summary)
        _report(store, ids, known, repeated, json_out, summary)
    if code:
        raise typer.Exit(code)


def _check_configured(config: Config, provider_name: str) -> None:
    """Say what is missing before storing anything."""
    from ..errors import ConfigError
    from ..providers import registry
    from ..services import settings_for

    cls = registry.load(provider_name)
    missing = cls.missing_settings({k.name: k.default for k in cls.config_keys}
                                   | settings_for(config, provider_name))
    if missing:
        raise ConfigError(f"not configured: {', '.join(missing)} missing",
                          provider=provider_name,
                          hint=f"run: parcelctl config set providers.{provider_name}."
                          f"{missing[0]} VALUE (or pick another --provider)")


def _track(config: Config, store: Store, ids: set[int]) -> SyncSummary:
    from ..lock import SyncLock
    from ..sync import Syncer
    from .common import run

    # Tracking is a small sync: it queues behind a running one, so that two processes
    # never talk to one provider at once (its rate limit holds per process).
    with SyncLock(config.paths.lock_file):
        return run(Syncer(config, store).run(only_ids=ids))


def _exit_code(store: Store, ids: list[int], summary: SyncSummary | None) -> int:
    """3 when the parcels are stored but tracking failed (a provider, or one parcel's
    answer, e.g. a wrong phone); else 0."""
    from ..errors import ExitCode
    from ..tracking import errors_of

    if summary is None:
        return int(ExitCode.OK)
    if summary.exit_code or errors_of(store, ids, limit=1):
        return int(ExitCode.PARTIAL)
    return int(ExitCode.OK)


def _report(store: Store, ids: list[int], known: list[str], repeated: int, json_out: bool,
            summary: SyncSummary | None) -> None:
    from .. import views
    from ..tracking import added_rows
    from .common import language, load_config
    from .output import console, error, info, parcel_table, print_json

    lang = language(load_config())
    screenful = max(10, console().height - 8)
    if json_out:
        print_json(list(views.iter_json(store.db, added_rows(store, ids), lang)))
    else:
        for number in known[:5]:
            info(f"{number}: already tracked")
        if len(known) > 5:
            info(f"… {len(known) - 5} more already tracked")
        if repeated:
            info(f"{repeated} repeated line{'s' if repeated != 1 else ''} skipped")
        if len(ids) <= screenful:
            console().print(parcel_table(added_rows(store, ids), lang=lang))
        else:
            _print_summary(store, ids, len(ids) - len(known), lang, tracked=summary is not None)
    for unit in summary.units if summary else []:
        if not unit.ok:
            error(unit.error or "failed")


def _print_summary(store: Store, ids: list[int], created: int, lang: str, *,
                   tracked: bool) -> None:
    """Past a screenful: counts by status and carrier, and the parcels with an error."""
    from ..tracking import added_counts, errors_of
    from ..views import status_label
    from .output import info_lines
    from .table import carrier_names

    by_status, by_carrier = added_counts(store, ids)
    lines: list[tuple[str, str]] = [
        (f"added {created} parcel{'s' if created != 1 else ''}"
         + ("" if tracked else " (not tracked yet: the next sync does it)"), "bold")]
    lines.append(("by status:  " + " · ".join(
        f"{status_label(status, lang)} {count}" for status, count in by_status), ""))
    lines.append(("by carrier: " + " · ".join(
        f"{carrier_names(code, lang)[0] if code else '?'} {count}"
        for code, count in by_carrier), ""))
    failed = errors_of(store, ids, limit=21)
    if failed:
        lines.append((f"with an error ({len(failed) if len(failed) <= 20 else 'over 20'}):",
                      "bold red"))
        lines += [(f"  {number}  ⚠ {message}", "") for number, message in failed[:20]]
        lines.append(("see them all: parcelctl list --attention", ""))
    info_lines(lines)
