"""parcelctl add NUMBER... — track any parcel by number."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..store import Store
    from ..sync import SyncSummary


def main(
    numbers: list[str] = typer.Argument(..., help="Tracking numbers, or '-' to read "
                                        "'NUMBER [CARRIER]' lines from standard input."),
    carrier: str | None = typer.Option(None, "--carrier", "-c",
                                       help="Carrier code (e.g. yuantong); skips detection."),
    provider: str | None = typer.Option(None, "--provider", "-p",
                                        help="Tracking provider (default: "
                                        "providers.tracking.default)."),
    phone: str | None = typer.Option(None, "--phone",
                                     help="Recipient phone or its last 4 digits (SF, ZTO)."),
    label: str = typer.Option("", "--label", "-l", help="Your own name for the parcel."),
    no_track: bool = typer.Option(False, "--no-track", help="Only store; track on next sync."),
    json_out: bool = typer.Option(False, "--json", help="Print the added parcels as JSON."),
) -> None:
    """Track parcels by number; the carrier is detected when --carrier is not given."""
    from .. import carriers
    from ..errors import ConfigError, UsageError
    from ..providers import registry
    from ..tracking import (
        NewParcel,
        check_phone,
        check_phone_needed,
        parse_stdin_lines,
        resolve_carrier,
        store_new,
        tracking_provider_name,
    )
    from .common import load_config, open_store, run

    if numbers == ["-"]:
        items = parse_stdin_lines(sys.stdin.read().splitlines())
    elif "-" in numbers:
        raise UsageError("'-' (read from standard input) cannot be mixed with numbers")
    else:
        items = [(n, carrier) for n in numbers]
    if len(label) > 200:
        raise UsageError("--label is limited to 200 characters")
    phone = check_phone(phone)
    config = load_config()
    provider_name = tracking_provider_name(config, provider)
    validated = [(carriers.validate_number(raw), raw_carrier) for raw, raw_carrier in items]
    if not no_track:
        from ..services import settings_for

        cls = registry.load(provider_name)
        missing = cls.missing_settings({k.name: k.default for k in cls.config_keys}
                                       | settings_for(config, provider_name))
        if missing:  # say so before storing anything
            raise ConfigError(f"not configured: {', '.join(missing)} missing",
                              provider=provider_name,
                              hint=f"run: parcelctl config set providers.{provider_name}."
                              f"{missing[0]} VALUE (or pick another --provider)")

    async def resolve() -> list[NewParcel]:
        return [await resolve_carrier(config, provider_name, number, explicit)
                for number, explicit in validated]

    parcels = run(resolve())
    for parcel in parcels:
        check_phone_needed(config, provider_name, parcel, phone)
    with open_store(config) as store:
        added = store_new(store, parcels, provider_name=provider_name, label=label, phone=phone)
        ids = {pid for pid, _ in added}
        summary = None
        if not no_track:
            from ..lock import SyncLock
            from ..sync import Syncer

            # Tracking is a small sync: it queues behind a running one, so that two processes
            # never talk to one provider at once (its rate limit holds per process).
            with SyncLock(config.paths.lock_file):
                summary = run(Syncer(config, store).run(only_ids=ids))
        _report(store, ids, json_out, summary)
        if summary is not None and summary.exit_code:
            raise typer.Exit(summary.exit_code)


def _report(store: Store, ids: set[int], json_out: bool, summary: SyncSummary | None) -> None:
    from .. import views
    from .common import language, load_config
    from .output import console, error, parcel_table, print_json

    db = store.db
    rows = [db.execute("SELECT * FROM parcels WHERE id=?", (pid,)).fetchone() for pid in ids]
    rows.sort(key=lambda r: r["id"])
    lang = language(load_config())
    if json_out:
        print_json(list(views.iter_json(db, rows, lang)))
    else:
        console().print(parcel_table(rows, lang=lang))
    for unit in summary.units if summary else []:
        if not unit.ok:
            error(unit.error or "failed")
